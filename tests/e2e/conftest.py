"""A fresh lab for the end-to-end tests, converged by the program's own remote steps (tools/converge.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.conftest import Lab, lab_cli

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "Pulumi.lab.yaml"


def converge(info: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.converge", str(STACK), "--ssh-key", info["ssh"]["private_key"],
         "--known-hosts", info["ssh"]["known_hosts"]],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="package")
def fresh_lab():
    """A lab with three bare hosts; down at the end of this package so other packages can bring their own."""
    from lab.common import Paths

    lab_cli("down", check=False)
    lab_cli("up")
    yield Lab(json.loads(Paths().lab_json.read_text()))
    lab_cli("down", check=False)
