"""Cluster formation: `pvecm create` on the first node, joins one at a time, quorum, totem crypto."""
from __future__ import annotations

import shlex

from .probes import CLUSTER_COROSYNC, HAS_QDEVICE, LOCAL_COROSYNC, MEMBERS, ONLINE_NAMES, QUORATE, online
from .step import Step, wait_for


def _membership_check(cluster: str) -> str:
    """Exit 0 when this node is in `cluster`, 1 when in none; fail loudly when it belongs to another one."""
    foreign = (
        f"node belongs to cluster '$current', not '{cluster}'; remove it there first "
        "(pvecm delnode on that cluster, then clean /etc/corosync and /etc/pve/corosync.conf), or fix proxmox-ha:cluster.name"
    )
    return (
        f"if [ -f {LOCAL_COROSYNC} ]; then\n"
        f"  current=$(awk '$1 == \"cluster_name:\" {{print $2}}' {LOCAL_COROSYNC})\n"
        f"  [ \"$current\" = {shlex.quote(cluster)} ] || fail \"{foreign}\"\n"
        f"else\n"
        f"  false\n"
        f"fi"
    )


def _wait_quorate(seconds: int = 120) -> str:
    return wait_for(QUORATE, "corosync quorum (pvecm status: Quorate: Yes)", seconds)


def create(node: str, cluster: str, link0: str, link1: str | None) -> Step:
    links = f"--link0 {shlex.quote(link0)}" + (f" --link1 {shlex.quote(link1)}" if link1 else "")
    return Step(
        name="cluster-create",
        node=node,
        check=_membership_check(cluster),
        act=f"pvecm create {shlex.quote(cluster)} {links}",
        verify=_wait_quorate(),
    )


def authorize_root_key(node: str, owner: str, public_key: str) -> Step:
    """On `node`: accept `owner`'s root key (a joiner's, which `pvecm add --use_ssh` logs in with; the first
    node's, which `pvecm qdevice setup` logs in to the QDevice machine with)."""
    return Step(
        name=f"authorize-{owner}",
        node=node,
        check=f"grep -qsxF {shlex.quote(public_key)} /root/.ssh/authorized_keys",
        act=f"mkdir -p -m 700 /root/.ssh\necho {shlex.quote(public_key)} >> /root/.ssh/authorized_keys",
        verify=f"grep -qxF {shlex.quote(public_key)} /root/.ssh/authorized_keys",
    )


def trust_host(address: str, host_key: str | None, port: int = 22) -> str:
    """Shell: root here knows `address`'s SSH host key (pinned when the config gives it, else learnt on first
    contact), so PVE's own ssh calls in batch mode (pvecm add --use_ssh, pvecm qdevice setup) can reach it."""
    if host_key:
        name = address if port == 22 else f"[{address}]:{port}"  # known_hosts names another port so
        entry = shlex.quote(f"{name} {host_key}")
        return (f"mkdir -p -m 700 /root/.ssh\n"
                f"grep -qsF {entry} /root/.ssh/known_hosts || echo {entry} >> /root/.ssh/known_hosts")
    return f"ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new -p {port} root@{shlex.quote(address)} true"


def join(node: str, cluster: str, first_address: str, first_host_key: str | None, link0: str, link1: str | None) -> Step:
    links = f"--link0 {shlex.quote(link0)}" + (f" --link1 {shlex.quote(link1)}" if link1 else "")
    trust = trust_host(first_address, first_host_key)
    return Step(
        name="cluster-join",
        node=node,
        check=_membership_check(cluster),
        act=(
            f"{trust}\n"
            f"pvecm add {shlex.quote(first_address)} {links} --use_ssh"
            f" || fail 'pvecm add to {first_address} was refused; check the first node is quorate (pvecm status there) and reachable over SSH'"
        ),
        verify=f"{_wait_quorate()}\n{online(node)}",
    )


def totem_crypto(node: str, cipher: str, hash_: str) -> Step:
    """Set totem crypto in the cluster-wide corosync.conf, bumping config_version as PVE requires."""
    wanted = f"grep -Eq '^[[:space:]]*crypto_cipher: {cipher}$' {CLUSTER_COROSYNC} && grep -Eq '^[[:space:]]*crypto_hash: {hash_}$' {CLUSTER_COROSYNC}"
    edit = (
        f"awk -v cipher={cipher} -v hash={hash_} '\n"
        "  /^totem[[:space:]]*\\{/ { in_totem = 1; print; print \"  crypto_cipher: \" cipher; print \"  crypto_hash: \" hash; next }\n"
        "  in_totem && /^[[:space:]]*crypto_(cipher|hash):/ { next }\n"
        "  in_totem && /^[[:space:]]*config_version:/ { print \"  config_version: \" $2 + 1; next }\n"
        "  in_totem && /^}/ { in_totem = 0 }\n"
        "  { print }' "
        f"{CLUSTER_COROSYNC} > {CLUSTER_COROSYNC}.new\n"
        f"mv {CLUSTER_COROSYNC}.new {CLUSTER_COROSYNC}"
    )
    return Step(name="corosync-crypto", node=node, check=wanted, act=edit, verify=f"{wanted}\n{_wait_quorate()}")


def qdevice_aside(node: str, kept: list[str]) -> Step:
    """PVE wants no QDevice while nodes join or leave: when the cluster has one and its members are not exactly
    `kept` (some must join, or be retired: the members guard allows no other), `pvecm qdevice remove`. The QDevice
    step sets it up again afterwards when proxmox-ha:cluster.qdevice is set."""
    wanted = " ".join(sorted(kept))
    return Step(
        name="qdevice-aside",
        node=node,
        check=f"! {HAS_QDEVICE} || [ \"$({MEMBERS} | paste -sd ' ')\" = {shlex.quote(wanted)} ]",
        act="pvecm qdevice remove",
        verify=f"! {HAS_QDEVICE}",
    )


def qdevice_aside_possible(node: str, kept: list[str]) -> Step:
    """Check-only, before anything changes: when the QDevice must step aside (qdevice_aside), every member is
    online, as `pvecm qdevice remove` demands ("All nodes must be online!"). PVE has no other way to set a QDevice
    aside, so a dead member in a QDevice cluster is refused with the manual procedure."""
    wanted = " ".join(sorted(kept))
    offline = f"comm -23 <({MEMBERS}) <({ONLINE_NAMES} | sort) | paste -sd ' '"
    manual = (
        "the cluster has a QDevice that must step aside for the membership change, and member(s) $offline are offline: "
        "\\`pvecm qdevice remove\\` needs every member online. If a member is back soon, start it and re-run up. If it is "
        "dead for good: on a kept node remove the \\`device {...}\\` block from the quorum section of /etc/pve/corosync.conf "
        "and raise totem's config_version by one (pvecm.adoc, Edit corosync.conf); on every online node run "
        "\\`systemctl disable --now corosync-qdevice; rm -rf /etc/corosync/qdevice\\`; check that \\`pvecm status\\` is still "
        "quorate (without the QDevice's vote a two-node cluster with one node down is not: \\`pvecm expected 1\\` there); "
        "then re-run up, which retires the node (proxmox-ha:cluster.decommission) and sets the QDevice up again"
    )
    return Step(
        name="qdevice-aside-possible",
        node=node,
        check=f"! {HAS_QDEVICE} || [ \"$({MEMBERS} | paste -sd ' ')\" = {shlex.quote(wanted)} ] || [ -z \"$({offline})\" ]",
        act=f"offline=$({offline})\nfail \"{manual}\"",
    )


def quorum(node: str, names: list[str]) -> Step:
    """A read-only gate: the cluster is quorate and every configured node is an online member. (Votes are not
    counted here: a QDevice adds one, and a member being retired still has its own until it is gone.)"""
    online = " && ".join(f"has -x {shlex.quote(n)} <<<\"$online\"" for n in names)
    gate = f"{{ {QUORATE} && online=$({ONLINE_NAMES}) && {online}; }}"
    return Step(
        name="cluster-quorum",
        node=node,
        check=gate,
        act=wait_for(gate, f"quorum with all of {', '.join(names)} online"),
    )


def members_known(node: str, kept: list[str], retiring: list[str]) -> Step:
    """Check-only, before any cluster step: every member of the cluster is in proxmox-ha:cluster.nodes or, to be
    retired, in proxmox-ha:cluster.decommission (the opt-in): a node merely dropped from the config is refused."""
    wanted = " ".join(shlex.quote(n) for n in sorted([*kept, *retiring]))
    unknown = f"comm -23 <({MEMBERS}) <(printf '%s\\n' {wanted} | sort)"
    dropped = ("$dropped: cluster member(s) not in proxmox-ha:cluster.nodes. Add them back, or list them in "
               "proxmox-ha:cluster.decommission to retire them (their guests, OSDs and membership are removed)")
    return Step(
        name="cluster-members",
        node=node,
        check=f"[ -z \"$({unknown})\" ]",
        act="\n".join([
            f"dropped=$({unknown} | paste -sd ' ')",
            f"fail \"{dropped}\"",
        ]),
    )
