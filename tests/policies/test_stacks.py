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


def _fourth_node(stack):
    fourth = copy.deepcopy(stack["cluster"]["nodes"][2])
    fourth.update(name="pve4", managementAddress="10.0.10.14", storageAddress="10.0.100.14", ipmi={"address": "10.0.10.24", "username": "admin"})
    stack["cluster"]["nodes"].append(fourth)


def test_four_nodes_fail_the_node_count(homelab, secret_markers):
    _fourth_node(homelab)
    found = _mandatory_violations(homelab)
    assert list(found) == ["odd-node-count"]
    assert "4 nodes" in found["odd-node-count"][0]


def test_a_pool_of_size_two_fails(homelab, secret_markers):
    homelab["ceph"]["pools"][1].update(size=2, minSize=1)
    found = _mandatory_violations(homelab)
    assert list(found) == ["ceph-pool-replication"]
    assert "backup-storage" in found["ceph-pool-replication"][0]



def _two_nodes_and_a_qdevice(stack):
    stack["cluster"]["nodes"] = stack["cluster"]["nodes"][:2]
    stack["cluster"]["qdevice"] = {"address": "10.0.10.40"}
    stack["ha"]["groups"][0]["nodes"] = {"pve1": 2, "pve2": 1}


def _no_storage_network(stack):
    del stack["cluster"]["networks"]["storage"]
    for node in stack["cluster"]["nodes"]:
        del node["storageAddress"], node["storagePort"]


def _set(path, value):
    """A change to the stack sections: `path` is a list of keys and indexes."""
    def change(stack):
        *parents, last = path
        for part in parents:
            stack = stack[part]
        stack[last] = value
    return change


# Each rule of the pack, a stack the models accept that breaks it, and words of its message.
FIRES = [
    ("odd-node-count", _fourth_node, "4 nodes"),
    ("even-node-count-with-qdevice", _two_nodes_and_a_qdevice, "rely on a QDevice"),
    ("ceph-pool-replication", lambda s: s["ceph"]["pools"][1].update(size=2, minSize=1), "never use min_size 1"),
    ("ceph-replicas-fit-osd-hosts", _set(["cluster", "nodes", 2, "osdDisks"], []),
     "proxmox-ha:ceph.pools[0].size: 3 replicas of pool vm-storage need 3 hosts with OSDs, but only 2"),
    ("corosync-crypto", _set(["cluster", "corosync"], {"cryptoCipher": "none", "cryptoHash": "sha256"}), "cryptoCipher is 'none'"),
    ("corosync-single-link", _no_storage_network, "single link"),
    ("ha-placement-nodes", _set(["ha", "groups", 0, "nodes"], {"pve1": 1}), "HA needs at least 2"),
    ("ha-max-relocate", _set(["ha", "resources", 0, "maxRelocate"], 0), "never moved off a failed node"),
    ("ha-watchdog", _set(["ha", "watchdog"], "fence-ipmi"), "proxmox-ha:ha.watchdog: 'fence-ipmi' is not a watchdog driver"),
    ("ha-hardware-fencing", lambda s: s["cluster"]["nodes"][1].pop("ipmi"), "no IPMI configured on pve2"),
    ("backup-covers-ha", lambda s: s["backup"]["jobs"][0].update(all=False, vmids=[101]), "vm:100 is not covered"),
    ("backup-job-mail", _set(["backup", "jobs", 0, "mailTo"], []), "mailNotification is set without mailTo"),
    ("ceph-release-supported", _set(["ceph", "release"], "squid"), "Ceph squid is past its end of life"),
    ("prometheus-outside-cluster", _set(["monitoring", "prometheus", "address"], "10.0.10.12"), "10.0.10.12 is node pve2"),
]
# Rules no stack can break, and why.
NO_STACK_BREAKS = {
    # The program hands every secret on as a secret Output; the rule guards the program's wiring, so its test
    # (test_rules.py) feeds it props as the engine sends them.
    "no-plaintext-secrets",
}


def test_every_rule_has_a_stack_the_models_accept_that_breaks_it():
    assert sorted({name for name, _, _ in FIRES} | NO_STACK_BREAKS) == sorted(p.name for p in POLICIES)


@pytest.mark.parametrize("policy, change, words", FIRES, ids=[name for name, _, _ in FIRES])
def test_the_rule_fires_on_a_stack_the_models_accept(homelab, secret_markers, policy, change, words):
    change(homelab)
    parse_stack_config(copy.deepcopy(homelab))  # the models take it: judging it is the pack's job
    registered = run_program(homelab)
    found = violations(policy, [(r.type, r.name, as_engine_sends(r.inputs)) for r in registered])
    assert any(words in message for message in found), found
