"""Ceph through pveceph: install, init, a mon and a mgr per node, OSDs, pools with RBD storage, tuning."""
from __future__ import annotations

import shlex

from . import probes
from .step import Step, wait_for

# The repository file `pveceph install` writes, per PVE major (pve-manager PVE/CLI/pveceph.pm):
# PVE 8 (bookworm) a one-line ceph.list, PVE 9 (trixie) a deb822 ceph.sources.
CEPH_REPOSITORY_FILE = {8: "/etc/apt/sources.list.d/ceph.list", 9: "/etc/apt/sources.list.d/ceph.sources"}


def install(node: str, release: str, repository: str, pve_version: int) -> Step:
    """`pveceph install` writes the repository file of the node's PVE major naming the release; that file is the check."""
    path = CEPH_REPOSITORY_FILE[pve_version]
    if pve_version == 9:
        marker = (f"grep -qsE '^URIs: .*/debian/ceph-{release}$' {path}"
                  f" && grep -qsx 'Suites: trixie' {path}")
    else:
        marker = f"grep -qsE '^deb .*/debian/ceph-{release} bookworm ' {path}"
    return Step(
        name="ceph-install",
        node=node,
        check=f"{marker} && command -v ceph-mon >/dev/null",
        act=f"echo y | pveceph install --repository {shlex.quote(repository)} --version {shlex.quote(release)}",
        verify=marker,
    )


def init(node: str, network: str) -> Step:
    return Step(
        name="ceph-init",
        node=node,
        check="test -s /etc/pve/ceph.conf",
        act=f"pveceph init --network {shlex.quote(network)}",
        verify="test -s /etc/pve/ceph.conf",
    )


def monitor(node: str) -> Step:
    return Step(
        name="ceph-mon",
        node=node,
        check='test -d "/var/lib/ceph/mon/ceph-$node"',
        act="pveceph mon create",
        # A monmap Ceph cannot give yet (the monitors elect as one joins) is "not yet": the subshell makes `fail` a no.
        verify=wait_for(f"( {probes.monitor(node)} ) 2>/dev/null", "the monitor to join the monmap"),
    )


def manager(node: str) -> Step:
    return Step(
        name="ceph-mgr",
        node=node,
        check='test -d "/var/lib/ceph/mgr/ceph-$node"',
        act="pveceph mgr create",
        verify='test -d "/var/lib/ceph/mgr/ceph-$node"',
    )


def osd(node: str, disk: str, wipe: bool) -> Step:
    """One OSD on `disk`; a disk already holding an OSD is skipped, a disk with other data needs the wipe opt-in."""
    quoted = shlex.quote(disk)
    # An LVM OSD (pveceph's default) is known to ceph-volume; a raw-mode OSD's block link points at the disk.
    in_use = (
        f"{{ ceph-volume lvm list {quoted} >/dev/null 2>&1"
        f" || for b in /var/lib/ceph/osd/ceph-*/block; do [ \"$(readlink -f \"$b\")\" = \"$(readlink -f {quoted})\" ] && break; false; done; }}"
    )
    if wipe:
        prepare = f"if blkid -p {quoted} >/dev/null 2>&1; then ceph-volume lvm zap {quoted} --destroy; fi"
    else:
        prepare = (
            f"if blkid -p {quoted} >/dev/null 2>&1; then fail "
            + shlex.quote(f"{disk} holds data (a partition table or filesystem signature). Move the data off, or set "
                          "`pulumi config set --path proxmox-ha:ceph.wipeDisks true` to let proxmox-ha zap it")
            + "; fi"
        )
    return Step(
        name=f"ceph-osd-{disk.rsplit('/', 1)[-1]}",
        node=node,
        check=in_use,
        act=f"test -b {quoted} || fail '{disk} is not a block device on this node; fix proxmox-ha:cluster.nodes[].osdDisks'\n{prepare}\npveceph osd create {quoted}",
        verify=wait_for(in_use, f"an OSD on {disk}"),
    )


def pool(node: str, name: str, size: int, min_size: int, pg_num: int, content: list[str]) -> Step:
    """The pool with the wanted replication, and an RBD storage for it; an existing pool is brought to size/min_size."""
    q = shlex.quote(name)
    wanted = (
        f"[ \"$(ceph osd pool get {q} size 2>/dev/null)\" = 'size: {size}' ]"
        f" && [ \"$(ceph osd pool get {q} min_size 2>/dev/null)\" = 'min_size: {min_size}' ]"
        f" && grep -qsx 'rbd: {name}' /etc/pve/storage.cfg"
    )
    return Step(
        name=f"ceph-pool-{name}",
        node=node,
        check=wanted,
        act=(
            f"if ceph osd pool ls | has -x {q}; then\n"
            f"  pveceph pool set {q} --size {size} --min_size {min_size}\n"
            f"else\n"
            f"  pveceph pool create {q} --size {size} --min_size {min_size} --pg_num {pg_num}\n"
            f"fi\n"
            f"grep -qsx 'rbd: {name}' /etc/pve/storage.cfg || pvesm add rbd {q} --pool {q} --content {','.join(content)} --krbd 0"
        ),
        verify=wanted,
    )


def tuning(node: str, settings: list[tuple[str, str, str]]) -> Step:
    """`ceph config set WHO KEY VALUE` for each setting that differs."""
    matches = " && ".join(f"[ \"$(ceph config get {who} {key})\" = {shlex.quote(value)} ]" for who, key, value in settings)
    act = "\n".join(f"ceph config set {who} {key} {shlex.quote(value)}" for who, key, value in settings)
    return Step(name="ceph-tuning", node=node, check=matches, act=act, verify=matches)


def healthy(node: str) -> Step:
    """A read-only gate: every placement group active+clean (HEALTH_OK alone is not enough)."""
    return Step(
        name="ceph-pgs-clean",
        node=node,
        check=probes.ALL_PGS_CLEAN,
        act=wait_for(probes.ALL_PGS_CLEAN, "all placement groups active+clean", 600),
    )
