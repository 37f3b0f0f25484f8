"""PVE's config files as the lab keeps them under a /etc/pve directory: the section-config format
(storage.cfg, ha/*.cfg, jobs.cfg), atomic writes, the guests' config files and the vmlist pmxcfs builds from them,
and the cluster-wide locks.
The API (lab/api) and the shims (lab/shims) both use these; this module imports neither."""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections import OrderedDict
from pathlib import Path

from .errors import PVEError

PVE = Path("/etc/pve")


def parse_section_config(text: str) -> list:
    """-> list of [type, id, OrderedDict(options)]"""
    sections, cur = [], None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            if not line.strip():
                cur = None
            continue
        if not raw[0].isspace() and ":" in line:
            typ, sid = line.split(":", 1)
            cur = [typ.strip(), sid.strip(), OrderedDict()]
            sections.append(cur)
        elif cur is not None:
            parts = line.strip().split(None, 1)
            cur[2][parts[0]] = parts[1] if len(parts) > 1 else ""
    return sections


def format_section_config(sections) -> str:
    out = []
    for typ, sid, opts in sections:
        out.append(f"{typ}: {sid}")
        for k, v in opts.items():
            out.append(f"\t{k} {v}".rstrip() if v != "" else f"\t{k}")
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


def read_sections(path: Path) -> list:
    try:
        return parse_section_config(path.read_text())
    except FileNotFoundError:
        return []


def write_file_atomic(path: Path, text: str, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    if mode is not None:
        os.chmod(tmp, mode)
    tmp.replace(path)


GUEST_DIRS = {"qemu": "qemu-server", "lxc": "lxc"}


def vmlist(pve_dir: Path | None = None) -> dict[str, dict]:
    """{vmid: {"node", "type"}} from nodes/*/qemu-server|lxc/VMID.conf, as pmxcfs builds PVE's vmlist."""
    found = {}
    for kind, sub in GUEST_DIRS.items():
        for conf in sorted(((pve_dir or PVE) / "nodes").glob(f"*/{sub}/*.conf")):
            found[conf.stem] = {"node": conf.parent.parent.name, "type": kind}
    return found


def parse_guest_conf(text: str) -> dict[str, str]:
    """The current config of a guest's VMID.conf (`key: value` lines before any [snapshot] section)."""
    conf = {}
    for line in text.splitlines():
        if line.startswith("["):
            break
        if ": " in line and not line.startswith("#"):
            key, value = line.split(": ", 1)
            conf[key] = value
    return conf


@contextlib.contextmanager
def locked(pve_dir: Path, name: str, timeout: float | None = None):
    """The flock on PVE_DIR/priv/lock/NAME.lock (pmxcfs's cfs_lock_* stand-in) that the API, the shims and the HA
    daemons all take. With a timeout, PVE's lock timeout error once it passes; without one, wait as long as it takes."""
    d = pve_dir / "priv" / "lock"
    d.mkdir(parents=True, exist_ok=True)
    with open(d / f"{name}.lock", "a+") as held:
        deadline = None if timeout is None else time.time() + timeout
        while True:
            try:
                fcntl.flock(held, fcntl.LOCK_EX | (0 if deadline is None else fcntl.LOCK_NB))
                break
            except BlockingIOError:
                if time.time() > deadline:
                    raise PVEError(f"trying to acquire cfs lock '{name}' ...\ngot lock request timeout", 255)
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
