"""ha-manager node-maintenance and status (lab/shims/ha_manager.py) against pve-ha-manager's
src/PVE/CLI/ha_manager.pm (node-maintenance-set) and src/PVE/API2/HA/Status.pm, unit level."""
from __future__ import annotations

import re

import pytest

from lab.shims import ha_manager as HM
from lab.shims import pvelib as L

TIME = r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}"


@pytest.fixture
def ha(tmp_path, monkeypatch):
    ha = tmp_path / "ha"
    ha.mkdir()
    monkeypatch.setattr(L, "PVE", tmp_path)
    for name, fname in (("GROUPS", "groups.cfg"), ("RESOURCES", "resources.cfg"), ("RULES", "rules.cfg"),
                        ("LAB_STATE", "lab-manager-status.json")):
        monkeypatch.setattr(HM, name, ha / fname)
    monkeypatch.setattr(HM, "HA", ha)
    monkeypatch.setattr(L, "nodename", lambda: "pve1")
    monkeypatch.setattr(L, "quorate", lambda: True)
    monkeypatch.setattr(HM, "cluster_nodes", lambda: ["pve1", "pve2", "pve3"])
    monkeypatch.setattr(HM, "online_nodes", lambda: ["pve1", "pve2", "pve3"])
    monkeypatch.setenv("PROXMOX_HA_LAB_PVE_MAJOR", "8")
    (ha / "groups.cfg").write_text("group: prefer2\n\tnodes pve2:2,pve3:1\n\trestricted 0\n\n")
    (ha / "resources.cfg").write_text("vm: 100\n\tgroup prefer2\n\tstate started\n\n")
    return ha


def test_maintenance_of_an_unknown_node_is_refused_as_pve_does(ha):
    with pytest.raises(L.PVEError, match=r"^no such cluster node 'pve9'$"):
        HM.cmd_crm(["node-maintenance", "enable", "pve9"])
    with pytest.raises(L.PVEError, match="node: value does not look like a valid node name"):
        HM.cmd_crm(["node-maintenance", "enable", "pve_2"])


def test_a_node_in_maintenance_is_never_picked_and_shows_as_such(ha, capsys):
    HM.cmd_status([])
    assert "service vm:100 (pve2, started)" in capsys.readouterr().out
    HM.cmd_crm(["node-maintenance", "enable", "pve2"])
    HM.cmd_status([])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "quorum OK"
    assert re.fullmatch(rf"master pve1 \(active, {TIME}\)", out[1])
    assert re.fullmatch(rf"lrm pve1 \(idle, {TIME}\)", out[2])
    assert re.fullmatch(rf"lrm pve2 \(maintenance mode, {TIME}\)", out[3])
    assert re.fullmatch(rf"lrm pve3 \(active, {TIME}\)", out[4])
    assert out[5] == "service vm:100 (pve3, started)"
    HM.cmd_crm(["node-maintenance", "disable", "pve2"])
    HM.cmd_status([])
    assert "service vm:100 (pve2, started)" in capsys.readouterr().out


def test_pve9_status_shows_fencing_and_watchdogs(ha, capsys, monkeypatch):
    monkeypatch.setenv("PROXMOX_HA_LAB_PVE_MAJOR", "9")
    HM.cmd_crm(["node-maintenance", "enable", "pve3"])
    HM.cmd_status([])
    out = capsys.readouterr().out.splitlines()
    assert out[2] == "fencing armed (CRM watchdog active)"
    assert re.fullmatch(rf"lrm pve1 \(idle, watchdog standby, {TIME}\)", out[3])
    assert re.fullmatch(rf"lrm pve2 \(active, watchdog active, {TIME}\)", out[4])
    assert re.fullmatch(rf"lrm pve3 \(maintenance mode, watchdog active, {TIME}\)", out[5])


def test_without_quorum(ha, capsys, monkeypatch):
    monkeypatch.setattr(L, "quorate", lambda: False)
    HM.cmd_status([])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "quorum No quorum on node 'pve1'!"
    assert out[1].startswith("service vm:100 (") and out[1].endswith(", freeze)")
