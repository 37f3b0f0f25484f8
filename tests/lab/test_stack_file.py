"""Pulumi.lab.yaml describes the lab that `lab up` starts: its cluster name, hosts, addresses, networks, guest and PBS
stand-in are the lab's own facts (lab/common.py, lab/pbs.py), which the YAML cannot import, so they are compared."""
from __future__ import annotations

from pathlib import Path

import yaml

from lab import pbs
from lab.common import (CLUSTER_NAME, DEFAULT_HOSTS, LAB_GUEST, MGMT_GW, MGMT_NET, MONITOR_ADDR, STORAGE_NET, mgmt_addr,
                        storage_addr)

CONFIG = yaml.safe_load((Path(__file__).resolve().parents[2] / "Pulumi.lab.yaml").read_text())["config"]


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
