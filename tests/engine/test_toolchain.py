"""The pinned CLI built from Go modules, run through bin/pulumi: version, offline plugins, file backend, secrets."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WRAPPER = ROOT / "bin" / "pulumi"
PINNED = re.search(r"^PULUMI_VERSION=(\S+)", (ROOT / "tools" / "toolchain.sh").read_text(), re.M).group(1)


def pulumi(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(WRAPPER), *args, "--non-interactive"], cwd=cwd, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def project(tmp_path):
    """A copy of the project's Pulumi.yaml with its own file backend, so tests never touch the repo's state."""
    work = tmp_path / "project"
    work.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", work)
    env = {"PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}", "PULUMI_CONFIG_PASSPHRASE": "unit-test-passphrase",
           "PULUMI_HOME": str(tmp_path / "home")}
    (tmp_path / "state").mkdir()
    return work, env


def test_wrapper_runs_the_pinned_cli(project):
    work, env = project
    result = pulumi("version", cwd=work, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == PINNED


def test_plugins_are_never_downloaded(project):
    work, env = project
    result = pulumi("plugin", "ls", cwd=work, env=env)
    assert result.returncode == 0, result.stderr
    assert "downloading" not in (result.stdout + result.stderr).lower()


def test_secrets_are_encrypted_in_the_stack_file(project):
    work, env = project
    assert pulumi("stack", "init", "ci", cwd=work, env=env).returncode == 0
    secret = "PBS-PASSWORD-THAT-MUST-NOT-LEAK"
    result = pulumi("config", "set", "--secret", "proxmox-ha:pbsPassword", secret, cwd=work, env=env)
    assert result.returncode == 0, result.stderr
    stack_file = (work / "Pulumi.ci.yaml").read_text()
    assert secret not in stack_file and "secure:" in stack_file
    shown = pulumi("config", "get", "proxmox-ha:pbsPassword", cwd=work, env=env)
    assert shown.stdout.strip() == secret
    wrong = pulumi("config", "get", "proxmox-ha:pbsPassword", cwd=work, env={**env, "PULUMI_CONFIG_PASSPHRASE": "wrong"})
    assert wrong.returncode != 0 and secret not in wrong.stdout
