"""The real engine previews homelab with the pack (passes), and refuses 4 nodes by the policy's name: one refusal
shows the engine enforces a mandatory rule; which stacks each rule refuses is tests/policies/test_stacks.py's.

Through `python -m deploy`: the inline program (no language plugin), the pack's executable launcher, and
the real provider plugins where installed, else the lab's stand-ins. homelab's addresses are not ours,
so every preview runs under `unshare -n` (only a loopback, for the engine's own gRPC).
"""
from __future__ import annotations

import copy

from tests.unit.conftest import ROOT, run_program, stack_sections

from .engine import preview_stack


def test_homelab_passes_with_the_advisories_it_deserves(engine_stack):
    result = preview_stack(engine_stack, "homelab")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    assert "Policy Packs run" in result.stdout and "[mandatory]" not in result.stdout
    assert "[advisory]  ceph-release-supported" not in result.stdout  # tentacle is in upstream support
    assert "ha-hardware-fencing" not in result.stdout  # IPMI on every node and ipmi_watchdog
    # The engine creates what the program registers under mocks, plus the root stack resource.
    registered = run_program(stack_sections(ROOT / "Pulumi.homelab.yaml"))
    assert f"+ {len(registered) + 1} to create" in result.stdout


def test_the_lab_stack_passes_the_mandatory_policies(engine_stack):
    result = preview_stack(engine_stack, "lab")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    assert "[mandatory]" not in result.stdout
    assert "the watchdog is softdog" in result.stdout  # advisory: a software watchdog


def test_four_nodes_are_refused(engine_stack):
    def fourth(config):
        nodes = config["proxmox-ha:cluster"]["nodes"]
        extra = copy.deepcopy(nodes[2])
        extra.update(name="pve4", managementAddress="10.0.10.14", storageAddress="10.0.100.14")
        extra["ipmi"]["address"] = "10.0.10.24"
        nodes.append(extra)

    result = preview_stack(engine_stack, "homelab", change=fourth)
    assert result.returncode != 0
    assert "[mandatory]  odd-node-count" in result.stdout and "homelab-cluster" in result.stdout
    assert "policy pack refused the stack (odd-node-count)" in result.stderr

