"""Pulumi.lab.yaml describes the lab that `lab up` starts: its cluster name, hosts, addresses, networks, guest and PBS
stand-in are the lab's own facts (lab/common.py, lab/pbs.py), which the YAML cannot import, so they are compared."""
from __future__ import annotations

import json
import os
import subprocess

import yaml

from lab import pbs, stack
from lab.common import (CLUSTER_NAME, DEFAULT_HOSTS, LAB_GUEST, MGMT_GW, MGMT_NET, MONITOR_ADDR, STORAGE_NET, Paths,
                        mgmt_addr, storage_addr)

from .conftest import REPO

CONFIG = yaml.safe_load((REPO / "Pulumi.lab.yaml").read_text())["config"]


def test_the_stack_is_the_labs_cluster():
    cluster = CONFIG["proxmox-ha:cluster"]
    assert cluster["name"] == CLUSTER_NAME
    assert cluster["networks"] == {"management": {"cidr": MGMT_NET, "gateway": MGMT_GW}, "storage": {"cidr": STORAGE_NET}}
    assert [(n["name"], n["managementAddress"], n["storageAddress"]) for n in cluster["nodes"]] == [
        (h, mgmt_addr(h), storage_addr(h)) for h in DEFAULT_HOSTS]


def test_the_stack_uses_the_labs_guest_and_pbs():
    assert [r["id"] for r in CONFIG["proxmox-ha:ha"]["resources"]] == [f"vm:{LAB_GUEST}"]
    server = CONFIG["proxmox-ha:backup"]["pbs"]
    assert (server["server"], server["datastore"], server["username"]) == (pbs.ADDRESS, pbs.DATASTORE, pbs.USER)


def test_prometheus_goes_on_the_labs_monitor_host():
    assert CONFIG["proxmox-ha:monitoring"]["prometheus"]["address"] == MONITOR_ADDR


def test_stack_config_pins_the_labs_facts_and_encrypts_its_secrets(tmp_path, monkeypatch):
    """`lab stack-config --nodes 5 --retire pve4,pve5` on a PVE 8 lab: the plain facts written into the file, each
    secret encrypted by the CLI and nowhere in clear."""
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path / 'state'}")
    (tmp_path / "state").mkdir()
    paths = Paths(tmp_path / "lab")
    paths.pve.mkdir(parents=True)
    paths.lab_id.write_text("lab-1\n")
    paths.pve_major.write_text("8")
    secrets = {"sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nkey\n-----END OPENSSH PRIVATE KEY-----\n",
               "apiToken": "root@pam!pulumi=0f0e", "pbsPassword": "-starts-with-a-dash"}
    for key, value in secrets.items():
        (tmp_path / key).write_text(value)
    hosts = [{"name": f"pve{i}", "management_address": mgmt_addr(f"pve{i}"), "storage_address": storage_addr(f"pve{i}"),
              "management_port": "eno1", "storage_port": "eno2", "osd_disks": ["/dev/sdb"],
              "host_key": f"ssh-ed25519 HOST{i}"} for i in range(1, 6)]
    paths.lab_json.write_text(json.dumps({
        "hosts": hosts, "qnetd": {"management_address": "10.254.10.50", "ssh_port": 22, "host_key": "ssh-ed25519 QN"},
        "monitor": {"host_key": "ssh-ed25519 MON"},
        "pbs": {"fingerprint": "AA:BB", "password_file": str(tmp_path / "pbsPassword")},
        "ssh": {"private_key": str(tmp_path / "sshPrivateKey")}, "api": {"token_file": str(tmp_path / "apiToken")}}))
    out = stack.write(REPO / "Pulumi.lab.yaml", paths, nodes=5, retire=["pve4", "pve5"])

    text = out.read_text()
    assert not [key for key, value in secrets.items() if value.strip() in text]
    shown = subprocess.run([str(REPO / "bin" / "pulumi"), "config", "--config-file", str(out), "--stack", "lab",
                            "--show-secrets", "--json", "--non-interactive"], capture_output=True, text=True, cwd=REPO,
                           env={**os.environ, "PULUMI_CONFIG_PASSPHRASE": stack.PASSPHRASE})
    config = {key.split(":", 1)[1]: entry for key, entry in json.loads(shown.stdout).items()}
    assert {key: config[key]["value"] for key in secrets} == {key: value.strip() for key, value in secrets.items()}
    assert all(config[key]["secret"] for key in [*secrets, "alertWebhookUrl"])
    cluster = config["cluster"]["objectValue"]
    assert cluster["pveVersion"] == 8 and config["ceph"]["objectValue"]["release"] == stack.CEPH_RELEASE[8]
    assert [(n["name"], n["sshHostKey"]) for n in cluster["nodes"]] == [(h["name"], h["host_key"]) for h in hosts]
    assert cluster["decommission"] == ["pve4", "pve5"]
    assert config["monitoring"]["objectValue"]["prometheus"]["sshHostKey"] == "ssh-ed25519 MON"
    assert config["backup"]["objectValue"]["pbs"]["fingerprint"] == "AA:BB"
