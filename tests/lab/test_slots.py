"""Two labs side by side (`make test` runs slot 1 beside slot 0): no name, address or directory in common, and slot 0
keeps the ones `make up` and the README use."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from .conftest import REPO

FACTS = """
import json
from lab import common as c, machine as m, pbs
hosts = c.ALL_HOSTS + c.DEBIAN_HOSTS
print(json.dumps({
    "state": [str(c.state_dir())],
    "bridges": [c.MGMT_BRIDGE, c.STORAGE_BRIDGE],
    "networks": [c.MGMT_NET, c.STORAGE_NET],
    "addresses": [c.MGMT_GW, c.STORAGE_GW, pbs.ADDRESS] + [c.mgmt_addr(h) for h in hosts]
                 + [c.storage_addr(h) for h in c.ALL_HOSTS],
    "namespaces": [c.netns(h) for h in hosts] + [pbs.NETNS],
    "links": [v for h in hosts for v in m.veth_names(h)] + [pbs.VETH],
}))
"""


def facts(slot: str) -> dict[str, list[str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("PROXMOX_HA_LAB_DIR", "PROXMOX_HA_LAB_SLOT")}
    done = subprocess.run([sys.executable, "-c", FACTS], cwd=REPO, capture_output=True, text=True,
                          env={**env, **({"PROXMOX_HA_LAB_SLOT": slot} if slot else {})})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_two_slots_share_no_name_address_or_directory():
    first, second = facts(""), facts("1")
    for kind, names in first.items():
        assert not set(names) & set(second[kind]), f"slots 0 and 1 share {kind}: {set(names) & set(second[kind])}"
    assert all(len(link) <= 15 for link in facts("9")["links"]), "a link name fits the kernel's 15 characters"


def test_slot_0_is_the_lab_make_up_brings():
    first = facts("")
    assert first["state"] == ["/var/tmp/proxmox-ha-lab"] and first["bridges"] == ["phalab0", "phalab1"]
    assert first["networks"] == ["10.254.10.0/24", "10.254.100.0/24"] and "pve1" in first["namespaces"]
    assert facts("0") == first


def test_a_slot_the_lab_has_no_room_for_is_refused():
    done = subprocess.run([sys.executable, "-c", "import lab.common"], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PROXMOX_HA_LAB_SLOT": "12"})
    assert done.returncode != 0 and "PROXMOX_HA_LAB_SLOT=12 is not a slot (0 to 9)" in done.stderr


def test_the_stack_file_of_another_slot_names_its_own_subnets(tmp_path):
    """stack-config's copy of Pulumi.lab.yaml (slot 0's addresses) moved onto slot 1's subnets, every address."""
    out = tmp_path / "Pulumi.lab.yaml"
    out.write_text((REPO / "Pulumi.lab.yaml").read_text())
    moved = f"from pathlib import Path; from lab import stack; stack._onto_slot(Path({str(out)!r}))"
    done = subprocess.run([sys.executable, "-c", moved], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PROXMOX_HA_LAB_SLOT": "1"})
    assert done.returncode == 0, done.stderr
    config, ours = yaml.safe_load(out.read_text())["config"], facts("1")
    cluster = config["proxmox-ha:cluster"]
    assert [cluster["networks"]["management"]["cidr"], cluster["networks"]["storage"]["cidr"]] == ours["networks"]
    written = [cluster["networks"]["management"]["gateway"], config["proxmox-ha:backup"]["pbs"]["server"],
               config["proxmox-ha:monitoring"]["prometheus"]["address"]]
    written += [n[key] for n in cluster["nodes"] for key in ("managementAddress", "storageAddress")]
    assert set(written) <= set(ours["addresses"]), set(written) - set(ours["addresses"])
