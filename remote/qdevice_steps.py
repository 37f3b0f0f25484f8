"""A QDevice: corosync-qnetd on a machine outside the cluster, joined by PVE's own `pvecm qdevice setup`."""
from __future__ import annotations

import shlex

from .cluster_steps import trust_host
from .probes import CLUSTER_COROSYNC, HAS_QDEVICE, MEMBERS, TOTAL_VOTES
from .node_steps import apt_install, installed
from .step import Step, wait_for

QNETD_ACTIVE = "systemctl is-active --quiet corosync-qnetd"
# `pvecm qdevice setup` keeps the node's certificate store here; a store without a device is a setup cut short.
NODE_NSSDB = "/etc/corosync/qdevice/net/nssdb"


def qnetd(label: str) -> Step:
    """Debian's corosync-qnetd, installed and running on the QDevice machine."""
    package = ["corosync-qnetd"]
    return Step(
        name="qnetd",
        node=label,
        check=f"{installed(package)} && {QNETD_ACTIVE}",
        act="\n".join([
            f"if ! {{ {installed(package)}; }}; then\n{apt_install(package)}\nfi",
            "systemctl enable corosync-qnetd",
            f"{QNETD_ACTIVE} || systemctl start corosync-qnetd",
        ]),
        verify=f"{installed(package)}\n{wait_for(QNETD_ACTIVE, 'corosync-qnetd to run', 30)}",
    )


def root_rsa_key(node: str) -> Step:
    """PVE's root key, which `pvecm qdevice setup` copies to the QDevice machine (`ssh-copy-id -i
    /root/.ssh/id_rsa`); a PVE node has it from pve-cluster's first start. Prints the public key."""
    return Step(
        name="root-rsa-key",
        node=node,
        check="test -s /root/.ssh/id_rsa.pub",
        act="mkdir -p -m 700 /root/.ssh\nssh-keygen -q -t rsa -b 4096 -N '' -C \"root@$node\" -f /root/.ssh/id_rsa",
        report="cat /root/.ssh/id_rsa.pub",
    )


def ssh_port_entry(address: str, port: int) -> str:
    """Shell: root's ssh reaches `address` on `port`. `pvecm qdevice setup` runs ssh-copy-id, ssh and scp with no
    port option (pvecm.pm), so the port goes into /root/.ssh/config: a `Host` block first (the first value ssh
    obtains wins), then `Host *` so that the file's own global lines keep applying to every host."""
    block = f"Host {address}\n    Port {port}\nHost *\n"
    drop_ours = (f"awk -v host={shlex.quote(address)} '$1 == \"Host\" && $2 == host {{skip = 1; next}} "
                 "skip && $1 == \"Host\" && $2 == \"*\" {skip = 0; next} skip && $1 == \"Host\" {skip = 0} !skip'")
    return (f"mkdir -p -m 700 /root/.ssh && touch /root/.ssh/config\n"
            f"{{ printf '%s' {shlex.quote(block)}; {drop_ours} /root/.ssh/config; }} > /root/.ssh/config.proxmox-ha.$$\n"
            "chmod 600 /root/.ssh/config.proxmox-ha.$$ && mv /root/.ssh/config.proxmox-ha.$$ /root/.ssh/config")


def setup(node: str, address: str, host_key: str | None, members: list[str], port: int = 22) -> Step:
    """`pvecm qdevice setup ADDRESS` on a member once the membership is `members` (every one with corosync-qdevice);
    undone with `pvecm qdevice remove` when proxmox-ha:cluster.qdevice is removed. The members are part of the
    step, so a changed membership (the QDevice stepped aside for it) runs it again."""
    q = shlex.quote(address)
    configured = f"grep -Eq '^[[:space:]]*host:[[:space:]]*{address}$' {CLUSTER_COROSYNC}"
    # The QDevice's vote counts: every member's plus one (pvecm status, from corosync-quorumtool).
    voting = f"[ \"$({TOTAL_VOTES})\" = {len(members) + 1} ]"
    wanted = " ".join(sorted(members))
    differ = (f"the cluster's members are $current, not {wanted} as proxmox-ha:cluster.nodes says; "
              "the QDevice is set up for the configured membership only")
    other = ("the cluster already has a QDevice at another address; remove it with `pvecm qdevice remove` "
             "(or remove proxmox-ha:cluster.qdevice and run up) before setting up this one")
    return Step(
        name="qdevice-setup",
        node=node,
        check=f"{configured} && {voting}",
        act="\n".join([
            f"current=$({MEMBERS} | paste -sd ' ')",
            f"[ \"$current\" = {shlex.quote(wanted)} ] || fail \"{differ}\"",
            f"if {HAS_QDEVICE} && ! {configured}; then fail {shlex.quote(other)}; fi",
            *([ssh_port_entry(address, port)] if port != 22 else []),
            trust_host(address, host_key, port),
            # A setup cut short leaves the certificate store and no device: PVE's --force starts it afresh.
            f"force=; if ! {configured} && [ -d {NODE_NSSDB} ]; then force=--force; fi",
            f"{configured} || pvecm qdevice setup {q} $force",
        ]),
        verify="\n".join([
            configured,
            wait_for(voting, f"the QDevice's vote (pvecm status: {len(members) + 1} total votes)", 120),
        ]),
        undo=f"if {HAS_QDEVICE}; then pvecm qdevice remove; fi",
    )
