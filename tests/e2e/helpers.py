"""Waiting on the lab's cluster: quorum as `pvecm status` reports it, PGs as `ceph pg stat` does; the secrets
the lab stack hands the program, and every command line this machine ran meanwhile."""
from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

from lab.common import DEFAULT_HOSTS

NODES = DEFAULT_HOSTS  # the lab stack's nodes (Pulumi.lab.yaml)


def wait_until(what: str, condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(1)


def quorum(lab, node: str) -> tuple[bool, int]:
    out = lab.ssh(node, "pvecm status").stdout
    total = re.search(r"^Total votes:\s+(\d+)", out, re.M)
    return bool(re.search(r"^Quorate:\s+Yes", out, re.M)), int(total.group(1)) if total else 0


def pgs_clean(lab) -> bool:
    out = lab.ssh("pve1", "ceph pg stat").stdout
    match = re.search(r"(\d+) pgs: (\d+) active\+clean;", out)
    return bool(match) and match.group(1) == match.group(2)


def lab_secrets(lab) -> dict[str, str]:
    """Each secret of the lab stack (a distinctive part of it), the exporter's token once `up` made it."""
    info = lab.info
    key_body = "".join(Path(info["ssh"]["private_key"]).read_text().splitlines()[1:-1])
    found = {
        "SSH private key": key_body[120:160],
        "API token": Path(info["api"]["token_file"]).read_text().strip().split("=", 1)[1],
        "PBS password": Path(info["pbs"]["password_file"]).read_text().strip(),
    }
    exporter = re.search(r"^monitoring@pve!exporter (\S+)", lab.ok("pve1", "cat /etc/pve/priv/token.cfg 2>/dev/null || true"), re.M)
    if exporter:
        found["exporter token"] = exporter.group(1)
    return found


def command_lines_while(process: subprocess.Popen) -> set[str]:
    """Every distinct process command line (/proc/PID/cmdline) seen until `process` ends, sampled back to back."""
    seen: set[str] = set()
    while process.poll() is None:
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    seen.add(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
                except OSError:
                    pass  # ended meanwhile
    return seen
