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

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
STACK = REPO / "Pulumi.lab.yaml"
PASSPHRASE = "proxmox-ha-lab"


# What the last successful `up` of the lab stack applied (its stack file and hosts), or None once a test changed the
# lab otherwise: `converged` skips its `up` while both still hold, a no-op up being ~12 s.
_applied: dict[str, str | None] = {"lab": None}


def _lab_now() -> str:
    from lab.common import Paths

    paths = Paths()
    return (paths.root / "Pulumi.lab.yaml").read_text() + paths.lab_json.read_text()


def lab_changed() -> None:
    """The lab is no longer known to be the stack as applied: the next `converged` runs `up` again."""
    _applied["lab"] = None


def deploy(operation: str, *flags: str, timeout: float = 1500, path: str | None = None,
           preview: bool = False) -> subprocess.CompletedProcess:
    """`python -m deploy OPERATION` on the lab stack; an `up` skips the plan unless `preview` (deploy_popen shows it)."""
    from lab.common import Paths

    env = {**os.environ, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, **({"PATH": path} if path else {})}
    skip = ["--skip-preview"] if operation == "up" and not preview else []
    result = subprocess.run(
        [sys.executable, "-m", "deploy", operation, "--stack", "lab", "--config-file", str(Paths().root / "Pulumi.lab.yaml"),
         *skip, *flags],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env,
    )
    if operation == "up" and result.returncode == 0 and path is None and "--config-file" not in flags:
        _applied["lab"] = _lab_now()
    elif operation in ("up", "destroy"):
        lab_changed()
    return result


def deploy_popen(operation: str, log: Path) -> subprocess.Popen:
    from lab.common import Paths

    lab_changed()
    return subprocess.Popen(
        [sys.executable, "-m", "deploy", operation, "--stack", "lab", "--config-file", str(Paths().root / "Pulumi.lab.yaml")],
        cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE},
    )


def bare_lab(hosts: int = 3, pve: int | None = None) -> Lab:
    """`hosts` bare hosts (PVE `pve`, the lab's default if None) and an empty stack written for them: `lab down`,
    `lab up`, the stack file, no resources in state."""
    from lab.common import Paths

    lab_changed()
    lab_cli("down", check=False)
    lab_cli("up", "--hosts", str(hosts), *(("--pve", str(pve)) if pve else ()))
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
def own_lab(engine_backend):
    """`bare_lab`, for a test that needs a lab of another shape (marked own_lab): down after the test."""
    yield bare_lab
    lab_cli("down", check=False)


@pytest.fixture
def converged(fresh_lab):
    """The lab stack applied by the engine: `up`, unless the last one applied this stack file to these hosts and no
    test has changed the lab since."""
    if _applied["lab"] != _lab_now():
        result = deploy("up")
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return fresh_lab


def pytest_collection_modifyitems(items):
    """The tests that build a lab of their own shape (marker own_lab) run after the rest of this package, so the
    tests before them share the PVE 9 cluster the first up (test_bare_up.py) formed."""
    own = [item for item in items if item.path.parent == HERE and item.get_closest_marker("own_lab")]
    rest = [item for item in items if item not in own]
    last = max((i for i, item in enumerate(rest) if item.path.parent == HERE), default=len(rest) - 1)
    items[:] = rest[:last + 1] + own + rest[last + 1:]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test may have left the lab half-changed: the next test that needs it converged applies the stack."""
    report = (yield).get_result()
    if report.failed:
        lab_changed()
