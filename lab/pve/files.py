"""PVE's config files as the lab keeps them under a /etc/pve directory: the section-config format
(storage.cfg, ha/*.cfg, jobs.cfg), atomic writes, and the vmlist pmxcfs builds from the guests' config files.
The API (lab/api) and the shims (lab/shims) both use these; this module imports neither."""
from __future__ import annotations

import contextlib
import fcntl
import os
from collections import OrderedDict
from pathlib import Path

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


@contextlib.contextmanager
def locked(pve_dir: Path, name: str):
    """The flock on PVE_DIR/priv/lock/NAME.lock that pvelib.cfs_lock takes too (pmxcfs's cfs_lock_* stand-in)."""
    d = pve_dir / "priv" / "lock"
    d.mkdir(parents=True, exist_ok=True)
    with open(d / f"{name}.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
