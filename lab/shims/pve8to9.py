"""Lab shim for `pve8to9` (pve-manager PVE/CLI/pve8to9.pm): the checklist's checks for what a lab host can have,
in the real tool's format (`= SECTION =` headers, `PASS:`/`WARN:`/`FAIL:`/`SKIP:`/`INFO:` lines, the SUMMARY
counters) and with its exit status: 0 even with failures, so a caller reads `FAILURES:`.

Checked: the proxmox-ve version and running kernel; cluster quorum, offline nodes and votes; Ceph health, the
`noout` flag and the local Ceph release (the release the host's Ceph repository names: the lab's daemons are
Debian's, whatever the repository says); mixed old and new suites in the APT sources. Not checked: what a lab
host cannot have (bootloader, DKMS, LVM, cgroups, vGPU, storage content, guest configs).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from . import apt, pvelib as L
from .systemctl import unit_active
from ..pve import corosync, release

USAGE = "USAGE: pve8to9  [--full <boolean>]"
OLD_SUITE, NEW_SUITE = "bookworm", "trixie"
MIN_PVE = (8, 4, 1)
# PVE/Ceph/Releases.pm: the release each code name is; pve8to9 wants 19 (squid) before the upgrade.
CEPH_RELEASES = {"quincy": 17, "reef": 18, "squid": 19, "tentacle": 20}
CEPH_SUPPORTED = ("squid", 19)
APT = Path("/etc/apt")


class Checklist:
    def __init__(self):
        self.counters = {"pass": 0, "skip": 0, "warn": 0, "fail": 0}
        self.first = True

    def header(self, title: str) -> None:
        print(("" if self.first else "\n") + f"= {title} =\n")
        self.first = False

    def log(self, level: str, line: str) -> None:
        if level in self.counters:
            self.counters[level] += 1
        print(f"{level.upper()}: {line}")

    def summary(self) -> None:
        self.header("SUMMARY")
        c = self.counters
        print(f"TOTAL:    {sum(c.values())}\nPASSED:   {c['pass']}\nSKIPPED:  {c['skip']}\n"
              f"WARNINGS: {c['warn']}\nFAILURES: {c['fail']}")
        if c["warn"] or c["fail"]:
            print("\nATTENTION: Please check the output for detailed information!")
            if c["fail"]:
                print("Try to solve the problems one at a time and then run this checklist tool again.")


def check_packages(c: Checklist) -> None:
    c.header("CHECKING VERSION INFORMATION FOR PVE PACKAGES")
    print("Checking for package updates..")
    c.log("pass", "all packages up-to-date")
    print("\nChecking proxmox-ve package version..")
    version = release.installed(L.RELEASE_RECORD)
    if version is None:
        c.log("fail", "proxmox-ve package not found!")
        return
    numbers = tuple(int(x) for x in re.findall(r"\d+", version)[:3])
    upgraded = numbers[0] > MIN_PVE[0]
    if upgraded:
        c.log("pass", f"already upgraded to Proxmox VE {MIN_PVE[0] + 1}")
    elif numbers >= MIN_PVE:
        c.log("pass", "proxmox-ve package has version >= {}.{}-{}".format(*MIN_PVE))
    else:
        c.log("fail", "proxmox-ve package is too old, please upgrade to >= {}.{}-{}!".format(*MIN_PVE))
    print("\nChecking running kernel version..")
    kernel = release.running_kernel(L.RELEASE_RECORD)
    major, minor = (int(x) for x in kernel.split(".")[:2])
    if not upgraded and (major, minor) in ((6, 2), (6, 5), (6, 8), (6, 11), (6, 14)):
        c.log("pass", f"running kernel '{kernel}' is considered suitable for upgrade.")
    elif upgraded and (major, minor) >= (6, 14):
        c.log("pass", f"running new kernel '{kernel}' after upgrade.")
    elif upgraded:
        c.log("warn", f"a suitable kernel (proxmox-kernel-6.17) is installed, but an unsuitable ({kernel}) is booted, missing reboot?!")
    else:
        c.log("warn", f"unexpected running and installed kernel '{kernel}'.")


def check_cluster(c: Checklist) -> None:
    c.header("CHECKING CLUSTER HEALTH/SETTINGS")
    cluster = corosync.read_cluster(L.PVE / "corosync.conf")
    if cluster is None:
        c.log("skip", "standalone node.")
        return
    for unit in ("pve-cluster", "corosync"):
        if unit_active(unit):
            c.log("pass", f"systemd unit '{unit}.service' is in state 'active'")
        else:
            c.log("fail", f"systemd unit '{unit}.service' is in state 'inactive'")
    if corosync.quorate():
        c.log("pass", "Cluster Filesystem is quorate.")
    else:
        c.log("fail", "Cluster Filesystem readonly, lost quorum?!")
    print("\nAnalzying quorum settings and state..")
    names = corosync.node_names(cluster)
    offline = len(set(names) - set(corosync.online_members(cluster)))
    if offline:
        c.log("fail", f"{offline} nodes are offline!")
    c.log("info", f"configured votes - nodes: {len(names)}")
    if len(names) < 3:
        c.log("warn", "cluster consists of less than three quorum-providing nodes!")


def local_ceph_release() -> str | None:
    """The release the host's Ceph repository names (ceph.list's `ceph-RELEASE`, ceph.sources' URIs)."""
    for path in (APT / "sources.list.d" / "ceph.sources", APT / "sources.list.d" / "ceph.list"):
        found = re.search(r"/debian/ceph-([a-z]+)", path.read_text()) if path.is_file() else None
        if found:
            return found.group(1)
    return None


def check_ceph(c: Checklist) -> None:
    c.header("CHECKING HYPER-CONVERGED CEPH STATUS")
    if not (L.PVE / "ceph.conf").is_file():
        c.log("skip", "no hyper-converged ceph setup detected!")
        return
    c.log("info", "hyper-converged ceph setup detected!")
    c.log("info", "getting Ceph status/health information..")
    status = L.ceph(["status"], check=False, fmt_json=True)
    flags = L.ceph(["osd", "dump"], check=False, fmt_json=True)
    health = status.get("health", {}) if isinstance(status, dict) else {}
    noout = isinstance(flags, dict) and "noout" in flags.get("flags", "").split(",")
    if not health.get("status"):
        c.log("fail", "unable to determine Ceph status!")
    elif health["status"] == "HEALTH_OK":
        c.log("pass", "Ceph health reported as 'HEALTH_OK'.")
    elif health["status"] == "HEALTH_WARN" and noout and len(health.get("checks", {})) == 1:
        c.log("pass", "Ceph health reported as 'HEALTH_WARN' with a single failing check and 'noout' flag set.")
    else:
        c.log("warn", f"Ceph health reported as '{health['status']}'.\n      Use the PVE dashboard or 'ceph -s'"
                      " to determine the specific issues and try to resolve them.")
    c.log("info", "checking local Ceph version..")
    name = local_ceph_release()
    number = CEPH_RELEASES.get(name or "")
    wanted_name, wanted = CEPH_SUPPORTED
    if number is None:
        c.log("fail", "unable to determine local Ceph version!")
    elif number == wanted:
        c.log("pass", f"found expected Ceph {wanted} {wanted_name} release.")
    elif number > wanted:
        c.log("warn", f"found newer Ceph release {number} {name} as the expected {wanted} {wanted_name}, installed third party repos?!")
    else:
        c.log("fail", f"Hyper-converged Ceph {number} {name} is to old for upgrade!\n"
                      f"      Upgrade Ceph first to {wanted_name} following our how-to:\n"
                      "      <https://pve.proxmox.com/wiki/Category:Ceph_Upgrade>")


def check_misc(c: Checklist) -> None:
    c.header("MISCELLANEOUS CHECKS")
    c.log("info", "Checking if the suite for the Debian security repository is correct..")
    suites = {(re.sub(r"-(?:(?:proposed-)?updates|backports|debug|security)(?:-debug)?$", "", s), where)
              for _, found, where in apt.entries(APT) for s in found}
    known = {s for s, _ in suites if s in (OLD_SUITE, NEW_SUITE)}
    if len(known) > 1:
        mismatches = "\n  ".join(f"found suite {s} at {where}" for s, where in sorted(suites))
        c.log("fail", f"Found mixed old and new package repository suites, fix before upgrading! Mismatches:\n  {mismatches}")
    else:
        c.log("pass", "found no suite mismatch")


@L.shim_main
def main(argv):
    if argv and argv[0] in ("help", "-h", "--help"):
        print(USAGE)
        return 0
    unknown = [a for a in argv if a not in ("--full", "-full", "--full=1", "--full=0", "1", "0")]
    if unknown:
        raise L.PVEError(f"400 unable to parse option\n{USAGE}", 255)
    checks = Checklist()
    check_packages(checks)
    check_cluster(checks)
    check_ceph(checks)
    check_misc(checks)
    if "--full" not in argv and "-full" not in argv and "--full=1" not in argv:
        checks.log("skip", "NOTE: Expensive checks, like CT cgroupv2 compat, not performed without '--full' parameter")
    checks.summary()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
