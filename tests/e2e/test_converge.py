"""End to end on the lab: a node dies mid-join and the next run recovers; the result matches the stack;
a second run changes nothing; partition, OSD loss and a rolling update keep the cluster serving."""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time

import pytest

from lab.common import Paths
from tests.lab.conftest import lab_cli

from .conftest import REPO, STACK, converge

pytestmark = pytest.mark.lab
NODES = ("pve1", "pve2", "pve3")


def wait_until(what: str, condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(1)


def quorum(lab, node: str) -> tuple[bool, int]:
    out = lab.ssh(node, "pvecm status").stdout
    total = re.search(r"^Total votes:\s+(\d+)", out, re.M)
    return bool(re.search(r"^Quorate:\s+Yes", out, re.M)), int(total.group(1)) if total else 0


def pgs_clean(lab) -> bool:
    out = lab.ssh("pve1", "ceph pg stat").stdout
    match = re.search(r"(\d+) pgs: (\d+) active\+clean;", out)
    return bool(match) and match.group(1) == match.group(2)


def test_node_lost_during_the_joins_fails_naming_it_and_the_next_run_recovers(fresh_lab, tmp_path):
    info = fresh_lab.info
    log = tmp_path / "converge.log"
    run = subprocess.Popen(
        [sys.executable, "-m", "tools.converge", str(STACK), "--ssh-key", info["ssh"]["private_key"], "--known-hosts", info["ssh"]["known_hosts"]],
        cwd=REPO, stderr=log.open("w"), stdout=subprocess.DEVNULL, text=True,
    )
    shared_conf = Paths().pve / "corosync.conf"
    wait_until("pve2 to join", lambda: shared_conf.exists() and "name: pve2" in shared_conf.read_text(), 300)
    # The host dies: its sshd (and so its sessions) is gone before its own join.
    sshd = int(Paths().sshd_pidfile("pve3").read_text())
    os.kill(sshd, signal.SIGKILL)
    run.wait(timeout=600)
    stderr = log.read_text()
    assert run.returncode == 1, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    assert re.search(r"step '[\w-]+' failed on node pve3", last), last
    assert "run again: finished steps are skipped" in last
    assert quorum(fresh_lab, "pve1") == (True, 2)

    lab_cli("up")  # the host comes back (sshd restarted); nothing else is done by hand
    second = converge(info)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "pve1 cluster-create] proxmox-ha: cluster-create on pve1: already done, skipped" in second.stderr
    for node in NODES:
        assert quorum(fresh_lab, node) == (True, 3)


def test_the_converged_cluster_is_the_stack(fresh_lab):
    conf = fresh_lab.ok("pve1", "cat /etc/pve/corosync.conf")
    assert "cluster_name: lab-cluster" in conf
    assert "crypto_cipher: aes256" in conf and "crypto_hash: sha256" in conf
    for address in ("10.254.10.13", "10.254.100.13"):
        assert address in conf
    for node in NODES:
        assert fresh_lab.ok(node, "grep -x WATCHDOG_MODULE=softdog /etc/default/pve-ha-manager")
        hosts = fresh_lab.ok(node, "cat /etc/hosts")
        assert "10.254.10.12 pve2" in hosts and "# BEGIN proxmox-ha managed hosts" in hosts
        assert fresh_lab.ok(node, "test -x /usr/local/sbin/proxmox-config-backup.sh && echo yes").strip() == "yes"
    assert fresh_lab.ok("pve1", "ceph osd pool get vm-storage size").strip() == "size: 3"
    assert fresh_lab.ok("pve1", "ceph osd pool get vm-storage min_size").strip() == "min_size: 2"
    assert "rbd: vm-storage" in fresh_lab.ok("pve1", "cat /etc/pve/storage.cfg")
    assert fresh_lab.ok("pve1", "ceph config get client rbd_cache").strip() == "true"
    assert fresh_lab.ok("pve1", "ceph config get osd osd_scrub_begin_hour").strip() == "2"
    assert len(re.findall(r"\bosd\.\d+\s+up\b", fresh_lab.ok("pve1", "ceph osd tree"))) == 3
    assert pgs_clean(fresh_lab)


def test_a_second_run_changes_nothing(fresh_lab):
    version = lambda: re.search(r"config_version: (\d+)", fresh_lab.ok("pve1", "cat /etc/pve/corosync.conf")).group(1)  # noqa: E731
    before = version()
    again = converge(fresh_lab.info)
    assert again.returncode == 0, again.stderr[-3000:]
    acted = [line for line in again.stderr.splitlines() if line.endswith(": done")]
    skipped = [line for line in again.stderr.splitlines() if line.endswith("already done, skipped")]
    assert acted == [] and len(skipped) > 30
    assert version() == before


NFT_CUT = ("nft add table inet drill && "
           "nft add chain inet drill in '{ type filter hook input priority 0; }' && "
           "nft add chain inet drill out '{ type filter hook output priority 0; }' && "
           "nft add rule inet drill in udp dport 5405-5412 drop && nft add rule inet drill in udp sport 5405-5412 drop && "
           "nft add rule inet drill out udp dport 5405-5412 drop && nft add rule inet drill out udp sport 5405-5412 drop")


def test_partition_keeps_the_majority_and_heals(fresh_lab):
    fresh_lab.ok("pve3", NFT_CUT)
    try:
        wait_until("pve1 to see 2 votes", lambda: quorum(fresh_lab, "pve1") == (True, 2), 60)
        wait_until("pve3 to lose quorum", lambda: not quorum(fresh_lab, "pve3")[0], 60)
        assert quorum(fresh_lab, "pve2") == (True, 2)
        assert fresh_lab.ok("pve3", "ha-manager status").splitlines()[0] == "quorum No quorum"
        assert fresh_lab.ok("pve1", "ha-manager status").splitlines()[0] == "quorum OK"
    finally:
        fresh_lab.ok("pve3", "nft delete table inet drill")
    wait_until("all three quorate again", lambda: all(quorum(fresh_lab, n) == (True, 3) for n in NODES), 90)


def test_an_osd_down_keeps_data_readable_and_writable(fresh_lab):
    fresh_lab.ok("pve1", "echo before-the-failure > /tmp/obj && rados -p vm-storage put drill-before /tmp/obj")
    osd = fresh_lab.ok("pve2", "ls /var/lib/ceph/osd").split()[0].split("-")[1]
    fresh_lab.ok("pve2", f"systemctl stop ceph-osd@{osd}")
    try:
        wait_until("the OSD to be marked down", lambda: f"osd.{osd}" in fresh_lab.ok("pve1", "ceph osd tree down"), 90)
        assert "HEALTH_WARN" in fresh_lab.ok("pve1", "ceph health")
        assert fresh_lab.ok("pve1", "rados -p vm-storage get drill-before - ").strip() == "before-the-failure"
        # min_size 2: two of three replicas still take writes.
        fresh_lab.ok("pve1", "echo during-the-failure > /tmp/obj2 && timeout 60 rados -p vm-storage put drill-during /tmp/obj2")
    finally:
        fresh_lab.ok("pve2", f"systemctl start ceph-osd@{osd}")
    wait_until("all PGs active+clean", lambda: pgs_clean(fresh_lab), 180)
    assert fresh_lab.ok("pve3", "rados -p vm-storage get drill-during -").strip() == "during-the-failure"


def test_rolling_update_keeps_quorum_and_data(fresh_lab):
    fresh_lab.ok("pve1", "ha-manager groupadd critical_services --nodes pve1:2,pve2:1,pve3:1 && ha-manager add vm:100 --group critical_services --state started")
    fresh_lab.ok("pve1", "echo kept > /tmp/kept && rados -p vm-storage put kept /tmp/kept")
    problems: list[str] = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            quorate = sum(quorum(fresh_lab, n)[0] for n in NODES)
            if quorate < 2:
                problems.append(f"only {quorate} node(s) quorate")
            readers = [n for n in NODES if fresh_lab.ssh(n, "timeout 20 rados -p vm-storage get kept -").stdout.strip() == "kept"]
            if not readers:
                problems.append("object unreadable from every node")
            time.sleep(1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ops", "--stack-file", str(STACK), "--ssh-key", fresh_lab.info["ssh"]["private_key"],
             "--known-hosts", fresh_lab.info["ssh"]["known_hosts"], "rolling-update",
             "--upgrade-command", "apt-get update", "--reboot-command", "systemctl restart corosync ceph.target", "--timeout", "300"],
            cwd=REPO, capture_output=True, text=True, timeout=1500,
        )
    finally:
        stop.set()
        watcher.join()
    assert result.returncode == 0, result.stderr[-3000:]
    for node in NODES:
        assert f"{node}] 7/7" in result.stderr
    assert problems == []
    assert "noout" not in fresh_lab.ok("pve1", "ceph osd dump | grep ^flags")
    assert "maintenance" not in fresh_lab.ok("pve1", "ha-manager status")


def _runbook_blocks() -> list[tuple[bool, str]]:
    text = (REPO / "docs" / "runbook.md").read_text()
    return [(info.strip() == "bash lab-safe", body) for info, body in re.findall(r"```(bash[^\n]*)\n(.*?)```", text, re.S)]


KNOWN_COMMANDS = {"pvecm", "pveceph", "pvesm", "ha-manager", "ceph", "corosync-cfgtool", "proxmox-config-backup.sh",
                  "tar", "ls", "mkdir"}


def test_runbook_uses_only_real_commands():
    blocks = _runbook_blocks()
    assert sum(safe for safe, _ in blocks) >= 3 and len(blocks) > sum(safe for safe, _ in blocks)
    for _, body in blocks:
        for line in body.splitlines():
            command = line.split("#")[0].strip()
            if command:
                assert command.split()[0] in KNOWN_COMMANDS, command


def test_runbook_safe_blocks_run_on_the_lab(fresh_lab):
    for safe, body in _runbook_blocks():
        if safe:
            result = fresh_lab.ssh("pve1", f"bash -euo pipefail -c {shlex.quote(body)}")
            assert result.returncode == 0, f"{body}\n{result.stderr}"
