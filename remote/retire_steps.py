"""Retiring a member (proxmox-ha:cluster.decommission), in the order PVE's docs give, from the first kept node.

Each step is check-then-act and finds its work in the cluster itself (the nodelist, the CRUSH map, the
monmap), so a run cut short, or a node that died halfway, is finished by the next `up`. Where PVE's own
command must run on the retiring node (`pveceph osd|mon|mgr destroy`), the step reaches it the way PVE
reaches another member, and when it does not answer it does what that command would have done from here.
"""
from __future__ import annotations

import shlex

from .ceph_steps import ALL_PGS_CLEAN
from .cluster_steps import CLUSTER_COROSYNC, MEMBERS, ONLINE_NAMES, QUORATE
from .step import Step, wait_for


def _member(name: str) -> str:
    return f"{MEMBERS} | has -x {shlex.quote(name)}"


def _reach(name: str) -> str:
    """`on_retiring CMD`: run CMD on the retiring node as PVE's SSHInfo does (root, batch mode, the node's own
    known_hosts under /etc/pve); `answers` says whether it is up at all."""
    q = shlex.quote(name)
    known = f"/etc/pve/nodes/{name}/ssh_known_hosts"
    return (
        f"addr=$(awk '$1 == \"name:\" {{n = $2}} $1 == \"ring0_addr:\" && n == \"{name}\" {{print $2; exit}}' {CLUSTER_COROSYNC} 2>/dev/null || true)\n"
        f"on_retiring() {{\n"
        f"  local known=()\n"
        f"  [ -f {known} ] && known=(-o UserKnownHostsFile={known} -o GlobalKnownHostsFile=none)\n"
        f"  ssh -o BatchMode=yes -o ConnectTimeout=5 -o HostKeyAlias={q} \"${{known[@]}}\" \"root@$addr\" -- \"$@\"\n"
        f"}}\n"
        f"answers() {{ [ -n \"$addr\" ] && on_retiring true 2>/dev/null; }}"
    )


def _osds(name: str) -> str:
    """The OSD ids under the node's CRUSH host bucket (none once the bucket is gone)."""
    return f"ceph osd ls-tree {shlex.quote(name)} 2>/dev/null || true"


def guests(first: str, name: str) -> Step:
    """HA moves its guests off (node maintenance); a guest HA does not manage must be moved by its owner."""
    q = shlex.quote(name)
    on_node = f"ha-manager status 2>/dev/null | has -E '^service [^ ]+ \\({name}, '"
    configs = f"compgen -G '/etc/pve/nodes/{name}/qemu-server/*.conf' >/dev/null || compgen -G '/etc/pve/nodes/{name}/lxc/*.conf' >/dev/null"
    advice = (f"{name} still holds guest(s) that HA does not manage: $left. Migrate them (qm migrate ID NODE / "
              f"pct migrate ID NODE), or if {name} is dead move their configs to a kept node (mv "
              f"/etc/pve/nodes/{name}/qemu-server/ID.conf /etc/pve/nodes/NODE/qemu-server/), or remove them; then "
              "re-run up. proxmox-ha moves only HA guests")
    return Step(
        name=f"retire-{name}-guests",
        node=first,
        check=f"! {{ {on_node}; }} && ! {{ {configs}; }}",
        act="\n".join([
            f"if {on_node}; then",
            f"  ha-manager crm-command node-maintenance enable {q}",
            f"  {wait_for(f'! {{ {on_node}; }}', f'HA to move every guest off {name} (ha-manager status)', 300)}",
            "fi",
            f"left=$(for f in /etc/pve/nodes/{name}/qemu-server/*.conf /etc/pve/nodes/{name}/lxc/*.conf; do "
            "if [ -e \"$f\" ]; then basename \"$f\" .conf; fi; done | paste -sd ' ')",
            f"[ -z \"$left\" ] || fail \"{advice}\"",
        ]),
    )


def osds_out(first: str, name: str, pools: list[tuple[str, int]]) -> Step:
    """Its OSDs out, then wait until Ceph has moved every PG to the other hosts (active+clean)."""
    need = max((size for _, size in pools), default=0)
    others = (
        f"ceph osd tree --format json | python3 -c 'import json, sys\n"
        f"t = json.load(sys.stdin)[\"nodes\"]; by_id = {{n[\"id\"]: n for n in t}}\n"
        f"print(sum(1 for n in t if n[\"type\"] == \"host\" and n[\"name\"] != \"{name}\" and any("
        f"by_id[c][\"status\"] == \"up\" and by_id[c].get(\"reweight\", 0) > 0 for c in n.get(\"children\", []))))'"
    )
    too_few = (f"retiring {name} would leave $hosts host(s) with OSDs up and in, fewer than the largest pool's size "
               f"({need}); add a node with OSDs first, or lower the pool's size")
    # Out, and holding no PG Ceph still needs (right after `osd out` the PG stats may still say clean).
    all_out = (f"for id in $({_osds(name)}); do "
               "[ \"$(ceph osd dump | awk -v osd=\"osd.$id\" '$1 == osd {print $3}')\" = out ] "
               "&& ceph osd safe-to-destroy \"osd.$id\" >/dev/null 2>&1 || exit 1; done")
    return Step(
        name=f"retire-{name}-osds-out",
        node=first,
        # Done when the node has no CRUSH bucket (never had Ceph, or retired), or its OSDs are out and PGs clean.
        check=f"! ceph osd crush ls {shlex.quote(name)} >/dev/null 2>&1 || {{ ( {all_out} ) && {ALL_PGS_CLEAN}; }}",
        act="\n".join([
            f"hosts=$({others})",
            f"[ \"$hosts\" -ge {need} ] || fail \"{too_few}\"",
            f"for id in $({_osds(name)}); do ceph osd out \"$id\"; done",
            wait_for(f"{{ ( {all_out} ) && {ALL_PGS_CLEAN}; }}", f"Ceph to move every PG off {name}'s OSDs (active+clean)", 900),
        ]),
    )


def osds_destroyed(first: str, name: str) -> Step:
    """Each OSD, once Ceph says it is safe to destroy: `pveceph osd destroy` on the node, or purged from here
    if the node is gone; then its empty CRUSH host bucket."""
    q = shlex.quote(name)
    return Step(
        name=f"retire-{name}-osds-destroy",
        node=first,
        check=f"! ceph osd crush ls {q} >/dev/null 2>&1",
        act="\n".join([
            _reach(name),
            f"for id in $({_osds(name)}); do",
            "  ceph osd safe-to-destroy \"osd.$id\" >/dev/null 2>&1"
            f" || fail \"osd.$id on {name} still holds data Ceph needs (ceph osd safe-to-destroy osd.$id); wait for recovery, then re-run up\"",
            "  if answers; then",
            "    on_retiring systemctl stop \"ceph-osd@$id\"",
            "    " + wait_for("[ \"$(ceph osd dump | awk -v osd=\"osd.$id\" '$1 == osd {print $2}')\" = down ]", "the stopped OSD to be down", 60),
            "    on_retiring pveceph osd destroy \"$id\" --cleanup",
            "  else",
            "    ceph osd down \"$id\" >/dev/null 2>&1 || true",
            "    ceph osd purge \"$id\" --yes-i-really-mean-it",
            "  fi",
            "done",
            f"ceph osd crush rm {q}",
        ]),
        verify=f"! ceph osd crush ls {q} >/dev/null 2>&1",
    )


# The monitor's entries in ceph.conf, removed as `pveceph mon destroy` does (its section, its mon_host address).
_DROP_MON_FROM_CONF = r"""python3 - "$1" "$2" <<'PY'
import re, sys
name, addr = sys.argv[1], sys.argv[2]
path = "/etc/pve/ceph.conf"
text = open(path).read()
text = re.sub(r"\n\[mon\.%s\][^\[]*" % re.escape(name), "\n", text)
def drop(m):
    hosts = [h for h in re.split(r"[ ,;]+", m.group(2).strip()) if h and h.split(":")[0].strip("[]") != addr]
    return m.group(1) + " ".join(hosts)
text = re.sub(r"(?m)^(\s*mon[_ ]host\s*=\s*)(.*)$", drop, text)
open(path + ".new", "w").write(text)
PY
mv /etc/pve/ceph.conf.new /etc/pve/ceph.conf"""


def ceph_daemons(first: str, name: str) -> Step:
    """Its monitor and manager, if any: `pveceph mon|mgr destroy` on the node, or their removal from here."""
    q = shlex.quote(name)
    has_mon = f"ceph mon dump --format json 2>/dev/null | python3 -c 'import json, sys; sys.exit(0 if \"{name}\" in [m[\"name\"] for m in json.load(sys.stdin)[\"mons\"]] else 1)'"
    has_mgr = f"ceph auth get mgr.{name} >/dev/null 2>&1"
    return Step(
        name=f"retire-{name}-ceph-daemons",
        node=first,
        check=f"! {{ {has_mon}; }} && ! {{ {has_mgr}; }}",
        act="\n".join([
            _reach(name),
            f"drop_mon_from_conf() {{\n{_DROP_MON_FROM_CONF}\n}}",
            f"if {has_mon}; then",
            f"  if answers; then on_retiring pveceph mon destroy {q}",
            f"  else mon_addr=$(ceph mon dump --format json | python3 -c 'import json, sys; print([m[\"public_addr\"] for m in json.load(sys.stdin)[\"mons\"] if m[\"name\"] == \"{name}\"][0].split(\":\")[0])')",
            f"    ceph mon remove {q} && drop_mon_from_conf {q} \"$mon_addr\"",
            "  fi",
            "fi",
            f"if {has_mgr}; then",
            f"  if answers; then on_retiring pveceph mgr destroy {q}; else ceph auth del mgr.{name}; fi",
            "fi",
        ]),
        verify=f"! {{ {has_mon}; }} && ! {{ {has_mgr}; }}",
    )


def membership(first: str, name: str) -> Step:
    """The node leaves corosync: stopped first (PVE's docs: power it off before `pvecm delnode`), then deleted
    from the nodelist here, and the others then expect exactly their own votes."""
    q = shlex.quote(name)
    others = f"$({MEMBERS} | grep -cvx {q})"
    online_others = f"{ONLINE_NAMES} | grep -cvx {q} || true"
    no_quorum = (f"removing {name} would leave $online of $others remaining node(s) online, not a majority; "
                 "bring the other nodes back first")
    expected = "pvecm status 2>/dev/null | awk '/^Expected votes:/ {print $3}'"
    return Step(
        name=f"retire-{name}-membership",
        node=first,
        check=f"! {{ {_member(name)}; }}",
        act="\n".join([
            _reach(name),
            f"{QUORATE} || fail 'the cluster is not quorate; pvecm delnode needs quorum'",
            f"others={others}; online=$({online_others})",
            f"[ \"$online\" -gt $((others / 2)) ] || fail \"{no_quorum}\"",
            # Its corosync stopped and its cluster config removed, so it cannot come back with the old membership.
            "if answers; then on_retiring 'systemctl stop corosync; systemctl disable corosync; "
            "rm -f /etc/corosync/corosync.conf /etc/corosync/authkey'; fi",
            f"pvecm delnode {q}",
        ]),
        verify="\n".join([
            f"! {{ {_member(name)}; }}",
            wait_for(f"[ \"$({expected})\" = \"$({MEMBERS} | wc -l)\" ]", "expected votes to equal the remaining nodes"),
        ]),
    )


def node_files(first: str, name: str) -> Step:
    """What PVE leaves behind after delnode: /etc/pve/nodes/NAME and the node's SSH keys in the cluster's files."""
    return Step(
        name=f"retire-{name}-files",
        node=first,
        check=f"! test -e /etc/pve/nodes/{name}",
        act="\n".join([
            f"rm -rf /etc/pve/nodes/{name}",
            f"if [ -f /etc/pve/priv/authorized_keys ]; then grep -v ' root@{name}$' /etc/pve/priv/authorized_keys"
            " > /etc/pve/priv/authorized_keys.new || true; mv /etc/pve/priv/authorized_keys.new /etc/pve/priv/authorized_keys; fi",
            f"[ ! -f /etc/pve/priv/known_hosts ] || ssh-keygen -R {shlex.quote(name)} -f /etc/pve/priv/known_hosts >/dev/null 2>&1 || true",
        ]),
        verify=f"! test -e /etc/pve/nodes/{name}",
    )


def retire(first: str, name: str, pools: list[tuple[str, int]] | None) -> list[Step]:
    """Every step, in order; `pools` (name, size) when the cluster has Ceph, else None."""
    ceph = [osds_out(first, name, pools), osds_destroyed(first, name), ceph_daemons(first, name)] if pools is not None else []
    return [guests(first, name), *ceph, membership(first, name), node_files(first, name)]
