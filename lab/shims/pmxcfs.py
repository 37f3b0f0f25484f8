"""Lab shim for `pmxcfs -l` (pve-cluster's cluster filesystem in local mode), and the pmxcfs side of a lab host that
`systemctl ... pve-cluster` and `killall` use too.

/etc/pve is a bind mount in the host's mount namespace: of the lab's shared directory (the cluster's database) or,
once the host ran `pmxcfs -l`, of its private copy STATE/hosts/HOST/pve-db, for good (Paths.pve_source). pve-cluster
is the lab.pmxcfs loop over that mount (pidfile pmxcfs.pid); `pmxcfs -l` leaves a `lab.pmxcfs --local` process
(pmxcfs-local.pid) that syncs nothing. Both are named `pmxcfs`. As pve-cluster src/pmxcfs/pmxcfs.c main(): one
pmxcfs per node (its lock), and /etc/pve is the empty directory beneath while none runs.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..common import Paths, kill_pid, mounted, read_pid, wait_until
from ..pmxcfs import NAME
from . import pvelib as L

HELP = """pmxcfs -l   (proxmox-ha lab shim)

Stands in for pve-cluster's pmxcfs in local mode (-l: ignore corosync.conf, force quorum). It binds this
host's own copy of the cluster's /etc/pve (made from the cluster's at the first -l) and keeps it for good.
pve-cluster itself is `systemctl start|stop pve-cluster`; `killall pmxcfs` ends either.
"""

PVE = Path("/etc/pve")
SERVICE, LOCAL = "pmxcfs", "pmxcfs-local"  # pidfile names: pve-cluster's loop, `pmxcfs -l`
# pmxcfs.c: the flock of /var/lib/pve-cluster/.pmxcfs.lockfile is tried 10 more times, a second apart.
LOCK_TRIES, LOCK_WAIT = 10, 1.0
JOB_FAILED = ("Job for pve-cluster.service failed because the control process exited with error code.\n"
              "See \"systemctl status pve-cluster.service\" and \"journalctl -xeu pve-cluster.service\" for details.")


def _paths() -> tuple[Paths, str]:
    info = L.host_info()
    return Paths(Path(info["state_dir"])), info["name"]


def pid(label: str) -> int | None:
    """The live pmxcfs process of this host under pidfile LABEL.pid."""
    found = read_pid(L.host_dir() / "pids" / f"{label}.pid")
    return found if found and L.host_process_name(found) == NAME else None


def running() -> list[int]:
    return [p for p in (pid(SERVICE), pid(LOCAL)) if p]


def take_lock(say) -> bool:
    """pmxcfs.c main(): one pmxcfs per node; `say` gets its messages when another one holds the lock."""
    for left in range(LOCK_TRIES, -1, -1):
        if not running():
            return True
        if left == LOCK_TRIES:
            say("[main] notice: unable to acquire pmxcfs lock - trying again")
        if left:
            time.sleep(LOCK_WAIT)
    say("[main] crit: unable to acquire pmxcfs lock: Resource temporarily unavailable")
    say("[main] notice: exit proxmox configuration filesystem (-1)")
    return False


def unmount() -> None:
    """/etc/pve back to the empty directory beneath. Lazily: a request in flight keeps the files it has open."""
    while mounted(PVE):
        L.run(["umount", "--lazy", str(PVE)])


def bind(src: Path) -> None:
    """/etc/pve shows `src`; an earlier mount goes first (pmxcfs.c unmounts /etc/pve before its own mount)."""
    if mounted(PVE) and os.path.samefile(PVE, src):
        return
    unmount()
    L.run(["mount", "--bind", str(src), str(PVE)])


def spawn(label: str, args: list[str], log: str) -> bool:
    """A detached lab.pmxcfs process of this host with its pidfile; True once it runs under pmxcfs's name."""
    logs, pidfile = L.host_dir() / "logs", L.host_dir() / "pids" / f"{label}.pid"
    logs.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{log}.log", "ab") as logf:
        p = subprocess.Popen([sys.executable, "-m", "lab.pmxcfs", *args], stdin=subprocess.DEVNULL, stdout=logf,
                             stderr=subprocess.STDOUT, start_new_session=True, close_fds=True, cwd="/",
                             env={**L.SERVICE_ENVIRONMENT, "PYTHONPATH": L.host_info()["repo"]})
    pidfile.write_text(f"{p.pid}\n")
    wait_until(lambda: p.poll() is not None or pid(label), 10, 0.02)
    if pid(label):
        return True
    pidfile.unlink(missing_ok=True)
    return False


def service_start() -> None:
    """`systemctl start pve-cluster`: this host's database on /etc/pve, then the loop."""
    if pid(SERVICE):
        return
    log = L.host_dir() / "logs" / "pve-cluster.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f:
        if not take_lock(lambda line: print(line, file=f, flush=True)):
            raise L.PVEError(JOB_FAILED, 1)
    paths, name = _paths()
    bind(paths.pve_source(name))
    if not spawn(SERVICE, [], "pve-cluster"):
        unmount()
        raise L.PVEError(JOB_FAILED, 1)


def service_stop() -> None:
    """`systemctl stop pve-cluster`: the loop ends and /etc/pve is unmounted, unless `pmxcfs -l` holds it."""
    found = pid(SERVICE)
    if found:
        kill_pid(found)
    (L.host_dir() / "pids" / f"{SERVICE}.pid").unlink(missing_ok=True)
    if not running():
        unmount()


def local_database() -> Path:
    """The host's private database; the first `pmxcfs -l` makes it, a copy of the cluster's as it is now."""
    paths, name = _paths()
    own = paths.pve_db(name)
    if not own.is_dir():
        tmp = own.with_name(own.name + ".new")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(paths.pve, tmp, symlinks=True)
        tmp.rename(own)
    return own


@L.shim_main
def main(argv):
    if argv in (["-h"], ["--help"]):
        print(HELP)
        return 0
    if argv not in (["-l"], ["--local"]):
        raise L.PVEError("pmxcfs: the lab only has local mode (`pmxcfs -l`); pve-cluster is "
                         "`systemctl start pve-cluster`", 1)
    L.host_info()
    if not take_lock(L.warn):
        return 255
    bind(local_database())
    if (PVE / "corosync.conf").exists():
        L.warn("[main] notice: forcing local mode (although corosync.conf exists)")
    if not spawn(LOCAL, ["--local"], "pmxcfs"):
        unmount()
        raise L.PVEError("[main] crit: lab: the local-mode pmxcfs did not start (see its pmxcfs.log)", 255)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
