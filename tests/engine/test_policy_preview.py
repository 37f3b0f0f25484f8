"""`pulumi preview --policy-pack policies` with the real engine, on homelab (passes), 4 nodes and a size-2 pool (refused).

It needs the whole toolchain: the CLI, pulumi-language-python and the command and proxmoxve plugins.
The Go proxy here serves only the CLI (README, "Toolchain"), so on this machine these tests skip with
that reason; wherever the plugins are installed they run as they are.
"""
from __future__ import annotations

import copy
import json
import shutil
import subprocess

import pytest
import yaml

from tests.unit.conftest import SECRETS

from .test_toolchain import ROOT, pulumi

REQUIRED_PLUGINS = {("language", "python"), ("resource", "command"), ("resource", "proxmoxve")}


def _missing_pieces(env: dict) -> set[tuple[str, str]]:
    listed = pulumi("plugin", "ls", "--json", cwd=ROOT, env=env)
    have = {(p["kind"], p["name"]) for p in json.loads(listed.stdout or "[]")} if listed.returncode == 0 else set()
    if shutil.which("pulumi-language-python"):
        have.add(("language", "python"))
    return REQUIRED_PLUGINS - have


@pytest.fixture
def stack_dir(tmp_path):
    work = tmp_path / "project"
    shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(".git", ".pulumi-state", "__pycache__", ".pytest_cache", ".venv"))
    (work / ".venv").symlink_to(ROOT / ".venv")
    env = {"PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}", "PULUMI_CONFIG_PASSPHRASE": "policy-preview-test"}
    (tmp_path / "state").mkdir()
    missing = _missing_pieces(env)
    if missing:
        pytest.skip(f"engine preview needs {', '.join(f'{k} plugin {n}' for k, n in sorted(missing))}, not buildable from this Go proxy")
    return work, env


def _preview(work, env, change=None) -> subprocess.CompletedProcess:
    stack_file = work / "Pulumi.homelab.yaml"
    if change:
        config = yaml.safe_load(stack_file.read_text())
        change(config["config"])
        stack_file.write_text(yaml.safe_dump(config))
    assert pulumi("stack", "init", "homelab", cwd=work, env=env).returncode == 0
    for key, value in SECRETS.items():
        assert pulumi("config", "set", "--secret", f"proxmox-ha:{key}", value, "--stack", "homelab", cwd=work, env=env).returncode == 0
    return pulumi("preview", "--stack", "homelab", "--policy-pack", "policies", cwd=work, env=env)


def test_homelab_passes(stack_dir):
    result = _preview(*stack_dir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_four_nodes_are_refused(stack_dir):
    def fourth(config):
        nodes = config["proxmox-ha:cluster"]["nodes"]
        extra = copy.deepcopy(nodes[2])
        extra.update(name="pve4", managementAddress="10.0.10.14", storageAddress="10.0.100.14")
        nodes.append(extra)

    result = _preview(*stack_dir, change=fourth)
    assert result.returncode != 0
    assert "odd-node-count" in result.stdout and "homelab-cluster" in result.stdout


def test_a_pool_of_size_two_is_refused(stack_dir):
    def small(config):
        config["proxmox-ha:ceph"]["pools"][1].update(size=2, minSize=1)

    result = _preview(*stack_dir, change=small)
    assert result.returncode != 0
    assert "ceph-pool-replication" in result.stdout and "backup-storage" in result.stdout
