"""The pinned CLI built from Go modules, run through bin/pulumi: version, offline plugins, file backend, secrets."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
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


# An inline program that needs the command plugin, previewed with an empty plugin cache and no stand-ins on
# PATH; argv[2] says whether the engine gets the project's environment or that without the acquisition switch.
MISSING_PLUGIN_PREVIEW = """
import os, sys, tempfile
sys.path.insert(0, sys.argv[1])
from pulumi import automation as auto
import pulumi_command
from deploy import driver

tmp = tempfile.mkdtemp()
os.mkdir(f"{tmp}/state")
env = {k: v for k, v in driver.engine_env().items() if sys.argv[2] == "project" or k != "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"}
env.update(PULUMI_BACKEND_URL=f"file://{tmp}/state", PULUMI_HOME=f"{tmp}/home", PULUMI_CONFIG_PASSPHRASE="probe",
           PATH="/usr/local/bin:/usr/bin:/bin")
cli = auto.PulumiCommand(root=str(driver.toolchain_root()))
stack = auto.create_or_select_stack("probe", project_name="probe", program=lambda: pulumi_command.local.Command("probe", create="true"),
                                    opts=auto.LocalWorkspaceOptions(env_vars=env, work_dir=tmp, pulumi_command=cli))
try:
    stack.preview()
except auto.errors.CommandError as error:
    print(error)
"""


def _preview_without_the_plugin(mode: str) -> str:
    # No route anywhere: a fresh network namespace with only its loopback up (the engine talks to the program there).
    done = subprocess.run(["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"',
                           sys.executable, "-c", MISSING_PLUGIN_PREVIEW, str(ROOT), mode],
                          capture_output=True, text=True, timeout=300)
    return done.stdout + done.stderr


def test_the_engine_never_downloads_a_missing_plugin():
    said = _preview_without_the_plugin("project")
    assert "no resource plugin 'pulumi-resource-command' found in the workspace at version v1.2.1 or on your $PATH" in said, said
    assert "download" not in said.lower()
    # Without the project's switch the same engine does try (and here, with no network, fails to).
    assert "Could not automatically download and install resource plugin 'pulumi-resource-command'" in _preview_without_the_plugin("default")


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
