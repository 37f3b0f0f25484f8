"""Ceph from the release it runs to the stack's, as Proxmox's Ceph upgrade guides order it ("Ceph Reef to Squid"):
packages on every node (the repository file names the new release, `apt full-upgrade`), then the monitors one
node at a time, then the managers, then each node's OSDs with `noout` set and every PG clean again before the
next; last `require-osd-release` and `noout` off. Each part reads what Ceph reports its daemons run, so a run cut
anywhere goes on from there and a cluster on the release already is left alone.
"""
from __future__ import annotations

import shlex

from policies.ceph_releases import MAJORS, RELEASES_BY_PVE

from . import probes
from .step import Step, wait_for

SOURCES = "/etc/apt/sources.list.d"
# `pveceph install` writes one of them: PVE 8 a one-line ceph.list, PVE 9 a deb822 ceph.sources.
REPOSITORY_FILES = (f"{SOURCES}/ceph.list", f"{SOURCES}/ceph.sources")
# Ceph upgrades from at most two releases back (squid from quincy and reef).
REACH = 2
# Where Ceph runs on this node: the cluster has Ceph, and the node has packages installed from a Ceph repository.
_HAS_CEPH = ("test -s /etc/pve/ceph.conf && command -v ceph-mon >/dev/null && "
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


def _packages_moved(release: str) -> str:
    """Shell: `fail` unless the node's packages are `release` (a daemon restarts onto what is installed)."""
    return (f"[ \"$({probes.INSTALLED_CEPH})\" = {MAJORS[release]} ] || fail \"the Ceph packages on $node are not "
            f"{release} yet (ceph --version)\"")


def _restart(kind: str, node: str, release: str, wait: str) -> Step:
    """The node's `kind` daemon restarted onto the installed `release`, then `wait` (shell) for it."""
    runs = probes.daemon_release(kind, shlex.quote(node))
    return Step(
        name=f"ceph-{release}-{kind}",
        node=node,
        check=f"! test -d /var/lib/ceph/{kind}/ceph-$node || [ \"$({runs})\" = {release} ]",
        act="\n".join([
            _packages_moved(release),
            *([f"{probes.MONITORS_ALL_IN_QUORUM} || fail 'not every Ceph monitor is in quorum (ceph quorum_status): "
               "restarting another could cost Ceph its quorum; bring it back, then re-run up'",
               "ceph osd set noout >/dev/null"] if kind == "mon" else []),
            f"systemctl restart \"ceph-{kind}@$node\"",
            wait,
        ]),
    )


def monitor(node: str, release: str) -> Step:
    back = f"[ \"$({probes.daemon_release('mon', shlex.quote(node))})\" = {release} ] && {probes.in_quorum(node)}"
    return _restart("mon", node, release, wait_for(f"{{ {back}; }} 2>/dev/null",
                                                   f"the monitor of {node} to rejoin the quorum on {release}", 300, 1))


def manager(node: str, release: str) -> Step:
    back = f"[ \"$({probes.daemon_release('mgr', shlex.quote(node))})\" = {release} ]"
    return _restart("mgr", node, release, wait_for(f"{{ {back}; }} 2>/dev/null",
                                                   f"the manager of {node} to report {release}", 300, 1))


def _osds_run(node: str, release: str) -> str:
    return (f"( for id in $({probes.osds(node)}); do "
            f"[ \"$({probes.daemon_release('osd', '$id')})\" = {release} ] || exit 1; done )")


def osds(node: str, release: str) -> Step:
    """The node's OSDs restarted together, `noout` set so Ceph waits for them instead of moving their data."""
    up = f"for id in $({probes.osds(node)}); do {probes.osd_is('$id', 'up')} || exit 1; done"
    return Step(
        name=f"ceph-{release}-osds",
        node=node,
        # No OSDs where the node has no CRUSH bucket; a Ceph that cannot say fails the check (crush_host).
        check=f"! {{ {_HAS_CEPH}; }} || ! {probes.crush_host(node)} || {_osds_run(node, release)}",
        act="\n".join([
            _packages_moved(release),
            f"{probes.ALL_PGS_CLEAN} || fail 'Ceph placement groups are not all active+clean (ceph pg stat): never "
            "restart OSDs on two nodes at once; wait for recovery, then re-run up'",
            "ceph osd set noout >/dev/null",
            "systemctl restart ceph-osd.target",
            wait_for(f"{{ ( {up} ) && {_osds_run(node, release)} && {probes.ALL_PGS_CLEAN}; }} 2>/dev/null",
                     f"the OSDs of {node} to be up on {release} and every PG active+clean", 1200, 1),
        ]),
    )


def required(node: str, release: str) -> Step:
    """Last, once every daemon runs `release`: OSDs of older releases may no longer join, and `noout` is off."""
    return Step(
        name=f"ceph-{release}-required",
        node=node,
        check=f"! test -s /etc/pve/ceph.conf || [ \"$({probes.REQUIRED_OSD_RELEASE})\" = {release} ]",
        act="\n".join([
            "versions=$(ceph --connect-timeout 30 versions) || fail \"cannot read the daemons' versions (ceph versions)\"",
            "printf '%s' \"$versions\" | python3 -c 'import json, sys; o = json.load(sys.stdin)[\"overall\"]; "
            f"sys.exit(0 if o and all(\" {release} \" in v for v in o) else 1)' || fail \"not every Ceph daemon runs "
            f"{release} (ceph versions): $versions\"",
            "ceph osd unset noout >/dev/null",
            f"ceph osd require-osd-release {release}",
        ]),
        verify=f"[ \"$({probes.REQUIRED_OSD_RELEASE})\" = {release} ]",
    )
