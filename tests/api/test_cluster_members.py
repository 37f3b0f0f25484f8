"""Who is online, as the lab's API and HA daemons read it from `corosync-quorumtool -l`: the nodelist's members
corosync lists, never the QDevice's own row (PVE's /cluster/status and pvecm take members from corosync.conf's
nodelist, by nodeid; a QDevice is a vote, not a node)."""
from __future__ import annotations

from lab.api.core import ClusterView
from lab.api.store import Store
from lab.pve import corosync

from .conftest import COROSYNC

# corosync-quorumtool -l with a QDevice: a flags column before the name, and the device's row with nodeid 0.
LISTED = """
Membership information
----------------------
    Nodeid      Votes    Qdevice Name
         1          1    A,V,NMW pve1 (local)
         2          1    A,V,NMW pve2
         0          1            Qdevice
"""


def fake_quorumtool(tmp_path, monkeypatch):
    tool = tmp_path / "bin" / "corosync-quorumtool"
    tool.parent.mkdir()
    tool.write_text(f"#!/bin/sh\n[ \"$1\" = -s ] && exit 0\ncat <<'END'\n{LISTED}END\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tool.parent}:/usr/bin:/bin")


def test_the_api_counts_no_qdevice_among_the_members(tmp_path, monkeypatch):
    fake_quorumtool(tmp_path, monkeypatch)
    (tmp_path / "corosync.conf").write_text(COROSYNC)
    assert sorted(ClusterView(Store(tmp_path), "pve1").members()) == ["pve1", "pve2"]


def test_the_ha_daemons_count_no_qdevice_among_the_members(tmp_path, monkeypatch):
    fake_quorumtool(tmp_path, monkeypatch)
    assert corosync.online_members(corosync.parse_conf(COROSYNC)) == ["pve1", "pve2"]
