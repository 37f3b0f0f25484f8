"""Lab shim for `pveversion` (pve-manager bin/pveversion): the PVE release this host runs, from its own record."""
from __future__ import annotations

import sys

from . import pvelib as L
from ..pve import release

USAGE = "USAGE: pveversion [--verbose]"


def _debian_version(package: str) -> str:
    found = L.run(["dpkg-query", "-W", "-f=${Version}", package], check=False, timeout=30)
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else "not correctly installed"


def main(argv) -> int:
    version = release.installed(L.RELEASE_RECORD)
    if version is None:
        # A machine without pve-manager has no pveversion at all.
        sys.stderr.write("bash: pveversion: command not found\n")
        return 127
    verbose = [a for a in argv if a in ("-v", "--verbose", "-verbose")]
    if len(verbose) != len(argv):
        bad = next(a for a in argv if a not in verbose)
        sys.stderr.write(f"ERROR: Unknown option: {bad.lstrip('-')}\n{USAGE}\n" if bad.startswith("-")
                         else f"{USAGE}\n")
        return 255
    facts = release.RELEASES[release.major_of(version)]
    kernel = release.running_kernel(L.RELEASE_RECORD)
    if not verbose:
        print(f"pve-manager/{version}/{facts['repoid']} (running kernel: {kernel})")
        return 0
    print(f"proxmox-ve: {facts['release']}.0 (running kernel: {kernel})")
    print(f"pve-manager: {version} (running version: {version}/{facts['repoid']})")
    for package in ("corosync", "ceph-common", "ifupdown2"):
        print(f"{package}: {_debian_version(package)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
