"""Stacks for engine runs in a temporary backend: the tracked stack file (optionally changed), its salt, test secrets."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from tests.unit.conftest import SECRETS

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "engine-test-passphrase"


@dataclass
class EngineStack:
    work: Path  # a scratch project dir (Pulumi.yaml) where `stack init` may write
    env: dict[str, str]


def cli(stack: EngineStack, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "bin" / "pulumi"), *args, "--non-interactive"], cwd=stack.work, input=stdin,
                          capture_output=True, text=True, env={**os.environ, **stack.env}, timeout=300)


def config_file(stack: EngineStack, name: str, change: Callable[[dict], None] | None = None,
                secrets: dict[str, str] = SECRETS) -> Path:
    """Pulumi.<name>.yaml with the change applied, this backend's salt and the secrets (encrypted by the CLI)."""
    if cli(stack, "stack", "select", name).returncode != 0:
        created = cli(stack, "stack", "init", name)
        assert created.returncode == 0, created.stderr
    config = yaml.safe_load((ROOT / f"Pulumi.{name}.yaml").read_text())
    config["encryptionsalt"] = yaml.safe_load((stack.work / f"Pulumi.{name}.yaml").read_text())["encryptionsalt"]
    if change:
        change(config["config"])
    path = stack.work / f"{name}.config.yaml"
    path.write_text(yaml.safe_dump(config))
    for key, value in secrets.items():
        # On stdin: an SSH key starts with '-', which the CLI would take for a flag.
        done = cli(stack, "config", "set", "--secret", "--config-file", str(path), "--stack", name, f"proxmox-ha:{key}", stdin=value)
        assert done.returncode == 0, done.stderr
    return path


def deploy(stack: EngineStack, *args: str, passphrase: str = PASSPHRASE) -> subprocess.CompletedProcess:
    """`python -m deploy ARGS` with no route anywhere: a fresh network namespace with only its loopback up."""
    command = f"ip link set lo up && exec {sys.executable} -m deploy " + " ".join(args)
    return subprocess.run(["unshare", "-n", "sh", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **stack.env, "PULUMI_CONFIG_PASSPHRASE": passphrase})


# The engine tests preview the seed's and the lab's stacks on the lab's stand-in plugins, named here.
STAND_INS = "lab,homelab"


def preview_stack(stack: EngineStack, name: str, change: Callable[[dict], None] | None = None) -> subprocess.CompletedProcess:
    return deploy(stack, "preview", "--stack", name, "--config-file", str(config_file(stack, name, change)))


def new_engine_stack(tmp_path: Path) -> EngineStack:
    work = tmp_path / "project"
    work.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", work)
    (tmp_path / "state").mkdir()
    return EngineStack(work, {"PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}", "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
                              "PROXMOX_HA_STAND_INS": STAND_INS})
