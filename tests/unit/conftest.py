"""Run the real program under Pulumi mocks and record every resource it registers."""
from __future__ import annotations

import base64
import copy
import json
import os
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pytest
import yaml

from remote.step import Step

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    # An unencrypted openssh-key-v1 body (cipher "none"), as the program's format check wants; not a usable key.
    "sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\n"
                     + base64.b64encode(b"openssh-key-v1\0\0\0\0\4noneUNIT-TEST-SSH-KEY").decode()
                     + "\n-----END OPENSSH PRIVATE KEY-----",
    "apiToken": "root@pam!pulumi=UNIT-TEST-API-TOKEN",
    "pbsPassword": "UNIT-TEST-PBS-PASSWORD",
    "ipmiPassword": "UNIT-TEST-IPMI-PASSWORD",
    "grafanaToken": "glsa_UNIT-TEST-GRAFANA-TOKEN",
}


LAST_MOCKS: "RecordingMocks | None" = None


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict
    provider: str | None
    # The `import` option's ID, for a resource the program adopts.
    import_id: str | None = None


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Registered] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs), args.provider, args.resource_id or None))
        state = dict(args.inputs)
        if args.typ == "command:remote:Command":
            node = args.name.split("-", 1)[0]
            state["stdout"] = f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{node} root@{node}\n" if args.name.endswith("root-ssh-key") else ""
        if args.typ == "proxmoxve:user/token:Token":
            state["value"] = "UNIT-TEST-EXPORTER-TOKEN"
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def stack_sections(path: Path) -> dict:
    config = yaml.safe_load(path.read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith("proxmox-ha:")}


@pytest.fixture
def homelab() -> dict:
    return copy.deepcopy(stack_sections(ROOT / "Pulumi.homelab.yaml"))


def two_nodes_and_a_qdevice(sections: dict) -> dict:
    """homelab's sections cut to its first two nodes and a QDevice (no Ceph, the HA group on the two), in place."""
    cluster = sections["cluster"]
    cluster["nodes"] = cluster["nodes"][:2]
    cluster["qdevice"] = {"address": "10.0.10.40", "sshHostKey": "ssh-ed25519 AAAAqnetd"}
    for node in cluster["nodes"]:
        node["osdDisks"] = []
    sections["ceph"] = {"pools": []}
    sections["ha"]["groups"][0]["nodes"] = {"pve1": 2, "pve2": 1}
    return sections


def run_program(sections: dict, secrets: dict | None = None, outputs: dict | None = None) -> list[Registered]:
    """Run program.run() as the engine would, with `sections` as stack config and `outputs` as what the stack's last
    run exported; return what was registered."""
    import program

    global LAST_MOCKS
    mocks = LAST_MOCKS = RecordingMocks()
    os.environ[program.LAST_OUTPUTS] = json.dumps(outputs or {})
    pulumi.runtime.set_mocks(mocks, project="proxmox-ha", stack="unit", preview=False)
    secrets = SECRETS if secrets is None else secrets
    config = {f"proxmox-ha:{k}": json.dumps(v) for k, v in sections.items()}
    config |= {f"proxmox-ha:{k}": v for k, v in secrets.items()}
    pulumi.runtime.set_all_config(config, secret_keys=[f"proxmox-ha:{k}" for k in secrets])

    @pulumi.runtime.test
    def go():
        program.run()

    go()
    return mocks.resources


class PrivateEtc:
    """Runs a step under `unshare --mount` with scratch directories bind-mounted over /etc and /opt, and fake tools
    on PATH."""

    def __init__(self, root: Path):
        self.root = root
        self.etc = root / "etc"
        self.bin = root / "bin"
        self.opt = root / "opt"
        self.etc.mkdir()
        self.bin.mkdir()
        self.opt.mkdir()
        # awk and friends are /etc/alternatives symlinks.
        shutil.copytree("/etc/alternatives", self.etc / "alternatives", symlinks=True)
        self.calls = root / "calls.log"

    def file(self, path: str, content: str) -> None:
        target = self.etc / path.removeprefix("/etc/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(content).lstrip())

    def read(self, path: str) -> str:
        return (self.etc / path.removeprefix("/etc/")).read_text()

    def fake(self, name: str, body: str) -> None:
        tool = self.bin / name
        tool.write_text(f"#!/bin/bash\necho \"{name} $*\" >> {self.calls}\n{body}\n")
        tool.chmod(0o755)

    def run(self, step: Step, stdin: str | None = None) -> subprocess.CompletedProcess:
        """The step's script; `stdin` carries its secrets, one a line, as the engine sends them."""
        script = self.root / "step.sh"
        script.write_text(step.script())
        inner = f"mount --bind {self.etc} /etc && mount --bind {self.opt} /opt && PATH={self.bin}:$PATH exec bash {script}"
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", inner],
                              capture_output=True, text=True, timeout=60, input=stdin)

    def called(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


@pytest.fixture
def etc(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root for a private mount namespace")
    return PrivateEtc(tmp_path)
