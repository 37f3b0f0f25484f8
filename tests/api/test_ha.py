"""HA groups/resources/rules over the API, in the format of (and readable by) the ha-manager shim."""
import time
from collections import OrderedDict

import pytest

from lab.pve import ha
from lab.shims import ha_manager, pvelib


@pytest.fixture
def shim_at(lab, monkeypatch):
    """Point the ha-manager shim (and pvelib's cfs locks) at the test's pve dir."""
    def at(pve):
        monkeypatch.setattr(pvelib, "PVE", pve)
        # Not a cluster member on this machine (no local corosync.conf): the shim's writes need no quorum.
        monkeypatch.setattr(pvelib, "COROSYNC_CONF", pve / "local-corosync.conf")
        monkeypatch.setattr(ha_manager, "HA", pve / "ha")
        monkeypatch.setattr(ha_manager, "GROUPS", pve / "ha" / "groups.cfg")
        monkeypatch.setattr(ha_manager, "RESOURCES", pve / "ha" / "resources.cfg")
        monkeypatch.setattr(ha_manager, "RULES", pve / "ha" / "rules.cfg")
    return at


def test_group_and_resource_files_are_pve_format(lab, shim_at):
    c = lab.client()
    assert c.post("/cluster/ha/groups", {"group": "critical_services", "nodes": "pve1:2,pve2:1,pve3:1",
                                         "nofailback": "0", "restricted": "0", "type": "group"})[0] == 200
    assert c.post("/cluster/ha/resources", {"sid": "vm:100", "state": "started", "group": "critical_services",
                                            "max_restart": "3", "max_relocate": "3"})[0] == 200
    groups = pvelib.read_sections(lab.pve / "ha" / "groups.cfg")
    assert groups == [["group", "critical_services",
                       OrderedDict([("nodes", "pve1:2,pve2:1,pve3:1"), ("nofailback", "0"), ("restricted", "0")])]]
    res = pvelib.read_sections(lab.pve / "ha" / "resources.cfg")
    assert res == [["vm", "100", OrderedDict([("group", "critical_services"), ("max_relocate", "3"),
                                               ("max_restart", "3"), ("state", "started")])]]
    assert (lab.pve / "ha" / "resources.cfg").read_text().startswith("vm: 100\n\tgroup critical_services\n")
    # the shim's own readers agree
    shim_at(lab.pve)
    assert ha_manager.parse_nodes(groups[0][2]["nodes"]) == {"pve1": 2, "pve2": 1, "pve3": 1}
    # and the shim can modify what the API wrote; the API sees it
    assert ha_manager.cmd_set(["vm:100", "--state", "stopped"]) == 0
    data = c.get("/cluster/ha/resources/vm:100")[2]["data"]
    assert data["state"] == "stopped" and data["max_restart"] == 3 and data["sid"] == "vm:100"


def test_group_written_by_shim_is_returned(lab, shim_at):
    shim_at(lab.pve)
    assert ha_manager.cmd_groupadd(["web", "--nodes", "pve2:1,pve3", "--restricted", "1"]) == 0
    status, _, body = lab.client().get("/cluster/ha/groups/web")
    assert status == 200
    d = body["data"]
    assert (d["group"], d["type"], d["nodes"], d["restricted"], d["nofailback"]) == ("web", "group", "pve2:1,pve3", 1, 0)
    assert [g["group"] for g in lab.client().get("/cluster/ha/groups")[2]["data"]] == ["web"]


def test_ha_errors_like_pve(lab):
    c = lab.client()
    status, reason, _ = c.get("/cluster/ha/groups/nope")
    assert (status, reason) == (500, "no such ha group 'nope'")
    status, reason, _ = c.get("/cluster/ha/resources/vm:999")
    assert (status, reason) == (500, "no such resource 'vm:999'")
    c.post("/cluster/ha/groups", {"group": "g1", "nodes": "pve1"})
    status, reason, _ = c.post("/cluster/ha/groups", {"group": "g1", "nodes": "pve1"})
    assert status == 500 and "already defined" in reason
    # wrong enum, missing required, unknown parameter
    status, _, body = c.post("/cluster/ha/resources", {"sid": "vm:100", "state": "running"})
    assert status == 400
    assert body["errors"] == {"state": "value 'running' does not have a value in the enumeration "
                                       "'started, stopped, enabled, disabled, ignored'"}
    status, _, body = c.post("/cluster/ha/groups", {"group": "g2"})
    assert status == 400 and body["errors"] == {"nodes": "property is missing and it is not optional"}
    status, _, body = c.post("/cluster/ha/groups", {"group": "g2", "nodes": "pve1", "colour": "red"})
    assert status == 400
    assert body["errors"] == {"colour": "property is not defined in schema and the schema does not allow "
                                        "additional properties"}
    status, _, body = c.post("/cluster/ha/resources", {"sid": "vm:100", "max_restart": "x"})
    assert body["errors"] == {"max_restart": "type check ('integer') failed - got 'x'"}
    status, _, body = c.post("/cluster/ha/groups", {"group": "g3", "nodes": "pve1", "restricted": "true"})
    assert body["errors"] == {"restricted": "type check ('boolean') failed - got 'true'"}
    # group in use
    c.post("/cluster/ha/resources", {"sid": "vm:100", "group": "g1"})
    status, reason, _ = c.delete("/cluster/ha/groups/g1")
    assert status == 500 and "is used by service 'vm:100'" in reason
    # update with delete
    assert c.put("/cluster/ha/resources/vm:100", {"delete": "group", "comment": "x"})[0] == 200
    assert "group" not in c.get("/cluster/ha/resources/vm:100")[2]["data"]
    assert c.delete("/cluster/ha/groups/g1")[0] == 200
    status, reason, _ = c.delete("/cluster/ha/resources/vm:101")
    assert (status, reason) == (500, "cannot delete service 'vm:101', not HA managed!")
    assert c.get("/cluster/ha/rules")[0] == 501  # PVE 8 has no rules
    status, _, body = c.post("/cluster/ha/groups", {"group": "g", "nodes": "pve1"})
    assert body["errors"] == {"group": "invalid format - invalid configuration ID 'g'"}


def test_json_body_is_accepted(lab):
    c = lab.client()
    status, _, _ = c.call("POST", "/cluster/ha/groups", {"group": "jg", "nodes": "pve1", "restricted": True},
                          json_body=True)
    assert status == 200
    assert c.get("/cluster/ha/groups/jg")[2]["data"]["restricted"] == 1


def test_status_current(lab):
    c = lab.client()
    c.post("/cluster/ha/groups", {"group": "grp", "nodes": "pve2:2,pve3:1"})
    c.post("/cluster/ha/resources", {"sid": "vm:100", "group": "grp"})
    st = c.get("/cluster/ha/status/current")[2]["data"]
    assert st[0] == {"id": "quorum", "type": "quorum", "node": "pve1", "quorate": 1, "status": "OK"}
    assert [(e["node"], e["state"]) for e in st if e["type"] == "service"] == [("pve1", "queued")]  # no CRM round yet
    ha.crm_round(lab.pve, "pve1", ["pve1", "pve2", "pve3"], ["pve1", "pve2", "pve3"], 8, time.time(), lambda m: None)
    st = c.get("/cluster/ha/status/current")[2]["data"]
    svc = [e for e in st if e["type"] == "service"][0]
    assert svc["sid"] == "vm:100" and svc["node"] == "pve2" and svc["state"] == "started"
    assert (lab.pve / "nodes" / "pve2" / "qemu-server" / "100.conf").exists()  # the CRM moved it to its group's node
    lab.quorum["quorate"] = False
    st = c.get("/cluster/ha/status/current")[2]["data"]
    assert st[0]["quorate"] == 0 and st[0]["status"] == "No quorum on node 'pve1'!"
    assert [e for e in st if e["type"] == "service"][0]["state"] == "freeze"


def test_pve9_rules(lab9):
    c = lab9.client()
    status, reason, _ = c.post("/cluster/ha/groups", {"group": "grp", "nodes": "pve1"})
    assert (status, reason) == (500, "cannot create group: ha groups have been migrated to rules")
    assert c.post("/cluster/ha/resources", {"sid": "vm:100", "failback": "1"})[0] == 200
    status, reason, _ = c.post("/cluster/ha/rules", {"rule": "r1", "type": "node-affinity", "resources": "vm:101",
                                                     "nodes": "pve1"})
    assert status == 500 and "cannot use unmanaged resource(s) vm:101." in reason
    assert c.post("/cluster/ha/rules", {"rule": "r1", "type": "node-affinity", "resources": "vm:100",
                                        "nodes": "pve1:2,pve2", "strict": "1"})[0] == 200
    assert (lab9.pve / "ha" / "rules.cfg").read_text() == \
        "node-affinity: r1\n\tnodes pve1:2,pve2\n\tresources vm:100\n\tstrict 1\n\n"
    r = c.get("/cluster/ha/rules/r1")[2]["data"]
    assert (r["rule"], r["type"], r["nodes"], r["resources"], r["strict"]) == ("r1", "node-affinity", "pve1:2,pve2",
                                                                             "vm:100", 1)
    assert c.put("/cluster/ha/rules/r1", {"type": "node-affinity", "strict": "0", "resources": "vm:100"})[0] == 200
    status, reason, _ = c.get("/cluster/ha/rules/nope")
    assert (status, reason) == (500, "no such ha rule 'nope'")
    # deleting the resource purges it from rules (and the now empty rule)
    assert c.delete("/cluster/ha/resources/vm:100")[0] == 200
    assert c.get("/cluster/ha/rules")[2]["data"] == []


def test_ha_resources_only_for_guests_that_exist(lab, shim_at):
    """pve-ha-manager's create checks the guest is in the cluster's vmlist, and that its type matches."""
    c = lab.client()
    status, reason, _ = c.post("/cluster/ha/resources", {"sid": "vm:999"})
    assert (status, reason) == (500, "resource 'vm:999' does not exist in cluster")
    status, reason, _ = c.post("/cluster/ha/resources", {"sid": "vm:200"})
    assert (status, reason) == (500, "resource 'vm:200' - guest with ID 200 is not a VM")
    status, reason, _ = c.post("/cluster/ha/resources", {"sid": "999"})
    assert (status, reason) == (500, "unable to detect SID from VMID - VM/CT 999 does not exist")
    # A bare VMID takes the guest's type.
    assert c.post("/cluster/ha/resources", {"sid": "200"})[0] == 200
    assert c.get("/cluster/ha/resources/ct:200")[0] == 200
    assert not (lab.pve / "ha" / "resources.cfg").read_text().count("999")
    shim_at(lab.pve)
    with pytest.raises(pvelib.PVEError, match=r"^resource 'vm:999' does not exist in cluster$"):
        ha_manager.cmd_add(["vm:999"])
    assert ha_manager.cmd_add(["vm:101", "--state", "stopped"]) == 0


def test_no_writes_without_quorum(lab):
    c = lab.client()
    lab.quorum["quorate"] = False
    status, reason, _ = c.post("/cluster/ha/resources", {"sid": "vm:100"})
    assert (status, reason) == (500, "cluster not ready - no quorum?")
    assert c.get("/cluster/ha/resources")[0] == 200
    lab.quorum["quorate"] = True
    assert c.post("/cluster/ha/resources", {"sid": "vm:100"})[0] == 200
