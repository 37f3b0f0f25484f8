"""python -m deploy on bad input: one clear line and a non-zero exit for each, nothing half-done."""
from __future__ import annotations

import re
import subprocess

import pytest

from tests.unit.conftest import SECRETS

from .engine import config_file, deploy


def _last(result) -> str:
    return result.stderr.strip().splitlines()[-1]


def test_an_unknown_stack_is_named(engine_stack):
    path = config_file(engine_stack, "homelab")
    result = deploy(engine_stack, "preview", "--stack", "nope", "--config-file", str(path))
    assert result.returncode == 1
    assert _last(result) == ("deploy: preview of stack 'nope' failed: stack 'nope' does not exist in this backend; "
                             "create it with `bin/pulumi stack init nope` (make up does this for the lab)")


def test_a_missing_config_file_and_passphrase_are_named(engine_stack, tmp_path):
    result = deploy(engine_stack, "preview", "--stack", "homelab", "--config-file", str(tmp_path / "absent.yaml"))
    assert result.returncode == 2 and "absent.yaml does not exist" in _last(result)
    result = deploy(engine_stack, "preview", "--stack", "homelab", passphrase="")
    assert result.returncode == 2 and "PULUMI_CONFIG_PASSPHRASE is not set" in _last(result)


def test_a_wrong_passphrase_is_named(engine_stack):
    path = config_file(engine_stack, "homelab")
    result = deploy(engine_stack, "preview", "--stack", "homelab", "--config-file", str(path), passphrase="not-the-one")
    assert result.returncode == 1
    assert "PULUMI_CONFIG_PASSPHRASE does not decrypt stack 'homelab' secrets" in _last(result)


@pytest.mark.parametrize("skip_preview", [False, True])
def test_a_missing_secret_is_named_and_nothing_is_created(engine_stack, skip_preview):
    """Refused by the program in the plan `up` shows first, or, with --skip-preview, in the update itself."""
    path = config_file(engine_stack, "homelab", secrets={k: v for k, v in SECRETS.items() if k != "pbsPassword"})
    result = deploy(engine_stack, "up", "--stack", "homelab", "--config-file", str(path), *(["--skip-preview"] * skip_preview))
    assert result.returncode == 1
    assert _last(result).endswith("invalid stack config, nothing was created: proxmox-ha:pbsPassword: is required; "
                                  "set it with `pulumi config set --secret proxmox-ha:pbsPassword ...`")
    assert not re.search(r" created \(", result.stdout), "no resource was created"
    assert ("Previewing update (homelab)" in result.stdout) is not skip_preview
    assert ("Updating (homelab)" in result.stdout) is skip_preview, result.stdout[-1500:]


def test_an_unreachable_node_is_named_with_the_step(engine_stack, tmp_path):
    """Under unshare -n no node answers: the first steps fail after the command plugin's dial retries."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "key")], check=True)
    path = config_file(engine_stack, "homelab", secrets={**SECRETS, "sshPrivateKey": (tmp_path / "key").read_text()})
    result = deploy(engine_stack, "up", "--stack", "homelab", "--config-file", str(path), "--no-policy")
    assert result.returncode == 1
    last = _last(result)
    # The program allows 5 redials (ssh_connection); the wording is the real plugin's.
    assert "its node did not answer over SSH (after 5 failed attempts: dial tcp 10.0." in last, last
    assert "connect: network is unreachable" in last and "run up again" in last
    # The first steps to dial are the preflight's release checks.
    assert last.split("step ")[1].split(":")[0] in (f"preflight-pve{i}-pve-release" for i in (1, 2, 3)), last


def test_without_the_released_plugins_and_not_named_for_the_stand_ins_the_driver_stops_with_how_to_install(engine_stack):
    """No network here (unshare -n): `pulumi plugin install`, as the engine's automatic acquisition does, fails; the
    lab's stand-ins are not taken for a stack PROXMOX_HA_STAND_INS does not name."""
    path = config_file(engine_stack, "homelab")
    engine_stack.env["PROXMOX_HA_STAND_INS"] = "lab"
    result = deploy(engine_stack, "preview", "--stack", "homelab", "--config-file", str(path))
    assert result.returncode == 2
    last = _last(result)
    assert last.startswith("deploy: the provider plugin(s) command 1.2.1 and proxmoxve 8.6.0 are not installed and could "
                           "not be downloaded ("), last
    assert ("install them where there is internet access: `pulumi plugin install resource command 1.2.1 && "
            "pulumi plugin install resource proxmoxve 8.6.0`") in last
    assert "serve only the stacks named in PROXMOX_HA_STAND_INS, e.g. PROXMOX_HA_STAND_INS=lab for the lab" in last
    assert "stand-in" not in result.stdout and "Previewing" not in result.stdout


def test_the_stand_ins_serve_a_stack_named_for_them_and_say_so(engine_stack):
    path = config_file(engine_stack, "homelab")
    result = deploy(engine_stack, "preview", "--stack", "homelab", "--config-file", str(path), "--no-policy")
    assert result.returncode == 0, result.stderr[-2000:]
    assert ("deploy: provider proxmoxve 8.6.0: the lab's stand-in (lab/providers/bin/pulumi-resource-proxmoxve); the "
            "released plugin is not installed and PROXMOX_HA_STAND_INS names stack 'homelab'") in result.stdout
