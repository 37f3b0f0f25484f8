"""A fresh lab for the end-to-end tests, and the real engine driven on it through `python -m deploy`.

The package has its own file backend, so the tests never touch the repo's .pulumi-state.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.conftest import Lab, lab_cli

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "Pulumi.lab.yaml"
PASSPHRASE = "proxmox-ha-lab"


def deploy(operation: str, *flags: str, timeout: float = 1500, path: str | None = None) -> subprocess.CompletedProcess:
    from lab.common import Paths

    env = {**os.environ, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, **({"PATH": path} if path else {})}
    return subprocess.run(
        [sys.executable, "-m", "deploy", operation, "--stack", "lab", "--config-file", str(Paths().root / "Pulumi.lab.yaml"), *flags],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env,
    )


def deploy_popen(operation: str, log: Path) -> subprocess.Popen:
    from lab.common import Paths

    return subprocess.Popen(
        [sys.executable, "-m", "deploy", operation, "--stack", "lab", "--config-file", str(Paths().root / "Pulumi.lab.yaml")],
        cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE},
    )


def bare_lab() -> Lab:
    """Three bare hosts and an empty stack: `lab down`, `lab up`, the stack file, no resources in state."""
    from lab.common import Paths

    lab_cli("down", check=False)
    lab_cli("up")
    lab_cli("stack-config", str(STACK))  # a new lab: the stack's state of the old one is dropped
    return Lab(json.loads(Paths().lab_json.read_text()))


@pytest.fixture(scope="package", autouse=True)
def engine_backend(tmp_path_factory):
    before = os.environ.get("PULUMI_BACKEND_URL")
    os.environ["PULUMI_BACKEND_URL"] = f"file://{tmp_path_factory.mktemp('engine-state')}"
    yield Path(os.environ["PULUMI_BACKEND_URL"].removeprefix("file://"))
    if before is None:
        os.environ.pop("PULUMI_BACKEND_URL")
    else:
        os.environ["PULUMI_BACKEND_URL"] = before


@pytest.fixture(scope="package")
def fresh_lab(engine_backend):
    """A lab with three bare hosts; down at the end of this package so other packages can bring their own."""
    yield bare_lab()
    lab_cli("down", check=False)


@pytest.fixture
def converged(fresh_lab):
    """The lab stack applied by the engine (a no-op where an earlier test already did it)."""
    result = deploy("up")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return fresh_lab
