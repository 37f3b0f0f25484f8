"""The lab's HA stack (lab/pve/ha.py) against pve-ha-manager's rules (src/PVE/HA/Manager.pm, LRM.pm, NodeStatus.pm,
API2/HA/Status.pm) and the `ha-manager` shim's crm-command and status over it, unit level: a temporary /etc/pve,
the CRM and LRM rounds driven by hand with the online nodes and the clock given."""
from __future__ import annotations

import re

import pytest

from lab.common import DEFAULT_HOSTS
from lab.pve import ha
from lab.shims import ha_manager as HM
from lab.shims import pvelib as L

TIME = r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}"
NODES = list(DEFAULT_HOSTS)


class Cluster:
    def __init__(self, pve):
        self.pve, self.now, self.logged, self.online = pve, 1_000_000.0, [], list(NODES)

    def round(self, seconds: float = 1.0, major: int = 8):
        """One second of the HA stack: every online LRM reports, the master's CRM acts, the LRMs report again."""
        self.now += seconds
        for node in self.online:
            ha.lrm_round(self.pve, node, self.now, lambda m, n=node: self.logged.append(f"{n} lrm: {m}"))
        ha.crm_round(self.pve, self.online[0], NODES, self.online, major, self.now, lambda m: self.logged.append(f"crm: {m}"))
        for node in self.online:
            ha.lrm_round(self.pve, node, self.now, lambda m, n=node: self.logged.append(f"{n} lrm: {m}"))

    def where(self, vmid: int) -> str:
        return L.vmlist(self.pve)[str(vmid)]["node"]

    def services(self) -> dict[str, tuple[str, str]]:
        return {e["sid"]: (e["node"], e["state"]) for e in ha.status(self.pve, "pve1", True, 8, self.now) if e["type"] == "service"}


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    pve = tmp_path / "pve"
    (pve / "ha").mkdir(parents=True)
    for vmid, node in ((100, "pve2"), (101, "pve2"), (102, "pve2"), (103, "pve3")):
        (pve / "nodes" / node / "qemu-server").mkdir(parents=True, exist_ok=True)
        (pve / "nodes" / node / "qemu-server" / f"{vmid}.conf").write_text("memory: 512\n")
    (pve / "ha" / "groups.cfg").write_text("group: prefer2\n\tnodes pve2:2,pve3:1\n\trestricted 0\n\n")
    (pve / "ha" / "resources.cfg").write_text(
        "vm: 100\n\tgroup prefer2\n\tstate started\n\n"
        "vm: 101\n\tstate stopped\n\n"
        "vm: 102\n\tstate disabled\n\n"
        "vm: 103\n\tstate ignored\n\n")
    monkeypatch.setattr(L, "PVE", pve)
    monkeypatch.setattr(L, "nodename", lambda: "pve1")
    monkeypatch.setattr(L, "quorate", lambda: True)
    monkeypatch.setattr(HM, "GROUPS", pve / "ha" / "groups.cfg")
    monkeypatch.setattr(HM, "RESOURCES", pve / "ha" / "resources.cfg")
    monkeypatch.setattr(HM, "cluster_nodes", lambda: NODES)
    monkeypatch.setenv("PROXMOX_HA_LAB_PVE_MAJOR", "8")
    c = Cluster(pve)
    c.round()
    return c


def test_maintenance_moves_only_the_started_service_and_its_config(cluster):
    assert cluster.services() == {"vm:100": ("pve2", "started"), "vm:101": ("pve2", "stopped"),
                                  "vm:102": ("pve2", "disabled"), "vm:103": ("pve3", "ignored")}
    HM.cmd_crm(["node-maintenance", "enable", "pve2"])
    for _ in range(3):
        cluster.round()
    assert cluster.services()["vm:100"] == ("pve3", "started") and cluster.where(100) == "pve3"
    assert cluster.where(101) == cluster.where(102) == "pve2"  # PVE moves no stopped or disabled service
    # With nothing active left, pve2's LRM gives up its watchdog: the sign PVE's docs say to wait for.
    assert "pve2 lrm: watchdog closed (disabled)" in cluster.logged
    assert ha.read_json(ha.lrm_status_path(cluster.pve, "pve2"))["state"] == "maintenance"
    # `crm-command migrate` moves a stopped and a disabled service, config file included.
    HM.cmd_crm(["migrate", "vm:101", "pve1"])
    HM.cmd_crm(["migrate", "vm:102", "pve3"])
    cluster.round()
    assert (cluster.where(101), cluster.where(102)) == ("pve1", "pve3")
    assert cluster.services()["vm:101"] == ("pve1", "stopped") and cluster.services()["vm:102"] == ("pve3", "disabled")
    # Out of maintenance, the started service goes back to the node it came from.
    HM.cmd_crm(["node-maintenance", "disable", "pve2"])
    cluster.round()
    cluster.round()
    assert cluster.where(100) == "pve2"


def test_maintenance_of_a_node_that_is_not_online_is_dropped(cluster):
    cluster.online = ["pve1", "pve2"]
    cluster.round()
    HM.cmd_crm(["node-maintenance", "enable", "pve3"])  # the CLI queues it and exits 0, as PVE's does
    cluster.round()
    assert "crm: crm command error - node not online: enable-node-maintenance pve3" in cluster.logged
    assert "pve3" not in ha.read_json(cluster.pve / ha.MANAGER_STATUS).get("node_request", {})


def test_a_dead_nodes_services_are_recovered_only_after_fencing_and_disabled_ones_stay(cluster):
    cluster.online = ["pve1", "pve3"]
    cluster.round()
    assert cluster.where(100) == "pve2"  # not fenced yet: nothing moves
    cluster.round(ha.LAB_FENCE_SECONDS)
    cluster.round()
    assert "crm: fencing: acknowledged - got agent lock for node 'pve2'" in cluster.logged
    assert cluster.where(100) == "pve3" and cluster.services()["vm:100"] == ("pve3", "started")
    assert cluster.where(101) in ("pve1", "pve3") and cluster.services()["vm:101"][1] == "stopped"
    assert cluster.where(102) == "pve2"


def test_a_maintenance_request_outlives_its_node(cluster):
    HM.cmd_crm(["node-maintenance", "enable", "pve3"])
    cluster.round()
    cluster.online = ["pve1", "pve2"]  # pve3 retired without clearing it
    cluster.round(ha.LAB_FENCE_SECONDS + 1)
    cluster.online = NODES  # a node of the same name joins: it starts in maintenance
    cluster.round()
    assert ha.read_json(ha.lrm_status_path(cluster.pve, "pve3"))["mode"] == "maintenance"


def test_the_shim_refuses_what_pves_cli_refuses(cluster):
    with pytest.raises(L.PVEError, match=r"^no such cluster node 'pve9'$"):
        HM.cmd_crm(["node-maintenance", "enable", "pve9"])
    with pytest.raises(L.PVEError, match="node: value does not look like a valid node name"):
        HM.cmd_crm(["node-maintenance", "enable", "pve_2"])
    with pytest.raises(L.PVEError, match=r"^resource 'vm:103' is not HA managed$"):
        HM.cmd_crm(["migrate", "vm:103", "pve1"])


def test_status_as_status_pm_prints_it(cluster, capsys, monkeypatch):
    HM.cmd_crm(["node-maintenance", "enable", "pve3"])
    cluster.round()
    monkeypatch.setattr(HM.time, "time", lambda: cluster.now)
    HM.cmd_status([])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "quorum OK"
    assert re.fullmatch(rf"master pve1 \(active, {TIME}\)", out[1])
    assert re.fullmatch(rf"lrm pve1 \(idle, {TIME}\)", out[2])
    assert re.fullmatch(rf"lrm pve2 \(active, {TIME}\)", out[3])
    assert re.fullmatch(rf"lrm pve3 \(maintenance mode, {TIME}\)", out[4])
    assert out[5:] == ["service vm:100 (pve2, started)", "service vm:101 (pve2, stopped)",
                       "service vm:102 (pve2, disabled)", "service vm:103 (pve3, ignored)"]
    monkeypatch.setenv("PROXMOX_HA_LAB_PVE_MAJOR", "9")  # pve-ha-manager 5.1.3+: fencing and watchdogs
    HM.cmd_status([])
    out = capsys.readouterr().out.splitlines()
    assert out[2] == "fencing armed (CRM watchdog active)"
    assert re.fullmatch(rf"lrm pve1 \(idle, watchdog standby, {TIME}\)", out[3])
    assert re.fullmatch(rf"lrm pve2 \(active, watchdog active, {TIME}\)", out[4])
    monkeypatch.setattr(L, "quorate", lambda: False)
    HM.cmd_status([])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "quorum No quorum on node 'pve1'!" and "service vm:100 (pve2, freeze)" in out
