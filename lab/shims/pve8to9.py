"""Lab shim for `pve8to9` (pve-manager PVE/CLI/pve8to9.pm): the checklist's checks for what a lab host can have,
in the real tool's format (`= SECTION =` headers, `PASS:`/`WARN:`/`FAIL:`/`SKIP:`/`INFO:` lines, the SUMMARY
counters) and with its exit status: 0 even with failures, so a caller reads `FAILURES:`.

Checked: the proxmox-ve version and running kernel; cluster quorum, offline nodes and votes; Ceph health, the local
Ceph version (`ceph --version`), the daemons' running versions (`ceph versions`) and the `noout` flag, as check_ceph
reads them (through the lab's `ceph` stand-in, which reports the lab's recorded releases: lab/shims/ceph.py); mixed
old and new suites in the APT sources. Not checked: what a lab host cannot have (bootloader, DKMS, LVM, cgroups,
vGPU, storage content, guest configs), nor check_ceph's ceph.conf options.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from . import apt, pvelib as L
from .systemctl import unit_active
from ..pve import corosync, release

USAGE = "USAGE: pve8to9  [--full <boolean>]"
OLD_SUITE, NEW_SUITE = "bookworm", "trixie"
MIN_PVE = (8, 4, 1)
# pve8to9.pm's $ceph_release2code; it wants 19 (Squid) before the upgrade ($ceph_supported_release).
CEPH_RELEASE2CODE = {12: "Luminous", 13: "Mimic", 14: "Nautilus", 15: "Octopus", 16: "Pacific", 17: "Quincy",
                     18: "Reef", 19: "Squid", 20: "Tentacle"}
CEPH_SUPPORTED = 19
# PVE::Ceph::Tools::parse_ceph_version
CEPH_VERSION = re.compile(r"^ceph.*\sv?(\d+(?:\.\d+)+)\s+(?:\(([a-zA-Z0-9]+)\))")
# PVE runs /usr/bin/ceph; on a lab host the lab's stand-in answers for the release (lab/shims/ceph.py).
CEPH = "/usr/local/sbin/ceph"
APT = Path("/etc/apt")


class Checklist:
    def __init__(self):
        self.counters = {"pass": 0, "skip": 0, "warn": 0, "fail": 0}
        self.first = True
        self.upgraded = False  # $upgraded: proxmox-ve is already 9

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
    upgraded = c.upgraded = numbers[0] > MIN_PVE[0]
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


def ceph(args: list[str]) -> str | None:
    """stdout of `ceph ARGS` on this host, None when it fails."""
    res = L.run([CEPH, *args], check=False, timeout=60)
    return res.stdout if res.returncode == 0 else None


def local_ceph_version() -> int | None:
    """PVE::Ceph::Tools::get_local_version: the major of `ceph --version`'s first line."""
    found = CEPH_VERSION.search((ceph(["--version"]) or "").split("\n")[0])
    return int(found.group(1).split(".")[0]) if found else None


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
    noout_wanted = True
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
    number = local_ceph_version()
    wanted, wanted_name = CEPH_SUPPORTED, CEPH_RELEASE2CODE[CEPH_SUPPORTED]
    if number is None:
        c.log("fail", "unable to determine local Ceph version!")
    elif number == wanted:
        c.log("pass", f"found expected Ceph {wanted} {wanted_name} release.")
    elif number > wanted:
        c.log("warn", f"found newer Ceph release {number} {CEPH_RELEASE2CODE.get(number, 'unknown')} as the expected "
                      f"{wanted} {wanted_name}, installed third party repos?!")
    else:
        c.log("fail", f"Hyper-converged Ceph {number} {CEPH_RELEASE2CODE.get(number, 'unknown')} is to old for upgrade!\n"
                      f"      Upgrade Ceph first to {wanted_name} following our how-to:\n"
                      "      <https://pve.proxmox.com/wiki/Category:Ceph_Upgrade>")
    c.log("info", "getting Ceph daemon versions..")
    try:
        versions = json.loads(ceph(["versions", "--format", "json"]) or "null")
    except ValueError:
        versions = None
    if not versions:
        c.log("fail", "unable to determine Ceph daemon versions!")
    else:
        noout_wanted = check_ceph_versions(c, versions)
    if noout:
        if noout_wanted:
            c.log("pass", "'noout' flag set to prevent rebalancing during cluster-wide upgrades.")
        else:
            c.log("warn", "'noout' flag set, Ceph cluster upgrade seems finished.")
    elif noout_wanted:
        c.log("warn", "'noout' flag not set - recommended to prevent rebalancing during upgrades.")
    if number is None:
        c.log("fail", "unable to determine local Ceph version.")
    elif number <= 14:
        c.log("fail", "local Ceph version too low, at least Octopus required..")


def check_ceph_versions(c: Checklist, versions: dict) -> bool:
    """The daemon types' running versions as check_ceph weighs them; whether 'noout' is still wanted."""
    simple, commits = {}, {}
    for kind, counts in versions.items():
        for full in counts:
            found = re.match(r"^(.*) \((.*)\).*\(.*\)$", full)
            if found:
                simple.setdefault(kind, set()).add(found.group(1))
                commits.setdefault(kind, set()).add(found.group(2))
    for key, name in (("mon", "monitor"), ("mgr", "manager"), ("mds", "MDS"), ("osd", "OSD")):
        if key not in simple:
            c.log("skip", f"unable to determine versions of running Ceph {name} instances.")
        elif len(simple[key]) == 1:
            c.log("pass", f"single running version detected for daemon type {name}.")
        else:
            c.log("warn", f"multiple running versions detected for daemon type {name}!")
        if len(commits.get(key, ())) > 1:
            c.log("info", f"different builds of same version detected for an {name}. Are you in the middle of the upgrade?")
    overall = versions.get("overall")
    if not overall:
        c.log("warn", "unable to determine overall Ceph daemon versions!")
    elif len(overall) == 1:
        c.log("pass", "single running overall version detected for all Ceph daemon types.")
        return not c.upgraded  # off post-upgrade, on pre-upgrade
    elif len(simple.get("overall", ())) != 1:
        c.log("warn", "overall version mismatch detected, check 'ceph versions' output for details!")
    return True


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
