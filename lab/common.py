"""Fixed facts of the embedded lab and small helpers shared by the CLI modules.

Only the Python standard library is used so that `python3 -m lab` works anywhere.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

LAB_PKG = Path(__file__).resolve().parent
REPO_ROOT = LAB_PKG.parent

# A lab's slot: 0 unless PROXMOX_HA_LAB_SLOT names another. Labs in different slots run side by side (`make test`
# runs two): each has its own state directory, bridges, subnets, links and network namespaces.
_slot = os.environ.get("PROXMOX_HA_LAB_SLOT") or "0"
if _slot not in [str(n) for n in range(10)]:
    raise SystemExit(f"lab: PROXMOX_HA_LAB_SLOT={_slot} is not a slot (0 to 9)")
SLOT = int(_slot)


def prefixes(slot: int) -> tuple[str, str]:
    """The first three octets of a slot's management and storage subnets."""
    return f"10.254.{10 + slot}", f"10.254.{100 + slot}"


MGMT_PREFIX, STORAGE_PREFIX = prefixes(SLOT)

# Every host the lab can run; a lab runs the first N of them (3 by default, `lab up --hosts N` grows it).
ALL_HOSTS = ("pve1", "pve2", "pve3", "pve4", "pve5")
DEFAULT_HOST_COUNT = 3
DEFAULT_HOSTS = ALL_HOSTS[:DEFAULT_HOST_COUNT]  # the hosts of a lab that was never grown (and Pulumi.lab.yaml's nodes)
# A plain Debian machine on the management network for corosync-qnetd (a QDevice), with no PVE on it.
QNETD_HOST = "qnetd"
QNETD_ADDR = f"{MGMT_PREFIX}.40"
# Its sshd listens on a port other than 22, as on a hardened machine: PVE's `pvecm qdevice setup` has no port
# option, so the program must make that port work.
QNETD_SSH_PORT = 2222
# A plain Debian machine on the management network for Prometheus and Alertmanager (Debian's packages), with no PVE on it.
MONITOR_HOST = "monitor"
MONITOR_ADDR = f"{MGMT_PREFIX}.60"
MONITOR_SSH_PORT = 22
# Where Debian's prometheus-alertmanager listens unless its ARGS say otherwise (--web.listen-address=:9093).
ALERTMANAGER_PORT = 9093
PROMETHEUS_PORT = 9090
# The lab stack's Alertmanager posts its notifications here, this machine on the management bridge (a test listens).
ALERT_RECEIVER_PORT = 9095
# The lab's Debian machines (no PVE): a management port only, Debian's commands only (STATE/bin-debian).
DEBIAN_HOSTS = (QNETD_HOST, MONITOR_HOST)
MGMT_BRIDGE = f"phalab{2 * SLOT}"
STORAGE_BRIDGE = f"phalab{2 * SLOT + 1}"
MGMT_NET = f"{MGMT_PREFIX}.0/24"
STORAGE_NET = f"{STORAGE_PREFIX}.0/24"
MGMT_GW = f"{MGMT_PREFIX}.1"
STORAGE_GW = f"{STORAGE_PREFIX}.1"
DOMAIN = "lab.local"
CLUSTER_NAME = "lab-cluster"
LAB_GUEST = 100  # the VM on pve1 that the lab stack puts under HA
OSD_DISK_SIZE = 10 * 1024 ** 3  # sparse: only written blocks use space
# The Debian hosts (qnetd, monitor): only these stand in for their own commands (no systemd, no network for apt).
DEBIAN_SHIMS = ("systemctl", "apt-get", "apt", "dpkg-query")
SHIMS = ("pvecm", "pveceph", "pvesm", "ha-manager", "systemctl", "pvenode", "pveum", "pvesh", "qm", "apt-get", "apt", "dpkg-query",
         "pveversion", "pmxcfs", "killall", "pve8to9", "reboot", "ceph")

# Paths that each host overlays/replaces: the state dir must not live below them.
HOST_PRIVATE_PATHS = ("/etc", "/var/lib", "/var/log", "/run", "/dev", "/usr/local/sbin", "/root", "/var/backups", "/opt")


def host_index(name: str) -> int:
    return ALL_HOSTS.index(name) + 1


def lab_hosts(paths: "Paths") -> tuple[str, ...]:
    """The hosts of this lab: as many as the last `lab up --hosts N` asked for."""
    try:
        count = int(paths.host_count.read_text())
    except (OSError, ValueError):
        count = DEFAULT_HOST_COUNT
    return ALL_HOSTS[:count]


def lab_major(paths: "Paths") -> int:
    """The PVE major this lab installs its hosts with: the last `lab up --pve N`, PVE 9 for a new lab."""
    from .pve.release import DEFAULT_MAJOR

    try:
        return int(paths.pve_major.read_text())
    except (OSError, ValueError):
        return DEFAULT_MAJOR


def ssh_port(name: str) -> int:
    return {QNETD_HOST: QNETD_SSH_PORT, MONITOR_HOST: MONITOR_SSH_PORT}.get(name, 22)


def mgmt_addr(name: str) -> str:
    return {QNETD_HOST: QNETD_ADDR, MONITOR_HOST: MONITOR_ADDR}.get(name) or f"{MGMT_PREFIX}.1{host_index(name)}"


def storage_addr(name: str) -> str:
    return f"{STORAGE_PREFIX}.1{host_index(name)}"


def state_dir() -> Path:
    d = Path(os.environ.get("PROXMOX_HA_LAB_DIR") or f"/var/tmp/proxmox-ha-lab{f'-{SLOT}' if SLOT else ''}").resolve()
    for p in HOST_PRIVATE_PATHS:
        if str(d) == p or str(d).startswith(p + "/"):
            raise SystemExit(f"lab: PROXMOX_HA_LAB_DIR={d} must not be below {p} (hosts overlay it)")
    return d


class Paths:
    """Layout of the state directory (see lab/README.md)."""

    def __init__(self, root: Path | None = None):
        self.root = root or state_dir()
        self.ssh = self.root / "ssh"
        self.client_key = self.ssh / "id_ed25519"
        self.known_hosts = self.ssh / "known_hosts"
        self.authorized_keys = self.ssh / "authorized_keys"
        self.pve = self.root / "pve"
        self.bin = self.root / "bin"
        self.bin_debian = self.root / "bin-debian"
        self.logs = self.root / "logs"
        self.disks = self.root / "disks"
        self.hosts = self.root / "hosts"
        self.lab_json = self.root / "lab.json"
        self.wheels = self.root / "wheels"
        self.lab_id = self.pve / ".lab-id"
        self.host_count = self.root / "host-count"
        # The PVE major new hosts are installed with (`lab up --pve`); each host keeps its own record after that.
        self.pve_major = self.root / "pve-major"

    def host(self, name: str) -> Path:
        return self.hosts / name

    def host_key(self, name: str, kind: str = "ed25519") -> Path:
        return self.ssh / f"ssh_host_{kind}_key.{name}"

    def host_pids(self, name: str) -> Path:
        return self.host(name) / "pids"

    def sshd_pidfile(self, name: str) -> Path:
        return self.host_pids(name) / "sshd.pid"

    def disk(self, name: str) -> Path:
        return self.disks / f"{name}-sdb.img"

    def loopfile(self, name: str) -> Path:
        return self.host(name) / "loopdev"

    def pve_db(self, name: str) -> Path:
        """The host's private /etc/pve, made by its first `pmxcfs -l` (lab/shims/pmxcfs.py)."""
        return self.host(name) / "pve-db"

    def pve_source(self, name: str) -> Path:
        """What pve-cluster mounts on the host's /etc/pve: its private database once it has one (a node separated
        from the cluster never sees the cluster's again), else the shared one."""
        own = self.pve_db(name)
        return own if own.is_dir() else self.pve


def log(msg: str) -> None:
    print(f"[lab] {msg}", file=sys.stderr, flush=True)


def run(cmd, check=True, capture=True, timeout=120, input=None, env=None):
    """Run a command (list); returns CompletedProcess with text output."""
    res = subprocess.run(cmd, capture_output=capture, text=True, timeout=timeout,
                         input=input, env=env)
    if check and res.returncode != 0:
        raise RuntimeError(f"command failed ({res.returncode}): {' '.join(map(str, cmd))}\n"
                           f"{res.stdout or ''}{res.stderr or ''}")
    return res


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # zombies count as dead
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def mounted(path: Path) -> bool:
    """Whether something is mounted on `path` in this mount namespace (os.path.ismount misses a bind of a directory
    of the same file system)."""
    target = os.path.abspath(path)
    with open("/proc/self/mountinfo") as f:
        points = (line.split()[4] for line in f)
        return any(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), p) == target for p in points)


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def wait_until(done, timeout: float, interval: float = 0.05) -> bool:
    """Ask done() until it says yes (True) or `timeout` seconds have passed (False); it is asked at least once."""
    deadline = time.time() + timeout
    while not done():
        if time.time() >= deadline:
            return False
        time.sleep(interval)
    return True


def kill_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, wait, then SIGKILL one process by PID."""
    import signal
    if not pid_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if wait_until(lambda: not pid_alive(pid), timeout):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    wait_until(lambda: not pid_alive(pid), 5)


def netns(name: str) -> str:
    """The network namespace of this slot's host `name` (slot 0's keep the bare host names)."""
    return f"s{SLOT}-{name}" if SLOT else name


def netns_exists(name: str) -> bool:
    return Path(f"/run/netns/{netns(name)}").exists()


def netns_pids(name: str) -> list[int]:
    if not netns_exists(name):
        return []
    res = run(["ip", "netns", "pids", netns(name)], check=False)
    return [int(x) for x in res.stdout.split() if x.strip().isdigit()]


def sshd_pid(paths: Paths, name: str) -> int | None:
    pid = read_pid(paths.sshd_pidfile(name))
    if pid and pid_alive(pid):
        return pid
    return None


def load_lab_json(paths: Paths | None = None) -> dict:
    paths = paths or Paths()
    return json.loads(paths.lab_json.read_text())


def ssh_base(paths: Paths, name: str, tty: bool = False) -> list[str]:
    args = ["ssh", "-i", str(paths.client_key),
            "-o", f"UserKnownHostsFile={paths.known_hosts}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"]
    args.append("-t" if tty else "-T")
    args += ["-p", str(ssh_port(name)), f"root@{mgmt_addr(name)}"]
    return args


def ssh(paths: Paths, name: str, command: str, check=True, timeout=300):
    """Run a shell command line on a lab host over SSH."""
    return run(ssh_base(paths, name) + [command], check=check, timeout=timeout)


def nsenter(pid: int, cmd: list[str], check=False, timeout=30):
    """Run a command inside all namespaces of a host (given its sshd PID)."""
    return run(["nsenter", "-t", str(pid), "-a"] + cmd, check=check, timeout=timeout)
