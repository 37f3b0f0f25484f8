"""Ceph from the release it runs to the stack's, as Proxmox's Ceph upgrade guides order it ("Ceph Reef to Squid"):
packages on every node (the repository file names the new release, `apt full-upgrade`), then, from the first node,
the monitors one node at a time, the managers, each node's OSDs with `noout` set and every PG clean again before the
next; last `require-osd-release` and `noout` off. Each part reads what Ceph reports its daemons run, so a run cut
anywhere goes on from there and a cluster on the release already is left alone.
"""
from __future__ import annotations

import shlex

from policies.ceph_releases import MAJORS, RELEASES_BY_PVE

from . import probes
from .reach import on_member
from .step import Step, probe, wait_for

SOURCES = "/etc/apt/sources.list.d"
# `pveceph install` writes one of them: PVE 8 a one-line ceph.list, PVE 9 a deb822 ceph.sources.
REPOSITORY_FILES = (f"{SOURCES}/ceph.list", f"{SOURCES}/ceph.sources")
# Ceph upgrades from at most two releases back (squid from quincy and reef).
REACH = 2
# Where Ceph runs on this node: the cluster has Ceph, and the node has packages installed from a Ceph repository.
_HAS_CEPH = (f"{probes.HAS_MONITORS} && command -v ceph-mon >/dev/null && "
             f"{{ {' || '.join(f'test -f {f}' for f in REPOSITORY_FILES)}; }}")


def _offered(release: str) -> str:
    """Shell: `fail` unless the node's PVE major offers `release` (Releases.pm)."""
    pairs = "|".join(f"{major}:{r}" for major, releases in RELEASES_BY_PVE.items() for r in releases)
    return ("major=$(pveversion 2>/dev/null | sed -nE 's#^pve-manager/([0-9]+)\\..*#\\1#p')\n"
            f"case \"$major:{release}\" in {pairs}) ;; *) fail \"PVE $major on $node offers no Ceph {release}: upgrade "
            f"with the release it offers first, then set proxmox-ha:ceph.release to {release}\" ;; esac")


def packages(node: str, release: str) -> Step:
    """The node's Ceph packages to `release`; its daemons keep running the old ones until restarted."""
    want = MAJORS[release]
    return Step(
        name=f"ceph-{release}-packages",
        node=node,
        check=f"! {{ {_HAS_CEPH}; }} || [ \"$({probes.INSTALLED_CEPH})\" = {want} ]",
        act="\n".join([
            f"have=$({probes.INSTALLED_CEPH})",
            "[ -n \"$have\" ] || fail \"cannot read the Ceph release installed on $node (ceph --version)\"",
            f"[ \"$have\" -lt {want} ] || fail \"$node has Ceph $have, newer than {release} ({want}): Ceph never moves "
            "back; set proxmox-ha:ceph.release to the release the cluster runs\"",
            f"[ $(({want} - have)) -le {REACH} ] || fail \"Ceph moves at most {REACH} releases at once, not $have to "
            f"{want}: set proxmox-ha:ceph.release to a release in between first\"",
            _offered(release),
            f"{probes.ALL_PGS_CLEAN} || fail 'Ceph placement groups are not all active+clean (ceph pg stat): wait "
            "for recovery, then re-run up'",
            f"for file in {' '.join(REPOSITORY_FILES)}; do",
            f"  [ ! -f \"$file\" ] || sed -i -E 's#/debian/ceph-[a-z]+#/debian/ceph-{release}#' \"$file\"",
            "done",
            "apt-get update -q",
            "DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confdef "
            "-o Dpkg::Options::=--force-confold full-upgrade",
        ]),
        verify=f"[ \"$({probes.INSTALLED_CEPH})\" = {want} ]",
    )


def _on(name: str, address: str, first: str, command: str) -> str:
    """Shell run on `first`: `command` (its own script, with has/fail) on member `name`, locally where it is `first`."""
    return f"bash -c {shlex.quote(probe(command))}" if name == first else on_member(name, address, probe(command))


def daemons(first: str, members: list[tuple[str, str]], release: str) -> Step:
    """Run on `first`: each member's (name, address) daemons restarted onto `release`, one at a time: monitors (each
    only while every monitor is in quorum), managers, then each node's OSDs with `noout` set, every PG clean again
    before the next node; last, once every daemon runs it, `require-osd-release` and `noout` off. A daemon that runs
    the release already is left alone, so a run cut anywhere goes on from there."""
    want = MAJORS[release]
    restart = (lambda name, unit: f"[ \"$({probes.INSTALLED_CEPH})\" = {want} ] || fail \"the Ceph packages on "
               f"{name} are not {release} yet (ceph --version)\"; systemctl restart {unit}")
    lines = [
        # A run cut while OSDs restarted finds PGs recovering: a while to settle, not a recovery's length.
        wait_for(probes.ALL_PGS_CLEAN, "every PG to be active+clean before any Ceph daemon restarts"),
        "ceph osd set noout >/dev/null",
    ]
    for name, address in members:
        runs = f"[ \"$({probes.daemon_release('mon', shlex.quote(name))})\" = {release} ]"
        lines += [
            f"if {probes.monitor(name)} && ! {runs}; then",
            f"  {probes.MONITORS_ALL_IN_QUORUM} || fail 'not every Ceph monitor is in quorum (ceph quorum_status): "
            f"restarting the one of {name} could cost Ceph its quorum; bring them back, then re-run up'",
            f"  {_on(name, address, first, restart(name, f'ceph-mon@{name}'))} || fail 'restarting the monitor of "
            f"{name} failed (above); fix it on {name}, then re-run up'",
            wait_for(f"{{ {runs} && {probes.in_quorum(name)}; }} 2>/dev/null",
                     f"the monitor of {name} to rejoin the quorum on {release}", 300),
            "fi",
        ]
    for name, address in members:
        runs = f"[ \"$({probes.daemon_release('mgr', shlex.quote(name))})\" = {release} ]"
        lines += [
            f"if {probes.manager(name)} && ! {runs} 2>/dev/null; then",
            f"  {_on(name, address, first, restart(name, f'ceph-mgr@{name}'))} || fail 'restarting the manager of "
            f"{name} failed (above); fix it on {name}, then re-run up'",
            wait_for(f"{{ {runs}; }} 2>/dev/null", f"the manager of {name} to report {release}", 300),
            "fi",
        ]
    for name, address in members:
        ids = probes.osds(name)
        runs = f"( for id in $({ids}); do [ \"$({probes.daemon_release('osd', '$id')})\" = {release} ] || exit 1; done )"
        up = f"( for id in $({ids}); do {probes.osd_is('$id', 'up')} || exit 1; done )"
        lines += [
            f"if ! {runs} 2>/dev/null; then",
            f"  {probes.ALL_PGS_CLEAN} || fail 'Ceph placement groups are not all active+clean (ceph pg stat): never "
            f"restart the OSDs of {name} while others recover; wait, then re-run up'",
            f"  {_on(name, address, first, restart(name, 'ceph-osd.target'))} || fail 'restarting the OSDs of {name} "
            f"failed (above); fix it on {name}, then re-run up'",
            wait_for(f"{{ {up} && {runs} && {probes.ALL_PGS_CLEAN}; }} 2>/dev/null",
                     f"the OSDs of {name} to be up on {release} and every PG active+clean", 1200),
            "fi",
        ]
    lines += [
        f"{probes.all_daemons_run(release)} || fail \"not every Ceph daemon runs {release} (ceph versions): one on a "
        "node the stack does not list? Restart it there, then re-run up\"",
        "ceph osd unset noout >/dev/null",
        f"ceph osd require-osd-release {release}",
    ]
    return Step(
        name=f"ceph-{release}",
        node=first,
        check=f"! {probes.HAS_MONITORS} || {{ {probes.all_daemons_run(release)} && "
              f"[ \"$({probes.REQUIRED_OSD_RELEASE})\" = {release} ]; }}",
        act="\n".join(lines),
        verify=f"[ \"$({probes.REQUIRED_OSD_RELEASE})\" = {release} ]",
    )
