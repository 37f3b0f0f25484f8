"""Run commands and steps on the nodes with the system ssh client (pinned host keys, batch mode)."""
from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from models.cluster import Node

from .step import Step


class StepFailed(RuntimeError):
    def __init__(self, node: str, step: str, code: int):
        super().__init__(f"step '{step}' failed on node {node} (exit {code}); fix the cause shown above and run again: finished steps are skipped")
        self.node, self.step = node, step


@dataclass(frozen=True)
class Ssh:
    key: Path
    known_hosts: Path

    def _argv(self, node: Node) -> list[str]:
        return ["ssh", "-i", str(self.key), "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-p", str(node.ssh_port), f"root@{node.management_address}"]

    def command(self, node: Node, command: str, stdin: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([*self._argv(node), command], input=stdin, capture_output=True, text=True, timeout=timeout)

    def run_step(self, node: Node, step: Step) -> str:
        """Run the step's script on the node; stream its progress; return its stdout (the step's report)."""
        started = time.monotonic()
        result = self.command(node, "bash -s", stdin=step.script())
        for line in result.stderr.splitlines():
            print(f"  [{node.name} {step.name}] {line}", file=sys.stderr)
        if result.returncode != 0:
            raise StepFailed(node.name, step.name, result.returncode)
        print(f"  [{node.name} {step.name}] ok in {time.monotonic() - started:.1f}s", file=sys.stderr)
        return result.stdout
