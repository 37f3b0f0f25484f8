"""Waiting on the lab's cluster, read with the program's own probes (remote/probes.py); the secrets the lab
stack hands the program, and every command line this machine ran meanwhile."""
from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

from lab.common import DEFAULT_HOSTS
from remote import probes
from remote.step import probe

NODES = DEFAULT_HOSTS  # the lab stack's nodes (Pulumi.lab.yaml)


def wait_until(what: str, condition, timeout: float = 120, interval: float = 1):
    """The tests' one wait: polls `condition` until it returns something true, and returns that."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
    return value


def quorum(lab, node: str) -> tuple[bool, int]:
    """Quorate, and the votes, as `node` counts them (not quorate and 0 when it cannot say)."""
    said = lab.ssh(node, probe(f"{probes.TOTAL_VOTES}; {probes.QUORATE}"))
    return said.returncode == 0, int(said.stdout) if said.stdout.strip().isdigit() else 0


def pgs_clean(lab) -> bool:
    return lab.ssh("pve1", probe(probes.ALL_PGS_CLEAN)).returncode == 0


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
