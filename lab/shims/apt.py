"""Lab shim for `apt-get`/`apt` inside a lab host.

Hosts share the machine's /usr, so a package install inside a host would change the machine;
and hosts have no route out. This shim never downloads or installs: `update` succeeds without
network, `install` reports packages the machine already has and records the others in
/var/lib/lab-apt/requested (host-private overlay).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from . import pvelib as L
from ..pve import ceph_release, release

SOURCES = Path("/etc/apt")
# Where Proxmox serves PVE itself (not Ceph): its suite in the sources says which major an upgrade brings.
PVE_REPOSITORY = re.compile(r"(?:download|enterprise)\.proxmox\.com/debian/pve/?$")
# Proxmox's Ceph repositories, one per release (PVE's Ceph upgrade guides sed `ceph-reef` to `ceph-squid`).
CEPH_REPOSITORY = re.compile(r"(?:download|enterprise)\.proxmox\.com/debian/ceph-([a-z]+)/?$")

USAGE = """apt-get / apt (proxmox-ha lab shim)

Stands in for Debian's apt-get inside a lab host: no network, no change to the shared /usr.
  update                 succeeds (lists are the machine's)
  install PKG...         'already the newest version' for installed packages, others recorded
                         in /var/lib/lab-apt/requested and reported as lab-provided
  full-upgrade|dist-upgrade   on a PVE host, moves pve-manager to the major of the PVE repository's suite
                         in the sources (bookworm 8, trixie 9; never down), and an installed Ceph to the
                         newest release a Ceph repository names (ceph-squid; never down); nothing else changes
  upgrade|autoremove|clean|remove|purge   no-ops
Install real packages on the machine with `python3 -m lab install`.
"""

PROVIDED = {"proxmox-ve", "pve-manager", "pve-cluster", "pve-ha-manager", "qemu-server", "pve-container",
            "libpve-common-perl", "proxmox-backup-client", "ceph", "ceph-common", "ceph-mon", "ceph-mgr",
            "ceph-osd", "corosync", "prometheus-pve-exporter"}


def installed(pkg: str) -> bool:
    r = L.run(["dpkg-query", "-W", "-f=${Status}", pkg], check=False, timeout=30)
    return r.returncode == 0 and "install ok installed" in r.stdout


@L.shim_main
def main(argv):
    args = [a for a in argv if not a.startswith("-")]
    skip_next = False
    clean = []
    for a in argv:
        if skip_next:
            skip_next = False
            continue
        if a in ("-o", "-t", "-c"):
            skip_next = True
            continue
        if not a.startswith("-"):
            clean.append(a)
    args = clean
    if not args or args[0] in ("help",) or "-h" in argv or "--help" in argv:
        print(USAGE)
        return 0
    cmd, pkgs = args[0], args[1:]
    if cmd == "update":
        print("Reading package lists... Done  (lab: no download)")
        return 0
    if cmd in ("install", "reinstall"):
        print("Reading package lists... Done")
        print("Building dependency tree... Done")
        req = Path("/var/lib/lab-apt/requested")
        req.parent.mkdir(parents=True, exist_ok=True)
        have = set(req.read_text().split()) if req.exists() else set()
        for p in pkgs:
            name = p.split("=")[0].split("/")[0]
            if installed(name):
                print(f"{name} is already the newest version.")
            else:
                have.add(name)
                print(f"{name} is provided by the proxmox-ha lab (not installed: hosts share /usr).")
        req.write_text("\n".join(sorted(have)) + ("\n" if have else ""))
        print("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
        return 0
    if cmd in ("dist-upgrade", "full-upgrade"):
        return full_upgrade()
    if cmd in ("upgrade", "autoremove", "clean", "autoclean", "remove", "purge"):
        print("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
        return 0
    if cmd in ("policy", "list", "show", "search"):
        return L.run(["/usr/bin/apt-cache"] + ([cmd] if cmd != "list" else ["policy"]) + pkgs, check=False).returncode
    raise L.PVEError(f"E: Invalid operation {cmd}", 100)


def entries(root: Path) -> list[tuple[list[str], list[str], str]]:
    """(URIs, suites, where) of every enabled source, as apt reads them: one-line `deb[-src] [opts] URI SUITE ...`
    entries (sources.list, *.list) and deb822 stanzas (*.sources, `Enabled: no` skipped)."""
    found = []
    for path in [root / "sources.list", *sorted((root / "sources.list.d").glob("*.list"))]:
        for number, line in enumerate(path.read_text().splitlines() if path.is_file() else (), 1):
            words = [w for w in line.split("#", 1)[0].split() if not w.startswith("[")]
            if len(words) >= 3 and words[0] in ("deb", "deb-src"):
                found.append(([words[1]], [words[2]], f"{path}:{number}"))
    for path in sorted((root / "sources.list.d").glob("*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields = {k.strip(): v.strip() for k, v in
                      (line.split(":", 1) for line in stanza.splitlines() if ":" in line and not line.startswith("#"))}
            if fields.get("Enabled", "yes").lower() not in ("no", "false"):
                found.append((fields.get("URIs", "").split(), fields.get("Suites", "").split(), str(path)))
    return found


def pve_suites(root: Path) -> set[str]:
    """The suites the enabled PVE repositories name."""
    return {suite for uris, suites, _ in entries(root) if any(PVE_REPOSITORY.search(u) for u in uris) for suite in suites}


def ceph_releases(root: Path) -> set[str]:
    """The Ceph releases the enabled Ceph repositories name."""
    return {m.group(1) for uris, _, _ in entries(root) for u in uris
            for m in [CEPH_REPOSITORY.search(u)] if m and m.group(1) in ceph_release.RELEASES}


def full_upgrade() -> int:
    """What a full-upgrade does to the lab's PVE: pve-manager moves to the newest major the PVE repositories offer
    (a PVE 8 host whose sources name trixie becomes PVE 9 on disk; it runs it once rebooted, lab/shims/reboot.py),
    and installed Ceph packages to the newest release the Ceph repositories offer (running daemons keep theirs until
    restarted)."""
    print("Reading package lists... Done")
    print("Building dependency tree... Done")
    upgraded = 0
    installed_version = release.installed(L.RELEASE_RECORD)
    offered = [m for m, facts in release.RELEASES.items() if facts["suite"] in pve_suites(SOURCES)]
    if installed_version and offered and max(offered) > release.major_of(installed_version):
        major = max(offered)
        release.upgrade(L.RELEASE_RECORD, major)
        print(f"Setting up pve-manager ({release.RELEASES[major]['version']}) ...")
        upgraded += 1
    ceph_offered = ceph_releases(SOURCES)
    newest = max(ceph_offered, key=lambda name: ceph_release.major(ceph_release.RELEASES[name]), default=None)
    if newest and ceph_release.upgrade(L.CEPH_RECORD, newest):
        print(f"Setting up ceph ({ceph_release.RELEASES[newest]}-pve1) ...")
        upgraded += 1
    print(f"{upgraded} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def requested() -> set[str]:
    req = Path("/var/lib/lab-apt/requested")
    return set(req.read_text().split()) if req.exists() else set()


@L.shim_main
def dpkg_query_main(argv):
    """`dpkg-query -W -f=FORMAT PKG`: packages the lab provides (see `install`) answer as installed."""
    pkgs = [a for a in argv if not a.startswith("-")]
    fmt = next((a.split("=", 1)[1] for a in argv if a.startswith("-f=") or a.startswith("--showformat=")), None)
    if "-W" in argv and fmt is not None and len(pkgs) == 1 and pkgs[0] in requested():
        sys.stdout.write(fmt.replace("${Status}", "install ok installed").replace("${Package}", pkgs[0])
                         .replace("${Version}", "lab").replace("\\n", "\n"))
        return 0
    return L.run(["/usr/bin/dpkg-query", *argv], check=False, capture=False).returncode
