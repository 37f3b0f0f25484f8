"""Run commands on the nodes with the system ssh client (pinned host keys, batch mode)."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from models.cluster import Node


@dataclass(frozen=True)
class Ssh:
    key: Path
    known_hosts: Path

    def _argv(self, node: Node) -> list[str]:
        return ["ssh", "-i", str(self.key), "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-p", str(node.ssh_port), f"root@{node.management_address}"]

    def command(self, node: Node, command: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([*self._argv(node), command], capture_output=True, text=True, timeout=timeout)
