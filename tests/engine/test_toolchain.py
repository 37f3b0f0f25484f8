"""bin/pulumi: the user's own CLI where it is new enough, else the pinned one built from Go modules; file backend, secrets."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WRAPPER = ROOT / "bin" / "pulumi"
PINNED = "v" + (ROOT / "tools" / "pulumi-version").read_text().strip()


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


@pytest.mark.parametrize("version, chosen", [("v3.400.0", "the user's"), ("v3.100.0", PINNED)])
def test_wrapper_prefers_the_users_own_cli_at_the_sdks_version_or_newer(project, tmp_path, version, chosen):
    work, env = project
    own = tmp_path / "own-bin"
    own.mkdir()
    (own / "pulumi").write_text(f"#!/bin/sh\n[ \"$1\" = version ] && echo {version} && exit 0\necho \"the user's\"\n")
    (own / "pulumi").chmod(0o755)
    path = f"{WRAPPER.parent}:{own}:{os.environ['PATH']}"  # the wrapper itself on PATH too, as the README has it
    result = pulumi("about" if chosen == "the user's" else "version", cwd=work, env={**env, "PATH": path})
    assert result.returncode == 0 and result.stdout.strip() == chosen, result.stderr


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


FAKE_GO = """#!/bin/bash
# Go as tools/toolchain.sh calls it: an empty module for `mod download -json`, a binary a second after `build -o`.
case "$1 $2" in
  "mod download") if [ "$3" = -json ]; then mkdir -p "$FAKE/module" && echo "{\\"Dir\\": \\"$FAKE/module\\"}"; fi ;;
  "build -trimpath")
    echo build >> "$FAKE/builds"
    sleep 1
    printf '#!/bin/sh\\n' > "$4" && chmod +x "$4" ;;
esac
"""


def test_builds_started_at_once_build_the_cli_once(tmp_path):
    """Parallel test workers may each find the CLI missing: the second waits for the first and takes its binary."""
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "toolchain.sh", tmp_path / "tools")
    (tmp_path / "tools" / "pulumi-version").write_text("3.999.0\n")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "go").write_text(FAKE_GO)
    (tmp_path / "bin" / "go").chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "FAKE": str(tmp_path),
           "PROXMOX_HA_CACHE": str(tmp_path / "cache")}
    builds = [subprocess.Popen([str(tmp_path / "tools" / "toolchain.sh"), "build"], env=env, stderr=subprocess.PIPE,
                               text=True) for _ in range(2)]
    said = [build.communicate(timeout=60)[1] for build in builds]
    assert [build.returncode for build in builds] == [0, 0], said
    assert (tmp_path / "builds").read_text() == "build\n", said
    assert os.access(tmp_path / "cache" / "toolchain" / "pulumi-v3.999.0" / "bin" / "pulumi", os.X_OK)
    assert sum("cached at" in s for s in said) == 1, said
