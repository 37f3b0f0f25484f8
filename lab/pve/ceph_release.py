"""The Ceph release a lab host has installed and each lab Ceph daemon runs, as the lab records them.

The daemons are always Debian's Ceph 16.2.15 (pacific) binaries; what release they stand for is the lab's record:
- installed: `pveceph install --version R` and apt's full-upgrade write the version the host's packages would be,
  in the host's own /var/lib (so each host has its own);
- running: starting a ceph-mon@/ceph-mgr@/ceph-osd@ unit writes the host's installed version beside the unit's pidfile
  (STATE/hosts/HOST/pids/UNIT.ceph-release, seen by every host); stopping it removes it;
- the cluster's require_osd_release: STATE/ceph-require-osd-release, lab-wide.
The `ceph` stand-in (lab/shims/ceph.py) reports them.
"""
from __future__ import annotations

from pathlib import Path

from ..common import pid_alive

# Ceph's release numbers (src/common/ceph_releases.h) and the point release the lab's packages stand for.
RELEASES = {"quincy": "17.2.8", "reef": "18.2.7", "squid": "19.2.3", "tentacle": "20.2.0"}
CODENAMES = {17: "quincy", 18: "reef", 19: "squid", 20: "tentacle"}
INSTALLED = Path("/var/lib/lab-ceph/installed-release")
RUNNING_SUFFIX = ".ceph-release"
REQUIRE_NAME = "ceph-require-osd-release"
DAEMONS = ("ceph-mon", "ceph-mgr", "ceph-osd")


def major(version: str) -> int:
    return int(version.split(".")[0])


def name_of(version: str) -> str:
    return CODENAMES[major(version)]


def version_line(version: str) -> str:
    """As `ceph --version` prints it; the build id (a git commit upstream) says it is the lab's."""
    return f"ceph version {version} (lab{major(version)}standin) {name_of(version)} (stable)"


def installed(path: Path = INSTALLED) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _write(path: Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RELEASES[name] + "\n")


def install(path: Path, name: str) -> None:
    """`apt install ceph` from a repository of `name`: its packages where none are, never older ones than installed."""
    if installed(path) is None:
        _write(path, name)
    else:
        upgrade(path, name)


def upgrade(path: Path, name: str) -> bool:
    """apt's full-upgrade from a Ceph repository of `name`: a newer release where Ceph is installed, never an older."""
    current = installed(path)
    if current is None or major(RELEASES[name]) <= major(current):
        return False
    _write(path, name)
    return True


def running_record(pids: Path, unit: str) -> Path:
    return pids / f"{unit}{RUNNING_SUFFIX}"


def started(pids: Path, unit: str, installed_version: str | None, state: Path) -> None:
    """A Ceph daemon (DAEMONS) runs the packages installed when it started; a host without the lab's record writes
    none. The first monitor makes the cluster's first OSD map, whose require_osd_release is its own release
    (`ceph-mon --mkfs`)."""
    if installed_version:
        running_record(pids, unit).write_text(installed_version + "\n")
        if unit.startswith("ceph-mon@") and require_osd_release(state) is None:
            set_require_osd_release(state, name_of(installed_version))


def stopped(pids: Path, unit: str) -> None:
    running_record(pids, unit).unlink(missing_ok=True)


def running(hosts: Path) -> dict[tuple[str, str], str]:
    """{("osd", "0"): "19.2.3", ("mon", "pve1"): ...} of every lab host's daemon whose process still runs."""
    found = {}
    for record in sorted(hosts.glob(f"*/pids/*@*{RUNNING_SUFFIX}")):
        unit = record.name[: -len(RUNNING_SUFFIX)]
        try:
            pid = int(record.with_name(f"{unit}.pid").read_text().strip())
            version = record.read_text().strip()
        except (OSError, ValueError):
            continue
        if version and pid_alive(pid) and _runs(pid, unit):
            base, _, ident = unit.partition("@")
            found[(base.removeprefix("ceph-"), ident)] = version
    return found


def _runs(pid: int, unit: str) -> bool:
    """The pidfile's process is the unit's daemon (a PID a stopped lab host left behind may be anyone's now)."""
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return False
    return argv0.endswith(unit.partition("@")[0])


def require_osd_release(state: Path) -> str | None:
    try:
        return (state / REQUIRE_NAME).read_text().strip() or None
    except OSError:
        return None


def set_require_osd_release(state: Path, name: str) -> None:
    (state / REQUIRE_NAME).write_text(name + "\n")
