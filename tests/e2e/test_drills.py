"""Drills on the engine-built cluster: a partition keeps the majority, an OSD down keeps the data, a rolling
update keeps quorum and data, and the runbook's safe blocks run."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import threading
import time

import pytest

from lab.common import STORAGE_NET
from remote import probes
from remote.step import probe

from . import alerts
from .conftest import REPO, STACK
from .helpers import NODES, QuorumWatch, pgs_clean, quorum, wait_until

pytestmark = pytest.mark.lab


NFT_CUT = ("nft add table inet drill && "
           "nft add chain inet drill in '{ type filter hook input priority 0; }' && "
           "nft add chain inet drill out '{ type filter hook output priority 0; }' && "
           "nft add rule inet drill in udp dport 5405-5412 drop && nft add rule inet drill in udp sport 5405-5412 drop && "
           "nft add rule inet drill out udp dport 5405-5412 drop && nft add rule inet drill out udp sport 5405-5412 drop")


def test_partition_keeps_the_majority_and_heals(converged):
    with alerts.receiver() as posted:
        partition_and_heal(converged, posted)


def partition_and_heal(converged, posted: list[dict]):
    converged.ok("pve3", NFT_CUT)
    try:
        wait_until("pve1 to see 2 votes", lambda: quorum(converged, "pve1") == (True, 2), 60)
        wait_until("pve3 to lose quorum", lambda: not quorum(converged, "pve3")[0], 60)
        assert quorum(converged, "pve2") == (True, 2)
        assert converged.ok("pve3", "ha-manager status").splitlines()[0] == "quorum No quorum on node 'pve3'!"
        assert converged.ok("pve1", "ha-manager status").splitlines()[0] == "quorum OK"
        # pve3's exporter reads its own node's API, which says the cluster is not quorate there.
        assert alerts.wait_firing(converged, "PveNodeNotQuorate", node="pve3")["id"].startswith("cluster/")
        assert alerts.firing(converged, "PveClusterQuorumLost") == [], "the majority kept quorum"
        # Alertmanager tells the stack's webhook after its group_wait (10 s).
        wait_until("the webhook to be told", lambda: alerts.notified(posted, "PveNodeNotQuorate", "firing", node="pve3"), 30)
    finally:
        converged.ok("pve3", "nft delete table inet drill")
    wait_until("all three quorate again", lambda: all(quorum(converged, n) == (True, 3) for n in NODES), 90)
    alerts.wait_resolved(converged, "PveNodeNotQuorate", node="pve3")


# Link 1 (the storage network) of pve3 only: corosync keeps it a member over link 0.
LINK1_CUT = ("nft add table inet drill && "
             "nft add chain inet drill in '{ type filter hook input priority 0; }' && "
             "nft add chain inet drill out '{ type filter hook output priority 0; }' && "
             f"nft add rule inet drill in ip saddr {STORAGE_NET} udp dport 5405-5412 drop && "
             f"nft add rule inet drill out ip daddr {STORAGE_NET} udp dport 5405-5412 drop")
# What the node's proxmox-ha-corosync-links.timer runs every 15 s (the lab's systemd stand-in fires no timers).
LINKS_TIMER = "/usr/local/sbin/proxmox-ha-corosync-links.sh"


def link_up(lab, node: str, peer_id: int, link: int) -> bool:
    said = lab.ok(node, f"corosync-cmapctl -m stats -g stats.knet.node{peer_id}.link{link}.connected")
    return said.strip().endswith("= 1")


def test_a_cut_corosync_link_keeps_every_vote_and_fires_until_it_heals(converged):
    converged.ok("pve3", LINK1_CUT)
    try:
        wait_until("pve1 to see link 1 to pve3 down", lambda: not link_up(converged, "pve1", 3, 1), 60)
        assert all(quorum(converged, n) == (True, 3) for n in NODES), "link 0 carries corosync alone"
        converged.ok("pve1", LINKS_TIMER)
        labels = alerts.wait_firing(converged, "CorosyncLinkDown", node="pve1", peer="pve3")
        assert labels["link"] == "1"
    finally:
        converged.ok("pve3", "nft delete table inet drill")
    wait_until("link 1 to pve3 back", lambda: link_up(converged, "pve1", 3, 1), 60)
    converged.ok("pve1", LINKS_TIMER)
    alerts.wait_resolved(converged, "CorosyncLinkDown", node="pve1", peer="pve3")


def test_an_osd_down_keeps_data_readable_and_writable(converged):
    converged.ok("pve1", "echo before-the-failure > /tmp/obj && rados -p vm-storage put drill-before /tmp/obj")
    osd = converged.ok("pve2", "ls /var/lib/ceph/osd").split()[0].split("-")[1]
    converged.ok("pve2", f"systemctl stop ceph-osd@{osd}")
    try:
        wait_until("the OSD to be marked down", lambda: converged.ssh("pve1", probe(probes.osd_is(osd, "down"))).returncode == 0, 90)
        health = json.loads(converged.ok("pve1", "ceph health --format json"))
        assert health["status"] == "HEALTH_WARN" and "OSD_DOWN" in health["checks"], health
        assert converged.ok("pve1", "rados -p vm-storage get drill-before - ").strip() == "before-the-failure"
        # min_size 2: two of three replicas still take writes.
        converged.ok("pve1", "echo during-the-failure > /tmp/obj2 && timeout 60 rados -p vm-storage put drill-during /tmp/obj2")
        # Ceph's mgr module names the OSD.
        alerts.wait_firing(converged, "CephOsdDown", ceph_daemon=f"osd.{osd}")
    finally:
        converged.ok("pve2", f"systemctl start ceph-osd@{osd}")
    wait_until("all PGs active+clean", lambda: pgs_clean(converged), 180)
    alerts.wait_resolved(converged, "CephOsdDown", ceph_daemon=f"osd.{osd}")
    assert converged.ok("pve3", "rados -p vm-storage get drill-during -").strip() == "during-the-failure"


def test_rolling_update_keeps_quorum_and_data(converged):
    assert "service vm:100" in converged.ok("pve1", "ha-manager status")  # the engine made the group and resource
    converged.ok("pve1", "echo kept > /tmp/kept && rados -p vm-storage put kept /tmp/kept")
    problems: list[str] = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            readers = [n for n in NODES if converged.ssh(n, "timeout 20 rados -p vm-storage get kept -").stdout.strip() == "kept"]
            if not readers:
                problems.append("object unreadable from every node")
            time.sleep(1)

    watch_quorum = QuorumWatch(converged, tuple(NODES), lambda quorate: sum(quorate.values()) >= 2)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ops", "--stack-file", str(STACK), "--ssh-key", converged.info["ssh"]["private_key"],
             "--known-hosts", converged.info["ssh"]["known_hosts"], "rolling-update",
             "--upgrade-command", "apt-get update", "--reboot-command", "systemctl restart corosync ceph.target", "--timeout", "300"],
            cwd=REPO, capture_output=True, text=True, timeout=1500,
        )
    finally:
        stop.set()
        watcher.join()
        problems += [f"fewer than 2 nodes quorate at {moment}" for moment in watch_quorum.stop()]
    assert result.returncode == 0, result.stderr[-3000:]
    for node in NODES:
        assert f"{node}] 7/7" in result.stderr
    assert problems == []
    assert "noout" not in converged.ok("pve1", "ceph osd dump | grep ^flags")
    assert "maintenance" not in converged.ok("pve1", "ha-manager status")


def _runbook_blocks() -> list[tuple[bool, str]]:
    """The blocks run on a node: (lab-safe?, body). `operator` blocks run where the stack lives (test_scale.py)."""
    text = (REPO / "docs" / "runbook.md").read_text()
    return [(info.strip() == "bash lab-safe", body) for info, body in re.findall(r"```(bash[^\n]*)\n(.*?)```", text, re.S)
            if info.strip() != "bash operator"]


KNOWN_COMMANDS = {"pvecm", "pveceph", "pvesm", "ha-manager", "ceph", "corosync-cfgtool", "proxmox-config-backup.sh",
                  "tar", "ls", "mkdir", "pveversion", "pve8to9"}


def test_runbook_uses_only_real_commands():
    blocks = _runbook_blocks()
    assert sum(safe for safe, _ in blocks) >= 3 and len(blocks) > sum(safe for safe, _ in blocks)
    for _, body in blocks:
        for line in body.splitlines():
            command = line.split("#")[0].strip()
            if command:
                assert command.split()[0] in KNOWN_COMMANDS, command


def test_runbook_safe_blocks_run_on_the_lab(converged):
    for safe, body in _runbook_blocks():
        if safe:
            result = converged.ssh("pve1", f"bash -euo pipefail -c {shlex.quote(body)}")
            assert result.returncode == 0, f"{body}\n{result.stderr}"
