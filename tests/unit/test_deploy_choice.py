"""The driver's choice of CLI and provider plugins (deploy/cli.py, deploy/plugins.py), against fake CLIs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from deploy import cli, plugins


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def fake_cli(tmp_path):
    """A pulumi whose plugin cache is empty and whose `plugin install` fails as it does offline (or succeeds)."""
    calls = tmp_path / "calls"

    def make(install_ok: bool) -> Path:
        install = "exit 0" if install_ok else "echo 'error: dial tcp: lookup get.pulumi.com: no such host' >&2; exit 1"
        return _script(tmp_path / "cli" / "bin" / "pulumi", "\n".join([
            f'echo "$*" >> {calls}',
            'case "$1 $2" in',
            '  "plugin ls") echo "[]" ;;',
            f'  "plugin install") {install} ;;',
            "esac"]))
    make.calls = calls
    return make


def test_missing_plugins_are_installed_as_pulumi_does(fake_cli, monkeypatch):
    monkeypatch.delenv(plugins.STAND_INS_FOR, raising=False)
    path, lines = plugins.choose(fake_cli(True), {}, "/usr/bin:/bin", "homelab")
    assert path == "/usr/bin:/bin"
    assert lines == ["command 1.2.1: the released plugin (installed now with `pulumi plugin install`)",
                     "proxmoxve 8.6.0: the released plugin (installed now with `pulumi plugin install`)"]
    assert fake_cli.calls.read_text().splitlines()[1:] == ["plugin install resource command 1.2.1",
                                                           "plugin install resource proxmoxve 8.6.0"]


def test_no_stand_in_for_a_stack_not_named(fake_cli, monkeypatch):
    monkeypatch.setenv(plugins.STAND_INS_FOR, "lab")
    with pytest.raises(plugins.PluginsMissing, match=r"could not be downloaded \(error: dial tcp: lookup get.pulumi.com"):
        plugins.choose(fake_cli(False), {}, "/usr/bin:/bin", "homelab")


def test_the_stand_ins_serve_only_the_named_stacks(fake_cli, monkeypatch, tmp_path):
    monkeypatch.setenv(plugins.STAND_INS_FOR, "lab, staging")
    real = _script(tmp_path / "real" / "pulumi-resource-proxmoxve", "exit 0")
    path, lines = plugins.choose(fake_cli(False), {}, f"{real.parent}:/usr/bin", "staging")
    chosen = Path(path.split(os.pathsep)[0])
    assert (chosen / "pulumi-resource-command").resolve() == (plugins.STAND_INS / "pulumi-resource-command").resolve()
    assert not (chosen / "pulumi-resource-proxmoxve").exists()  # the released one on PATH wins
    assert lines[1] == f"proxmoxve 8.6.0: the released plugin ({real})"
    assert "install" not in fake_cli.calls.read_text()


@pytest.mark.parametrize("said, taken", [("v3.400.0", True), (f"v{cli.MINIMUM}", True), ("v3.100.0", False), ("", False)])
def test_the_users_cli_is_taken_at_the_sdks_version_or_newer(tmp_path, said, taken):
    own = _script(tmp_path / "bin" / "pulumi", f"echo {said}")
    found = cli.installed(f"{cli.WRAPPER.parent}:{own.parent}:/usr/bin")
    assert (found is not None) is taken
    if taken:
        assert found[0] == own and cli.root(own) == tmp_path


def test_the_repos_own_wrapper_is_never_the_users_cli():
    assert cli.installed(str(cli.WRAPPER.parent)) is None


def test_a_cli_outside_a_bin_folder_gets_one_for_the_automation_api(tmp_path):
    own = _script(tmp_path / "pulumi", "echo v3.400.0")
    assert (cli.root(own) / "bin" / "pulumi").resolve() == own


def test_the_readme_installs_the_plugins_the_driver_asks_for():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name, wanted in plugins.PROVIDERS.items():
        assert f"pulumi plugin install resource {name} {wanted}" in readme, name
