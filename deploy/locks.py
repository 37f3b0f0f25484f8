"""A run the engine did not finish (killed, the machine lost power) leaves its lock in a file backend, and every
later run stops at "the stack is currently locked". A lock taken on this machine by a process that no longer
exists can only be such a leftover: it is released, as `pulumi cancel` does, so the next `up` finishes the work."""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path


def stale(backend_url: str, project: str, stack: str) -> list[int] | None:
    """The PIDs of the stack's leftover locks when every lock is one, else None (none held, another machine's, or
    a run still going). Only a file backend keeps locks as files."""
    if not backend_url.startswith("file://"):
        return None
    folder = Path(backend_url.removeprefix("file://").split("?", 1)[0]) / ".pulumi" / "locks" / "organization" / project / stack
    pids = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            lock = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if lock.get("hostname") != socket.gethostname() or _alive(int(lock.get("pid", 0))):
            return None
        pids.append(int(lock["pid"]))
    return pids or None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return True  # unknown: never taken for dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed engine not yet reaped (its parent died with it) is a zombie: it has exited and holds nothing.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False
