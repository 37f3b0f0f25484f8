"""The whole pack over what the program really registers (under mocks) for the homelab stack and broken variants."""
from __future__ import annotations

import copy

import pytest
from pulumi_policy import EnforcementLevel

from models import parse_stack_config
from pack import POLICIES
from tests.unit.conftest import ROOT, run_program, stack_sections

from .conftest import as_engine_sends, violations


def _mandatory_violations(sections) -> dict[str, list[str]]:
    registered = run_program(sections)
    resources = [(r.type, r.name, as_engine_sends(r.inputs)) for r in registered]
    found = {}
    for policy in POLICIES:
        if policy.enforcement_level == EnforcementLevel.MANDATORY:
            messages = violations(policy.name, resources)
            if messages:
                found[policy.name] = messages
    return found


@pytest.fixture
def homelab():
    return copy.deepcopy(stack_sections(ROOT / "Pulumi.homelab.yaml"))


def test_homelab_passes_every_mandatory_policy(homelab, secret_markers):
    assert _mandatory_violations(homelab) == {}


def test_lab_stack_passes_every_mandatory_policy(secret_markers):
    assert _mandatory_violations(stack_sections(ROOT / "Pulumi.lab.yaml")) == {}


def test_four_nodes_fail_the_node_count(homelab, secret_markers):
    fourth = copy.deepcopy(homelab["cluster"]["nodes"][2])
    fourth.update(name="pve4", managementAddress="10.0.10.14", storageAddress="10.0.100.14", ipmi={"address": "10.0.10.24", "username": "admin"})
    homelab["cluster"]["nodes"].append(fourth)
    found = _mandatory_violations(homelab)
    assert list(found) == ["odd-node-count"]
    assert "4 nodes" in found["odd-node-count"][0]


def test_a_pool_of_size_two_fails(homelab, secret_markers):
    homelab["ceph"]["pools"][1].update(size=2, minSize=1)
    found = _mandatory_violations(homelab)
    assert list(found) == ["ceph-pool-replication"]
    assert "backup-storage" in found["ceph-pool-replication"][0]


def test_more_replicas_than_osd_hosts_pass_the_models_and_fail_the_pack(homelab, secret_markers):
    homelab["cluster"]["nodes"][2]["osdDisks"] = []
    parse_stack_config(homelab)  # PVE would create the pool: the config takes it
    found = _mandatory_violations(homelab)
    assert list(found) == ["ceph-replicas-fit-osd-hosts"]
    assert found["ceph-replicas-fit-osd-hosts"][0].startswith("proxmox-ha:ceph.pools[0].size: 3 replicas of pool vm-storage")


def test_a_watchdog_module_that_is_no_watchdog_driver_passes_the_models_and_fails_the_pack(homelab, secret_markers):
    homelab["ha"]["watchdog"] = "fence-ipmi"  # a module name PVE writes and watchdog-mux tries to load
    parse_stack_config(homelab)
    found = _mandatory_violations(homelab)
    assert list(found) == ["ha-watchdog"]
    assert found["ha-watchdog"][0].startswith("proxmox-ha:ha.watchdog: 'fence-ipmi' is not a watchdog driver")
