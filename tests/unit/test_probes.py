"""The product's readers of PVE's and Ceph's output (remote/probes.py), each over a fake tool that prints what
the real one does, quirks included; run as `probe()` runs them for ops and the tests."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from remote import probes
from remote.step import probe


class Tools:
    """Fake PVE and Ceph tools on PATH: each prints a file's text on stdout (and stderr) and exits with a status."""

    def __init__(self, root: Path):
        self.bin = root

    def fake(self, name: str, stdout: str = "", stderr: str = "", status: int = 0) -> None:
        (self.bin / f"{name}.out").write_text(stdout)
        (self.bin / f"{name}.err").write_text(stderr)
        tool = self.bin / name
        tool.write_text(f'#!/bin/sh\ncat "{self.bin}/{name}.out"; cat "{self.bin}/{name}.err" >&2; exit {status}\n')
        tool.chmod(0o755)

    def ask(self, command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", probe(command)], capture_output=True, text=True, timeout=30,
                              env={"PATH": f"{self.bin}:/usr/bin:/bin"})


@pytest.fixture
def tools(tmp_path):
    return Tools(tmp_path)


# --- pvecm status -------------------------------------------------------------------------------------------
def pvecm_status(quorate: bool, expected: int, total: int, quorum: int) -> str:
    """`pvecm status` as PVE 8 and 9 print it: corosync-quorumtool's blocks, "Quorum provider:" and "Flags:
    Quorate" among them, and a quorum line that says "Activity blocked" when not quorate."""
    return ("Cluster information\n-------------------\nName:             lab-cluster\nConfig Version:   3\n"
            "Transport:        knet\nSecure auth:      on\n\nQuorum information\n------------------\n"
            "Date:             Tue Mar  4 10:00:00 2025\nQuorum provider:  corosync_votequorum\nNodes:            2\n"
            f"Node ID:          0x00000001\nRing ID:          1.2d\nQuorate:          {'Yes' if quorate else 'No'}\n\n"
            "Votequorum information\n----------------------\n"
            f"Expected votes:   {expected}\nHighest expected: {expected}\nTotal votes:      {total}\n"
            f"Quorum:           {quorum} {'' if quorate else 'Activity blocked'}\n"
            f"Flags:            {'Quorate ' if quorate else ''}Qdevice\n\nMembership information\n----------------------\n"
            "    Nodeid      Votes    Qdevice Name\n0x00000001          1    A,V,NMW 10.0.10.11 (local)\n")


def test_pvecm_status_reads_quorate_and_the_votes(tools):
    tools.fake("pvecm", pvecm_status(True, 3, 3, 2))
    assert tools.ask(probes.QUORATE).returncode == 0
    assert [tools.ask(p).stdout for p in (probes.TOTAL_VOTES, probes.EXPECTED_VOTES, probes.QUORUM_VOTES)] == ["3\n", "3\n", "2\n"]


def test_pvecm_status_not_quorate_exits_2_and_still_gives_its_numbers(tools):
    tools.fake("pvecm", pvecm_status(False, 3, 1, 2), status=2)
    assert tools.ask(probes.QUORATE).returncode == 1
    assert [tools.ask(p).stdout for p in (probes.TOTAL_VOTES, probes.EXPECTED_VOTES, probes.QUORUM_VOTES)] == ["1\n", "3\n", "2\n"]


def test_pvecm_status_outside_a_cluster_is_not_quorate_and_has_no_numbers(tools):
    tools.fake("pvecm", stderr="Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n",
               status=2)
    assert tools.ask(probes.QUORATE).returncode == 1
    assert tools.ask(probes.TOTAL_VOTES).stdout == "" and tools.ask(probes.EXPECTED_VOTES).stdout == ""


# --- ceph pg stat -------------------------------------------------------------------------------------------
def pg_stat(states: dict[str, int], wrapped: bool = True) -> str:
    """`ceph pg stat --format json`: Reef and later wrap the summary in "pg_summary", Quincy does not."""
    summary = {"num_pg_by_state": [{"name": n, "num": c} for n, c in states.items()], "num_pgs": sum(states.values())}
    return json.dumps({"pg_ready": True, "pg_summary": summary} if wrapped else summary)


@pytest.mark.parametrize("wrapped", [True, False])
def test_pg_stat_clean_counts_scrubbing_pgs_as_clean_in_either_format(tools, wrapped):
    tools.fake("ceph", pg_stat({"active+clean": 20, "active+clean+scrubbing+deep": 8, "active+clean+scrubbing": 4}, wrapped))
    assert tools.ask(probes.ALL_PGS_CLEAN).returncode == 0
    assert tools.ask(probes.PG_COUNT).stdout == "32\n"
    tools.fake("ceph", pg_stat({"active+clean": 28, "active+undersized+degraded": 4}, wrapped))
    assert tools.ask(probes.ALL_PGS_CLEAN).returncode == 1


def test_no_pgs_is_not_clean(tools):
    tools.fake("ceph", pg_stat({}))
    assert tools.ask(probes.ALL_PGS_CLEAN).returncode == 1 and tools.ask(probes.PG_COUNT).stdout == "0\n"


def test_a_ceph_that_cannot_say_is_not_clean_and_has_no_pg_count(tools):
    tools.fake("ceph", stderr="[errno 110] RADOS timed out (error connecting to the cluster)\n", status=1)
    assert tools.ask(probes.ALL_PGS_CLEAN).returncode != 0
    count = tools.ask(probes.PG_COUNT)
    assert count.returncode == 2 and count.stdout == ""
    assert "cannot read the PG stats from Ceph: [errno 110] RADOS timed out" in count.stderr


# --- ceph mon dump ------------------------------------------------------------------------------------------
MONMAP = {"epoch": 7, "fsid": "5f2e", "mons": [
    {"rank": i, "name": n, "public_addrs": {"addrvec": [{"type": "v2", "addr": f"10.0.100.1{i}:3300", "nonce": 0}]},
     "addr": f"10.0.100.1{i}:6789/0", "public_addr": f"10.0.100.1{i}:6789/0"}
    for i, n in enumerate(("pve1", "pve10"), 1)]}


def test_the_monmap_is_read_past_cephs_stderr_chatter(tools):
    # Real `ceph mon dump` writes "dumped monmap epoch N" to stderr, and exits 0.
    tools.fake("ceph", json.dumps(MONMAP), stderr="dumped monmap epoch 7\n")
    assert tools.ask(probes.MONITORS).stdout == "pve1 10.0.100.11\npve10 10.0.100.12\n"
    assert tools.ask(probes.monitor("pve10")).returncode == 0
    assert tools.ask(probes.monitor_address("pve10")).stdout == "10.0.100.12\n"


def test_a_monitor_is_its_exact_name(tools):
    tools.fake("ceph", json.dumps({**MONMAP, "mons": MONMAP["mons"][1:]}), stderr="dumped monmap epoch 8\n")
    assert tools.ask(probes.monitor("pve1")).returncode == 1
    missing = tools.ask(probes.monitor_address("pve1"))
    assert missing.returncode == 2 and "no monitor pve1 in the monmap" in missing.stderr


@pytest.mark.parametrize("command", [probes.MONITORS, probes.monitor("pve1"), probes.monitor_address("pve1")],
                         ids=["MONITORS", "monitor", "monitor_address"])
def test_a_monmap_that_cannot_be_read_or_parsed_fails_never_reads_as_no_monitor(tools, command):
    tools.fake("ceph", stderr="error connecting to the cluster\n", status=1)
    unread = tools.ask(command)
    assert unread.returncode == 2 and "cannot read the monmap from Ceph: error connecting to the cluster" in unread.stderr
    tools.fake("ceph", "not json", stderr="dumped monmap epoch 7\n")
    unparsed = tools.ask(command)
    assert unparsed.returncode == 2 and "cannot parse the monmap from Ceph" in unparsed.stderr


# --- ceph osd dump ------------------------------------------------------------------------------------------
OSD_DUMP = ("epoch 412\nfsid 5f2e\nflags sortbitwise,recovery_deletes,purged_snapdirs,pglog_hardlimit\n"
            "pool 1 '.mgr' replicated size 3 min_size 2 crush_rule 0 object_hash rjenkins pg_num 1 pgp_num 1\n"
            "max_osd 31\n"
            "osd.3 up   out weight 0 up_from 12 up_thru 40 down_at 0 last_clean_interval [0,0) "
            "[v2:10.0.100.14:6802/1234,v1:10.0.100.14:6803/1234] exists,up 4f3e\n"
            "osd.30 down in  weight 1 up_from 9 up_thru 30 down_at 41 last_clean_interval [0,0) "
            "[v2:10.0.100.15:6802/99,v1:10.0.100.15:6803/99] exists 77aa\n")


def test_the_osd_map_gives_an_osds_state_by_its_exact_id(tools):
    tools.fake("ceph", OSD_DUMP)
    states = {(osd, state): tools.ask(probes.osd_is(osd, state)).returncode == 0
              for osd in ("3", "30") for state in ("up", "down", "in", "out")}
    assert [key for key, yes in states.items() if yes] == [("3", "up"), ("3", "out"), ("30", "down"), ("30", "in")]
    assert tools.ask(probes.osd_is("4", "down")).returncode == 1, "an OSD the map does not hold is in no state"


def test_an_osd_map_that_cannot_be_read_says_no(tools):
    tools.fake("ceph", stderr="error connecting to the cluster\n", status=1)
    assert tools.ask(probes.osd_is("3", "out")).returncode == 1


# --- ha-manager status --------------------------------------------------------------------------------------
HA_STATUS = ("quorum OK\nmaster pve1 (active, Tue Mar  4 10:00:00 2025)\nlrm pve1 (active, Tue Mar  4 10:00:01 2025)\n"
             "lrm pve4 (maintenance mode, Tue Mar  4 10:00:02 2025)\nservice ct:200 (pve4, stopped)\n"
             "service vm:100 (pve1, started)\nservice vm:101 (pve4, started)\nservice vm:102 (pve4, ignored)\n")


def test_ha_services_by_node_and_state(tools):
    tools.fake("ha-manager", HA_STATUS)
    assert tools.ask(probes.ha_services("pve4")).stdout.split() == ["ct:200", "vm:101", "vm:102"]
    assert tools.ask(probes.ha_services("pve4", "started|stopped")).stdout.split() == ["ct:200", "vm:101"]
    assert tools.ask(probes.ha_services("pve4", but="ignored")).stdout.split() == ["ct:200", "vm:101"]
    assert tools.ask(probes.ha_services("pve1", "stopped")).stdout == ""


def test_ha_services_fail_when_ha_manager_cannot_say(tools):
    tools.fake("ha-manager", stderr="ipcc_send_rec[1] failed: Connection refused\n", status=255)
    unread = tools.ask(probes.ha_services("pve4"))
    assert unread.returncode == 2 and "cannot read ha-manager status: ipcc_send_rec[1] failed" in unread.stderr


# --- Ceph releases and the monitors' quorum -------------------------------------------------------------------
QUORUM = {"quorum_names": ["pve1", "pve2"], "monmap": {"mons": [{"name": "pve1"}, {"name": "pve2"}, {"name": "pve3"}]}}


def test_a_daemons_release_is_its_metadatas_and_a_ceph_that_cannot_say_fails(tools):
    tools.fake("ceph", json.dumps({"addrs": "[v2:10.0.100.11:3300/0]", "ceph_release": "squid", "hostname": "pve1"}))
    assert tools.ask(probes.daemon_release("mon", "pve1")).stdout == "squid\n"
    tools.fake("ceph", stderr="Error ENOENT: mon.pve9 does not exist\n", status=2)
    unread = tools.ask(probes.daemon_release("mon", "pve9"))
    assert unread.returncode == 2 and "cannot read the metadata of mon.pve9 from Ceph: Error ENOENT" in unread.stderr


def test_the_quorum_holds_every_monitor_or_not_and_unread_is_no(tools):
    tools.fake("ceph", json.dumps(QUORUM))
    assert tools.ask(probes.in_quorum("pve2")).returncode == 0 and tools.ask(probes.in_quorum("pve3")).returncode == 1
    assert tools.ask(probes.MONITORS_ALL_IN_QUORUM).returncode == 1
    tools.fake("ceph", json.dumps({**QUORUM, "quorum_names": ["pve3", "pve1", "pve2"]}))
    assert tools.ask(probes.MONITORS_ALL_IN_QUORUM).returncode == 0
    tools.fake("ceph", stderr="[errno 110] RADOS timed out (error connecting to the cluster)\n", status=1)
    # A no (its subshell ends at `fail`): a step's guard refuses, a wait goes on waiting.
    assert tools.ask(probes.MONITORS_ALL_IN_QUORUM).returncode != 0 and tools.ask(probes.in_quorum("pve1")).returncode != 0


def test_the_osd_maps_required_release(tools):
    tools.fake("ceph", '\n{"epoch":40,"flags":"sortbitwise","require_osd_release":"reef"}', stderr="")
    assert tools.ask(probes.REQUIRED_OSD_RELEASE).stdout == "reef\n"
