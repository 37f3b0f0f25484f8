"""Retiring a member (proxmox-ha:cluster.decommission), in the order PVE's docs give, from the first kept node.

Each step is check-then-act and finds its work in the cluster itself (the nodelist, the CRUSH map, the
monmap), so a run cut short, or a node that died halfway, is finished by the next `up`. Where PVE's own
command must run on the retiring node (`pveceph osd|mon|mgr destroy`), the step reaches it the way PVE
reaches another member, and when it does not answer it does what that command would have done from here.
"""
from __future__ import annotations

import shlex

from . import probes
from .probes import ALL_PGS_CLEAN, EXPECTED_VOTES, QUORATE, QUORUM_VOTES, TOTAL_VOTES
from .step import Step, wait_for

# How long HA may take to move a node's guests (live migrations of large guests), and a dead node's fencing.
HA_MOVE_SECONDS = 1800
# HA states node maintenance leaves on the node (Manager.pm moves only started services).
_MAINTENANCE_LEAVES = "stopped|disabled"


def _reach(name: str) -> str:
    """`on_retiring CMD`: run CMD on the retiring node as PVE's SSHInfo does (root, batch mode, the node's own
    known_hosts under /etc/pve); `answers` says whether it is up at all."""
    q = shlex.quote(name)
    known = f"/etc/pve/nodes/{name}/ssh_known_hosts"
    return (
        f"addr=$({probes.member_address(name)})\n"
        f"on_retiring() {{\n"
        f"  local known=()\n"
        f"  [ -f {known} ] && known=(-o UserKnownHostsFile={known} -o GlobalKnownHostsFile=none)\n"
        f"  ssh -o BatchMode=yes -o ConnectTimeout=5 -o HostKeyAlias={q} \"${{known[@]}}\" \"root@$addr\" -- \"$@\"\n"
        f"}}\n"
        f"answers() {{ [ -n \"$addr\" ] && on_retiring true 2>/dev/null; }}"
    )


def replication(first: str, name: str) -> Step:
    """Check-only: no storage replication job involves the node (pvecm.adoc: a job left behind becomes
    irremovable, and migrating a replicated guest off the node turns its job towards the node)."""
    jobs = (f"awk -v node={shlex.quote(name)} '/^[a-z]+: / {{id = $2; guest = id; sub(/-.*/, \"\", guest); "
            f"if (system(\"test -e /etc/pve/nodes/\" node \"/qemu-server/\" guest \".conf -o -e /etc/pve/nodes/\" node \"/lxc/\" guest \".conf\") == 0) print id}} "
            f"$1 == \"target\" && $2 == node {{print id}}' /etc/pve/replication.cfg 2>/dev/null | sort -u | paste -sd ' '")
    advice = (f"replication job(s) $jobs involve {name}: remove each with \\`pvesr delete ID\\` and wait until \\`pvesr list\\` no "
              f"longer shows it (PVE: a job left behind becomes irremovable once {name} is gone), then re-run up")
    return Step(
        name=f"retire-{name}-replication",
        node=first,
        check=f"[ -z \"$({jobs})\" ]",
        act=f"jobs=$({jobs})\nfail \"{advice}\"",
    )


def guests(first: str, name: str) -> Step:
    """HA moves its guests off: node maintenance moves the started ones, `crm-command migrate` the stopped and
    disabled ones (maintenance leaves those), then the node's LRM closes its watchdog. A dead node's guests are
    recovered by HA once it is fenced (disabled ones excepted). A guest HA does not move is its owner's to move,
    and is refused before anything changes."""
    q = shlex.quote(name)
    moving = f"$({probes.ha_services(name, but='ignored')} | paste -sd ' ')"
    configs = (f"for f in /etc/pve/nodes/{name}/qemu-server/*.conf /etc/pve/nodes/{name}/lxc/*.conf; do "
               "if [ -e \"$f\" ]; then basename \"$f\" .conf; fi; done")
    # The node's guests HA will not move: not in ha/resources.cfg, or ignored by HA.
    stays = (f"ha_ids=$(awk '/^(vm|ct): / {{print $2}}' /etc/pve/ha/resources.cfg 2>/dev/null || true)\n"
             f"ignored=$({probes.ha_services(name, 'ignored')} | paste -sd ' ')\n"
             f"stays=$({configs} | while read -r id; do if ! has -x \"$id\" <<<\"$ha_ids\" "
             "|| has -x \"$id\" <<<\"$(printf '%s\\n' $ignored | sed 's/^.*://')\"; then echo \"$id\"; fi; done | paste -sd ' ')")
    own = (f"{name} holds guest(s) HA does not move: $stays (ignored by HA: ${{ignored:-none}}; the rest are not HA "
           f"resources). Migrate them (qm migrate ID NODE / pct migrate ID NODE), or if {name} is dead move their "
           f"configs to a kept node (mv /etc/pve/nodes/{name}/qemu-server/ID.conf /etc/pve/nodes/NODE/qemu-server/), "
           "or remove them; then re-run up. Nothing was changed")
    broken = (f"HA service(s) $broken on {name} are in state error; recover them as PVE's docs say (ha-manager set SID "
              "--state disabled, fix the cause, then enable it again), then re-run up")
    disabled = (f"{name} is offline and holds disabled HA service(s) $disabled, which HA does not recover: move their "
                f"configs to a kept node (mv /etc/pve/nodes/{name}/qemu-server/ID.conf /etc/pve/nodes/NODE/qemu-server/, "
                "lxc/ for containers), then re-run up")
    left = (f"HA moved its services, yet guest config(s) $left are still under /etc/pve/nodes/{name}; see "
            "\\`ha-manager status\\` and the HA log (journalctl -u pve-ha-crm), then re-run up")
    closed = f"[ \"$({probes.lrm_state(name)})\" = maintenance ]"
    return Step(
        name=f"retire-{name}-guests",
        node=first,
        check=f"moving={moving} && [ -z \"$moving\" ] && [ -z \"$({configs})\" ]",
        act="\n".join([
            stays,
            f"[ -z \"$stays\" ] || fail \"{own}\"",
            f"broken=$({probes.ha_services(name, 'error')} | paste -sd ' ')",
            f"[ -z \"$broken\" ] || fail \"{broken}\"",
            f"if {probes.online(name)}; then",
            f"  ha-manager crm-command node-maintenance enable {q}",
            f"  for sid in $({probes.ha_services(name, _MAINTENANCE_LEAVES)}); do ha-manager crm-command migrate \"$sid\" {shlex.quote(first)}; done",
            "  " + wait_for(f"{{ moving={moving} && [ -z \"$moving\" ] && {closed}; }}",
                            f"HA to move every HA guest off {name} and its LRM to close its watchdog (ha-manager status)", HA_MOVE_SECONDS),
            "else",
            f"  disabled=$({probes.ha_services(name, 'disabled')} | paste -sd ' ')",
            f"  [ -z \"$disabled\" ] || fail \"{disabled}\"",
            "  " + wait_for(f"{{ moving={moving} && [ -z \"$moving\" ]; }}",
                            f"HA to fence {name} and recover its guests on the kept nodes (ha-manager status)", HA_MOVE_SECONDS),
            "fi",
            f"left=$({configs} | paste -sd ' ')",
            f"[ -z \"$left\" ] || fail \"{left}\"",
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
    all_out = (f"for id in $({probes.osds(name)}); do "
               f"{probes.osd_is('$id', 'out')} && ceph osd safe-to-destroy \"osd.$id\" >/dev/null 2>&1 || exit 1; done")
    return Step(
        name=f"retire-{name}-osds-out",
        node=first,
        # Done when the node has no CRUSH bucket (never had Ceph, or retired), or its OSDs are out and PGs clean.
        check=f"! {probes.crush_host(name)} || {{ ( {all_out} ) && {ALL_PGS_CLEAN}; }}",
        act="\n".join([
            f"hosts=$({others})",
            f"[ \"$hosts\" -ge {need} ] || fail \"{too_few}\"",
            f"for id in $({probes.osds(name)}); do ceph osd out \"$id\"; done",
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
        check=f"! {probes.crush_host(name)}",
        act="\n".join([
            _reach(name),
            f"for id in $({probes.osds(name)}); do",
            "  ceph osd safe-to-destroy \"osd.$id\" >/dev/null 2>&1"
            f" || fail \"osd.$id on {name} still holds data Ceph needs (ceph osd safe-to-destroy osd.$id); wait for recovery, then re-run up\"",
            "  if answers; then",
            "    on_retiring systemctl stop \"ceph-osd@$id\"",
            "    " + wait_for(probes.osd_is("$id", "down"), "the stopped OSD to be down", 60),
            "    on_retiring pveceph osd destroy \"$id\" --cleanup",
            "  else",
            "    ceph osd down \"$id\" >/dev/null 2>&1 || true",
            "    ceph osd purge \"$id\" --yes-i-really-mean-it",
            "  fi",
            "done",
            f"ceph osd crush rm {q}",
        ]),
        verify=f"! {probes.crush_host(name)}",
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
    has_mon, has_mgr = probes.monitor(name), probes.manager(name)
    return Step(
        name=f"retire-{name}-ceph-daemons",
        node=first,
        check=f"! {{ {has_mon}; }} && ! {{ {has_mgr}; }}",
        act="\n".join([
            _reach(name),
            f"drop_mon_from_conf() {{\n{_DROP_MON_FROM_CONF}\n}}",
            f"if {has_mon}; then",
            f"  if answers; then on_retiring pveceph mon destroy {q}",
            f"  else mon_addr=$({probes.monitor_address(name)})",
            f"    ceph mon remove {q} && drop_mon_from_conf {q} \"$mon_addr\"",
            "  fi",
            "fi",
            f"if {has_mgr}; then",
            f"  if answers; then on_retiring pveceph mgr destroy {q}; else ceph auth del mgr.{name}; fi",
            "fi",
        ]),
        verify=f"! {{ {has_mon}; }} && ! {{ {has_mgr}; }}",
    )


# pvecm.adoc, "Separate a Node Without Reinstalling", run on the node: its own /etc/pve in local mode, without
# the cluster's corosync.conf, so neither pmxcfs nor corosync can bring it back into the cluster.
_SEPARATE = ("systemctl stop pve-cluster && systemctl stop corosync && pmxcfs -l && rm -f /etc/pve/corosync.conf "
             "&& rm -rf /etc/corosync/* && killall pmxcfs && systemctl start pve-cluster")


def membership(first: str, name: str) -> Step:
    """The node leaves corosync: separated as PVE's docs say when it answers (else it is dead and stays off),
    its maintenance request cleared, then `pvecm delnode` here. Stopping its corosync drops its vote while the
    others still expect it, so the votes left must still make quorum: a kept node down halfway stops this here."""
    q = shlex.quote(name)
    short = (f"stopping {name} would leave $after of $expected expected votes, fewer than the $need quorum needs "
             f"(pvecm status); bring the offline member(s) back ($offline), then re-run up")
    separated = (f"{name} was separated from the cluster as PVE's docs say (pvecm.adoc, Separate a Node Without "
                 "Reinstalling): it runs on its own and keeps its old /etc/pve files; reinstall it before using it again")
    dead = (f"{name} did not answer: keep it powered off, and never boot it on this network with its old configuration "
            "(reinstall it first)")
    return Step(
        name=f"retire-{name}-membership",
        node=first,
        check=f"! {{ {probes.member(name)}; }}",
        act="\n".join([
            _reach(name),
            f"{QUORATE} || fail 'the cluster is not quorate; pvecm delnode needs quorum'",
            f"total=$({TOTAL_VOTES}); need=$({QUORUM_VOTES}); expected=$({EXPECTED_VOTES})",
            "[ -n \"$total\" ] && [ -n \"$need\" ] || fail 'cannot read the votes from pvecm status'",
            f"if {probes.online(name)}; then after=$((total - 1)); else after=$total; fi",
            f"offline=$(comm -23 <({probes.MEMBERS}) <({probes.ONLINE_NAMES} | sort) | grep -vx {q} | paste -sd ' ' || true)",
            f"[ \"$after\" -ge \"$need\" ] || fail \"{short}\"",
            "if answers; then",
            f"  on_retiring {shlex.quote(_SEPARATE)}",
            "  " + wait_for(f"! {probes.online(name)}", f"the cluster to see {name} leave"),
            f"  echo \"proxmox-ha: $step: {separated}\" >&2",
            "else",
            f"  echo \"proxmox-ha: $step: {dead}\" >&2",
            "fi",
            # The CRM keeps a node's maintenance request past the node: a node re-added under this name would
            # start in maintenance.
            f"if {probes.maintenance_requested(name)}; then ha-manager crm-command node-maintenance disable {q}; fi",
            f"pvecm delnode {q}",
        ]),
        verify="\n".join([
            f"! {{ {probes.member(name)}; }}",
            wait_for(f"[ \"$({EXPECTED_VOTES})\" = \"$({probes.MEMBERS} | wc -l)\" ]", "expected votes to equal the remaining nodes"),
            wait_for(f"! {probes.maintenance_requested(name)}", f"the CRM to drop {name}'s maintenance request", 60),
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
    return [replication(first, name), guests(first, name), *ceph, membership(first, name), node_files(first, name)]
