"""PVE 8 → 9 in place, as Proxmox's "Upgrade from 8 to 9" guide orders it: `pve8to9 --full` on every node first,
then one node at a time: HA maintenance (its started guests move away), `noout`, APT sources to trixie (deb822
for PVE's and Ceph's repositories), `apt full-upgrade`, reboot, and back: online, quorate, its OSDs up, every PG
clean; then `noout` off and maintenance off.

A node's upgrade runs on a peer, which reaches the node over the cluster's own root SSH (the host key pinned
by node name, as PVE's migrations do: pve-cluster SSHInfo.pm): a node cannot wait for its own return from a reboot.
"""
from __future__ import annotations

import shlex

from . import probes
from .node_steps import SUITES, repository_change
from .reach import member_ssh, on_member
from .step import Step, probe, wait_for

OLD, NEW = 8, 9
# /run is emptied at boot: while this file exists, the node has PVE 9 on disk but has not booted into it.
REBOOT_DIR = "/run/proxmox-ha"
REBOOT_PENDING = f"{REBOOT_DIR}/upgrade-reboot"
# The upgrade put the node into HA maintenance: the upgrade takes it out again (an operator's maintenance stays).
DRAINED_DIR = "/var/lib/proxmox-ha"
DRAINED = f"{DRAINED_DIR}/upgrade-drained"
BOOTED_NEW = f"pveversion 2>/dev/null | has -E '^pve-manager/{NEW}\\.' && [ ! -e {REBOOT_PENDING} ]"
SOURCES = "/etc/apt/sources.list.d"
CEPH_LIST, CEPH_SOURCES = f"{SOURCES}/ceph.list", f"{SOURCES}/ceph.sources"
PVE_LISTS = (f"{SOURCES}/pve-no-subscription.list", f"{SOURCES}/pve-enterprise.list")
KEYRING = "/usr/share/keyrings/proxmox-archive-keyring.gpg"
# How long a node may take from reboot to a clean cluster; a real node's firmware alone can take minutes.
RETURN_SECONDS = 1200


# The node runs PVE 9 and no upgrade of ours holds it in maintenance.
DONE = f"{BOOTED_NEW} && [ ! -e {DRAINED} ]"


def preflight(node: str, peer: str, ceph: bool) -> Step:
    """Check-only, on every node before any is touched: `pve8to9 --full` without a FAIL, the cluster quorate, no
    HA service in error, fence or recovery, (with Ceph) every PG clean, and its `peer`, which will drive its
    upgrade, a member already."""
    return Step(
        name="upgrade-preflight",
        node=node,
        check=DONE,
        act="\n".join([
            f"{probes.member(peer)} || fail \"{peer}, which upgrades $node (the next node in the stack's order), is no "
            "cluster member yet: upgrade the cluster first, then add nodes\"",
            "command -v pve8to9 >/dev/null || fail \"pve8to9 is missing: update $node to the latest PVE 8.4 "
            "(apt update && apt full-upgrade), then re-run up\"",
            "report=$(pve8to9 --full 2>&1) || fail \"pve8to9 --full did not run: $report\"",
            "failures=$(printf '%s\\n' \"$report\" | sed -nE 's/^FAILURES: *([0-9]+)$/\\1/p')",
            "[ -n \"$failures\" ] || fail \"pve8to9 --full printed no summary: $report\"",
            "[ \"$failures\" = 0 ] || fail \"pve8to9 --full found $failures failure(s); fix them, then re-run up: "
            "$(printf '%s\\n' \"$report\" | grep '^FAIL:' | tr '\\n' ' ')\"",
            f"{probes.QUORATE} || fail 'the cluster is not quorate (pvecm status): upgrade only a whole cluster'",
            f"bad=$({probes.ha_services('[^,]+', 'error|fence|recovery')})",
            "[ -z \"$bad\" ] || fail \"HA services in error, fence or recovery: $bad; fix them (ha-manager status) first\"",
            *([f"{probes.ALL_PGS_CLEAN} || fail 'Ceph placement groups are not all active+clean (ceph pg stat): "
               "wait for recovery, then re-run up'"] if ceph else []),
        ]),
    )


def _sources(ceph: bool) -> str:
    """Shell run on the node: PVE's and Ceph's repositories as PVE 9 has them, and Debian's on trixie."""
    lines = [f"rm -f {' '.join(PVE_LISTS)}", repository_change(NEW)]
    if ceph:
        # The release the node runs stays: Ceph moves to another release on its own, never with PVE.
        lines += [
            f"if [ -f {CEPH_LIST} ]; then",
            f"  release=$(sed -nE 's#^deb .*/debian/ceph-([a-z]+) {SUITES[OLD]} .*#\\1#p' {CEPH_LIST} | head -n1)",
            f"  component=$(sed -nE 's#^deb .*/debian/ceph-[a-z]+ {SUITES[OLD]} ([a-z-]+).*#\\1#p' {CEPH_LIST} | head -n1)",
            f"  uri=$(sed -nE 's#^deb ([^ ]+)/debian/ceph-.*#\\1#p' {CEPH_LIST} | head -n1)",
            "  [ -n \"$release\" ] && [ -n \"$component\" ] || { echo \"unreadable " + CEPH_LIST + "\" >&2; exit 1; }",
            f"  printf 'Types: deb\\nURIs: %s/debian/ceph-%s\\nSuites: {SUITES[NEW]}\\nComponents: %s\\nSigned-By: {KEYRING}\\n'"
            f" \"$uri\" \"$release\" \"$component\" > {CEPH_SOURCES}",
            f"  rm -f {CEPH_LIST}",
            "fi",
        ]
    # Debian's own, one-line (sources.list, *.list) or deb822 (debian.sources): the guide's sed, per format.
    lines += [
        f"for list in /etc/apt/sources.list {SOURCES}/*.list; do",
        f"  [ ! -f \"$list\" ] || sed -i 's/\\b{SUITES[OLD]}\\b/{SUITES[NEW]}/g' \"$list\"",
        "done",
        f"for sources in {SOURCES}/*.sources; do",
        f"  [ ! -f \"$sources\" ] || sed -i -E '/^Suites:/ s/\\b{SUITES[OLD]}\\b/{SUITES[NEW]}/g' \"$sources\"",
        "done",
    ]
    return "\n".join(lines)


def upgrade_script(ceph: bool) -> str:
    """Run on the node itself (over SSH, `bash -s`): its packages to PVE 9, then a reboot a moment later."""
    return "\n".join([
        "set -euo pipefail",
        f"mkdir -p {REBOOT_DIR} && touch {REBOOT_PENDING}",
        _sources(ceph),
        "apt-get update -q",
        "export DEBIAN_FRONTEND=noninteractive",
        "dpkg --configure -a",
        "apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold full-upgrade",
        f"pveversion | grep -E '^pve-manager/{NEW}\\.' >/dev/null || {{ echo \"apt full-upgrade left $(pveversion)\" >&2; exit 1; }}",
        # Detached, and after this session has ended: the peer waits for the node's return.
        "setsid nohup sh -c 'sleep 1; reboot' </dev/null >/dev/null 2>&1 &",
    ])


def node(target: str, address: str, peer: str, ceph: bool) -> Step:
    """One node's upgrade, run on `peer`. Skipped once the node runs PVE 9 and is out of the upgrade's maintenance;
    a run cut anywhere picks up where it stopped (each part checks first)."""
    ssh = member_ssh(target, address)
    on_target = lambda command: on_member(target, address, command)  # noqa: E731
    back = " && ".join([f"{on_target(probe(BOOTED_NEW))} >/dev/null 2>&1",
                        probes.online(target), probes.QUORATE])
    osds_up = (f"for id in $({probes.osds(target)}); do {probes.osd_is('$id', 'up')} || exit 1; done"
               if ceph else "true")
    whole = " && ".join([probes.QUORATE, f"[ \"$({probes.MEMBERS})\" = \"$({probes.ONLINE_NAMES} | sort)\" ]"])
    lines = [
        f"target={shlex.quote(target)}",
        f"{on_target('true')} || fail \"cannot reach $target over the cluster's root SSH from $node: check that "
        "it is up and ssh root@$target works from $node, then re-run up\"",
        f"if ! {on_target(f'test -e {DRAINED}')}; then",
        f"  {whole} || fail \"the cluster is not whole (pvecm status): never take $target down while another "
        "node is out; bring it back, then re-run up\"",
        f"  {on_target(f'mkdir -p {DRAINED_DIR} && touch {DRAINED}')}",
        "fi",
        # Again after a run cut short, should an operator have taken the node out of maintenance meanwhile.
        f"{probes.maintenance_requested(target)} || ha-manager crm-command node-maintenance enable \"$target\"",
        wait_for(f"{{ [ -z \"$({probes.ha_services(target, 'started')})\" ] && [ \"$({probes.lrm_state(target)})\" = maintenance ]; }}",
                 f"HA to move the started guests off {target} and its LRM to enter maintenance", 600),
        *(["ceph osd set noout >/dev/null"] if ceph else []),
        f"if ! {on_target(probe(BOOTED_NEW))}; then",
        f"  {ssh} bash -s <<'PROXMOX_HA_UPGRADE' || fail \"the upgrade of $target to PVE {NEW} failed (above); fix "
        f"it on $target, then re-run up: $target stays in HA maintenance until then\"",
        upgrade_script(ceph),
        "PROXMOX_HA_UPGRADE",
        "fi",
        wait_for(f"{{ {back}; }} 2>/dev/null", f"{target} to come back on PVE {NEW}, online and quorate", RETURN_SECONDS),
        *([wait_for(f"{{ ( {osds_up} ) 2>/dev/null && {probes.ALL_PGS_CLEAN}; }}",
                    f"the OSDs of {target} to be up and every PG active+clean", RETURN_SECONDS),
           "ceph osd unset noout >/dev/null"] if ceph else []),
        "ha-manager crm-command node-maintenance disable \"$target\"",
        wait_for(f"{{ [ \"$({probes.lrm_state(target)})\" != maintenance ] && ! {probes.maintenance_requested(target)}; }}",
                 f"{target} to leave HA maintenance", 300),
        on_target(f"rm -f {DRAINED}"),
    ]
    return Step(
        name=f"pve{NEW}-{target}",
        node=peer,
        # Nothing to upgrade where the target or this peer is no member yet: pve-release lets only members run PVE 8,
        # and the target's preflight refused one whose peer is no member. (Nor is there cluster SSH before.)
        check=f"! {probes.member(peer)} || ! {probes.member(target)} || {on_target(probe(DONE))}",
        act="\n".join(lines),
    )
