"""Waiting on the lab's cluster: quorum as `pvecm status` reports it, PGs as `ceph pg stat` does."""
from __future__ import annotations

import re
import time

NODES = ("pve1", "pve2", "pve3")


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
