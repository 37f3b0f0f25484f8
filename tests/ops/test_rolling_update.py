"""Rolling update and maintenance logic against a simulated cluster (the lab test runs it for real)."""
from __future__ import annotations

import dataclasses
import json
import subprocess

import pytest

from models import parse_stack_config
from ops.cluster import ClusterOps, GateFailed
from remote import probes
from remote.step import probe
from tests.unit.conftest import ROOT, stack_sections


class FakeCluster:
    """Answers the commands ops runs, like a PVE cluster (a QDevice optional) whose nodes go away while rebooting.
    The probes ops runs are real shell over fake `pvecm`, `ceph` and `ha-manager` that print what it says."""

    def __init__(self, names, bin_dir, qdevice=False):
        self.names = names
        self.qdevice = qdevice
        self.bin_dir = bin_dir
        for tool in ("pvecm", "ceph", "ha-manager"):
            (bin_dir / tool).write_text(f'#!/bin/sh\ncat "{bin_dir}/{tool}-$1.out"\n')
            (bin_dir / tool).chmod(0o755)
        self.down: dict[str, int] = {}  # node -> polls left until it is back
        self.qdevice_lag: dict[str, int] = {}  # node back up -> polls left until its own corosync-qdevice votes
        self.maintenance: set[str] = set()
        self.noout = False
        self.pgs_clean = True
        self.log: list[tuple[str, str]] = []
        self.max_down_at_once = 0
        self.rebooted_while_short = 0  # reboots while some node still counted one vote short

    def tick(self):
        for name in list(self.qdevice_lag):
            self.qdevice_lag[name] -= 1
            if self.qdevice_lag[name] <= 0:
                del self.qdevice_lag[name]
        for name in list(self.down):
            self.down[name] -= 1
            if self.down[name] <= 0:
                del self.down[name]
                if self.qdevice:
                    self.qdevice_lag[name] = 20

    def _say(self, via: str) -> None:
        up = [n for n in self.names if n not in self.down]
        expected = len(self.names) + self.qdevice
        # A node whose own corosync-qdevice has not reconnected yet counts no QDevice vote; its peers already do.
        votes = len(up) + (self.qdevice and via not in self.qdevice_lag)
        (self.bin_dir / "pvecm-status.out").write_text(
            f"Expected votes:   {expected}\nTotal votes:      {votes}\nQuorum:           {expected // 2 + 1}\n"
            f"Quorate:          {'Yes' if votes > expected // 2 else 'No'}\n")
        rows = "".join(f"{i:>10} {1:>10} {'A,V,NMW' if self.qdevice else ''} {n}{' (local)' if n == via else ''}\n"
                       for i, n in enumerate(self.names, 1) if n in up)
        (self.bin_dir / "pvecm-nodes.out").write_text(
            "Membership information\n----------------------\n    Nodeid      Votes Name\n" + rows
            + (f"{0:>10} {1:>10}            Qdevice\n" if self.qdevice else ""))
        clean = 32 if self.pgs_clean and not self.down else 20
        (self.bin_dir / "ceph-pg.out").write_text(json.dumps({"pg_summary": {"num_pgs": 32, "num_pg_by_state": [{"name": "active+clean", "num": clean}]}}))
        target = next(n for n in self.names if n not in self.maintenance and n not in self.down)
        (self.bin_dir / "ha-manager-status.out").write_text(f"quorum OK\nservice vm:100 ({target}, started)\nservice vm:101 ({self.names[0]}, stopped)\n")

    def command(self, node, command, timeout=600):
        self.tick()
        self.log.append((node.name, command))
        ok = lambda out="": subprocess.CompletedProcess(command, 0, out, "")  # noqa: E731
        if node.name in self.down:
            return subprocess.CompletedProcess(command, 255, "", "ssh: connect to host: No route to host")
        if "lrm_status" in command:  # each LRM's state, as lrm_status says: maintenance once its watchdog is closed
            name = command.split("/etc/pve/nodes/")[1].split("/")[0]
            return ok("maintenance\n" if name in self.maintenance else "active\n")
        if any(tool in command for tool in ("pvecm ", "ceph pg", "ha-manager status")):
            self._say(node.name)
            return subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], capture_output=True, text=True,
                                  env={"PATH": f"{self.bin_dir}:/usr/bin:/bin"})
        if command.startswith("ha-manager crm-command node-maintenance"):
            _, _, _, action, name = command.split()
            (self.maintenance.add if action == "enable" else self.maintenance.discard)(name)
            return ok()
        if command in ("ceph osd set noout", "ceph osd unset noout"):
            self.noout = command.endswith(" set noout")
            return ok()
        if command == "reboot-now":
            self.rebooted_while_short += bool(self.qdevice_lag)
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
    probes_run = {probe(c) for c in (probes.QUORATE, probes.ONLINE_NAMES, probes.TOTAL_VOTES, probes.EXPECTED_VOTES, probes.ALL_PGS_CLEAN)}
    assert {cmd for _, cmd in fake.log} <= probes_run


def test_maintenance_moves_services_away(ops):
    ops_, fake = ops
    ops_.maintenance_enter("pve1")
    assert fake.maintenance == {"pve1"}
    # The started service moved; the stopped one stays (PVE's maintenance moves only started services).
    assert "vm:100" not in ops_.ask(ops_.node("pve2"), probes.ha_services("pve1"))
    assert ops_.ask(ops_.node("pve2"), probes.ha_services("pve1")) == "vm:101"
    ops_.maintenance_exit("pve1")
    assert fake.maintenance == set()


def test_unknown_node_is_refused(ops):
    ops_, _ = ops
    with pytest.raises(GateFailed, match="pve9 is not in proxmox-ha:cluster.nodes"):
        ops_.maintenance_enter("pve9")


def test_rolling_update_with_a_qdevice(tmp_path):
    """Two nodes and a QDevice: three votes expected, and the gate counts them all (not one per node). A restarted
    node counts the QDevice's vote a few polls after its peer does; the next node waits for that, not only for the peer."""
    stack = parse_stack_config(stack_sections(ROOT / "Pulumi.lab.yaml"))
    two = dataclasses.replace(stack, cluster=stack.cluster.model_copy(update={"nodes": stack.cluster.nodes[:2]}))
    fake = FakeCluster([n.name for n in two.cluster.nodes], tmp_path, qdevice=True)
    ClusterOps(two, fake, log=lambda line: None, poll_seconds=0).rolling_update("upgrade-now", "reboot-now")
    assert [node for node, cmd in fake.log if cmd == "upgrade-now"] == ["pve1", "pve2"]
    assert fake.max_down_at_once == 1 and not fake.maintenance
    assert fake.rebooted_while_short == 0


def test_a_probe_that_cannot_read_the_cluster_stops_the_gate(ops):
    ops_, fake = ops
    (fake.bin_dir / "ha-manager").write_text("#!/bin/sh\necho 'ipcc_send_rec[1] failed: Connection refused' >&2\nexit 255\n")
    with pytest.raises(GateFailed, match="cannot read ha-manager status: ipcc_send_rec"):
        ops_.maintenance_enter("pve1")
