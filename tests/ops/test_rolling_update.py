"""Rolling update and maintenance logic against a simulated cluster (the lab test runs it for real)."""
from __future__ import annotations

import json
import subprocess

import pytest

from models import parse_stack_config
from ops.cluster import ClusterOps, GateFailed
from remote import ceph_steps, cluster_steps
from remote.step import probe
from tests.unit.conftest import ROOT, stack_sections


class FakeCluster:
    """Answers the commands ops runs, like a 3-node PVE cluster whose nodes go away while rebooting."""

    def __init__(self, names, bin_dir):
        self.names = names
        # Fake `pvecm` and `ceph` print what this cluster says; the probes ops runs are real shell.
        self.bin_dir = bin_dir
        for tool in ("pvecm", "ceph"):
            (bin_dir / tool).write_text(f"#!/bin/sh\ncat {bin_dir}/{tool}.out\n")
            (bin_dir / tool).chmod(0o755)
        self.down: dict[str, int] = {}  # node -> polls left until it is back
        self.maintenance: set[str] = set()
        self.noout = False
        self.pgs_clean = True
        self.log: list[tuple[str, str]] = []
        self.max_down_at_once = 0

    def tick(self):
        for name in list(self.down):
            self.down[name] -= 1
            if self.down[name] <= 0:
                del self.down[name]

    def command(self, node, command, stdin=None, timeout=600):
        self.tick()
        self.log.append((node.name, command))
        ok = lambda out="": subprocess.CompletedProcess(command, 0, out, "")  # noqa: E731
        if node.name in self.down:
            return subprocess.CompletedProcess(command, 255, "", "ssh: connect to host: No route to host")
        if "pvecm status" in command or "ceph pg stat" in command:
            votes = len(self.names) - len(self.down)
            (self.bin_dir / "pvecm.out").write_text(f"Quorate:          {'Yes' if votes * 2 > len(self.names) else 'No'}\nTotal votes:      {votes}\n")
            clean = 32 if self.pgs_clean and not self.down else 20
            (self.bin_dir / "ceph.out").write_text(json.dumps({"pg_summary": {"num_pgs": 32, "num_pg_by_state": [{"name": "active+clean", "num": clean}]}}))
            return subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], capture_output=True, text=True,
                                  env={"PATH": f"{self.bin_dir}:/usr/bin:/bin"})
        if command == "ha-manager status":
            target = next(n for n in self.names if n not in self.maintenance and n not in self.down)
            lrms = "".join(f"lrm {n} (maintenance mode, now)\n" for n in sorted(self.maintenance))
            return ok(f"quorum OK\n{lrms}service vm:100 ({target}, started)\n")
        if command.startswith("ha-manager crm-command node-maintenance"):
            _, _, _, action, name = command.split()
            (self.maintenance.add if action == "enable" else self.maintenance.discard)(name)
            return ok()
        if command in ("ceph osd set noout", "ceph osd unset noout"):
            self.noout = command.endswith(" set noout")
            return ok()
        if command == "reboot-now":
            self.down[node.name] = 3
            self.max_down_at_once = max(self.max_down_at_once, len(self.down))
            return subprocess.CompletedProcess(command, 255, "", "connection closed")
        return ok()


@pytest.fixture
def ops(tmp_path):
    stack = parse_stack_config(stack_sections(ROOT / "Pulumi.lab.yaml"))
    fake = FakeCluster([n.name for n in stack.cluster.nodes], tmp_path)
    return ClusterOps(stack, fake, log=lambda line: None, poll_seconds=0), fake


def test_rolling_update_goes_node_by_node_and_cleans_up(ops):
    ops_, fake = ops
    ops_.rolling_update("upgrade-now", "reboot-now")
    upgraded = [node for node, cmd in fake.log if cmd == "upgrade-now"]
    assert upgraded == ["pve1", "pve2", "pve3"]
    assert fake.max_down_at_once == 1
    assert not fake.maintenance and not fake.noout
    # Each node is in maintenance before it is upgraded, and out of it before the next one starts.
    order = [cmd for _, cmd in fake.log if "node-maintenance" in cmd or cmd == "upgrade-now"]
    assert order[:3] == ["ha-manager crm-command node-maintenance enable pve1", "upgrade-now",
                         "ha-manager crm-command node-maintenance disable pve1"]


def test_first_gate_failure_stops_before_anything_changes(ops):
    ops_, fake = ops
    fake.pgs_clean = False
    with pytest.raises(GateFailed, match=r"pve1, step 1 .*active\+clean"):
        ops_.rolling_update("upgrade-now", "reboot-now")
    assert not any(cmd in ("ceph osd set noout", "upgrade-now") for _, cmd in fake.log)


def test_never_starts_while_a_node_is_out(ops):
    ops_, fake = ops
    fake.down["pve3"] = 10**6
    with pytest.raises(GateFailed, match=r"2/3 votes.*never take a node down while another is out"):
        ops_.rolling_update("upgrade-now", "reboot-now")
    assert not any(cmd == "upgrade-now" for _, cmd in fake.log)


def test_dry_run_changes_nothing(ops):
    ops_, fake = ops
    ops_.rolling_update("upgrade-now", "reboot-now", dry_run=True)
    assert {cmd for _, cmd in fake.log} <= {probe(cluster_steps.QUORATE), cluster_steps.TOTAL_VOTES, ceph_steps.ALL_PGS_CLEAN}


def test_maintenance_moves_services_away(ops):
    ops_, fake = ops
    ops_.maintenance_enter("pve1")
    assert fake.maintenance == {"pve1"}
    assert all(node != "pve1" for _, node, _ in ops_.ha_services(ops_.node("pve2")))
    ops_.maintenance_exit("pve1")
    assert fake.maintenance == set()


def test_unknown_node_is_refused(ops):
    ops_, _ = ops
    with pytest.raises(GateFailed, match="pve9 is not in proxmox-ha:cluster.nodes"):
        ops_.maintenance_enter("pve9")
