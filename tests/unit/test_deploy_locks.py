"""A killed run's lock: only a lock of this machine whose process is gone is a leftover; anything else is not ours."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import time

from deploy import locks


def lock(backend, pid: int, hostname: str | None = None) -> None:
    folder = backend / ".pulumi" / "locks" / "organization" / "proxmox-ha" / "lab"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"lock-{pid}.json").write_text(json.dumps({"pid": pid, "username": "root",
                                                         "hostname": hostname or socket.gethostname()}))


def dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def test_only_a_dead_local_process_lock_is_stale(tmp_path):
    url = f"file://{tmp_path}?no_tmp_dir=true"
    assert locks.stale(url, "proxmox-ha", "lab") is None  # no lock
    pid = dead_pid()
    lock(tmp_path, pid)
    assert locks.stale(url, "proxmox-ha", "lab") == [pid]
    assert locks.stale("s3://bucket", "proxmox-ha", "lab") is None
    lock(tmp_path, os.getpid())  # a run going on now
    assert locks.stale(url, "proxmox-ha", "lab") is None


def test_another_machines_lock_is_left_alone(tmp_path):
    lock(tmp_path, dead_pid(), hostname="elsewhere")
    assert locks.stale(f"file://{tmp_path}", "proxmox-ha", "lab") is None


def test_a_killed_engine_not_yet_reaped_is_gone(tmp_path):
    """A zombie (exited, its parent has not waited for it yet) holds no lock: the next run may take over."""
    zombie = subprocess.Popen(["true"])
    try:
        while open(f"/proc/{zombie.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
            time.sleep(0.01)
        lock(tmp_path, zombie.pid)
        assert locks.stale(f"file://{tmp_path}", "proxmox-ha", "lab") == [zombie.pid]
    finally:
        zombie.wait()
