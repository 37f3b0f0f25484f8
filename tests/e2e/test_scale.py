"""Growing and shrinking the lab's cluster with `python -m deploy up --stack lab`, on real corosync and Ceph:
3 -> 5 -> 3 nodes with the data written before still read back, and 2 nodes + a QDevice surviving one down."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.bootstrap import wait_ceph_health
from lab.common import CLUSTER_NAME, Paths, mgmt_addr
from lab.hosts import stop_host_processes
from remote import probes
from remote.step import probe
from tests.lab.conftest import Lab, lab_cli

from . import alerts
from .conftest import PASSPHRASE, REPO, STACK, deploy, deploy_popen
from .helpers import QuorumWatch, pgs_clean, quorum, wait_until

pytestmark = pytest.mark.lab

CANARY = "head -c 8M /dev/urandom > /root/canary && rados -p vm-storage put canary /root/canary && sha256sum < /root/canary"
READ_CANARY = "rados -p vm-storage get canary /root/canary.back && sha256sum < /root/canary.back"


def operator_block(section: str) -> str:
    """The runbook's `operator` block under `## section`: what an operator runs for it in the lab."""
    parts = (REPO / "docs" / "runbook.md").read_text().split(f"\n## {section}\n")
    assert len(parts) == 2, f"the runbook has one section '## {section}'"
    text = parts[1].split("\n## ", 1)[0]
    (body,) = re.findall(r"```bash operator\n(.*?)```", text, re.S)
    return body


def run_block(body: str, log: Path) -> subprocess.Popen:
    """The block under bash in the repository (`python` is this interpreter; the lab stack's passphrase is set),
    its output in `log`."""
    env = {**os.environ, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.Popen(["bash", "-euo", "pipefail", "-c", body], cwd=REPO, env=env, text=True,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def use_stack(*flags: str) -> Lab:
    """The lab stack reshaped by `lab stack-config --nodes N ...`, as an operator edits the stack to grow or shrink."""
    lab_cli("stack-config", str(STACK), *flags)
    return Lab(json.loads(Paths().lab_json.read_text()))


def ceph_json(lab: Lab, command: str) -> dict:
    return json.loads(lab.ok("pve1", f"ceph {command} --format json"))


def expected_votes(lab: Lab, node: str) -> int:
    return int(lab.ok(node, probe(probes.EXPECTED_VOTES)))


def monitors(lab: Lab) -> list[str]:
    return sorted(line.split()[0] for line in lab.ok("pve1", probe(probes.MONITORS)).splitlines())


def ha_services(lab: Lab, node: str) -> list[str]:
    """The HA services the CRM places on `node`, as pve1 reads `ha-manager status`."""
    return lab.ok("pve1", probe(probes.ha_services(node))).split()


def online(lab: Lab, node: str) -> bool:
    """`node` is among the members pve1 sees online; a `pvecm nodes` that cannot answer fails the test, never a no."""
    said = lab.ssh("pve1", probe(f"pvecm nodes >/dev/null || fail 'pvecm nodes cannot answer'; {probes.online(node)}"))
    assert said.returncode in (0, 1), said.stderr
    return said.returncode == 0


def test_grow_3_to_5_then_retire_2_keeps_every_vote_and_byte(converged, tmp_path):
    lab = converged
    digest = lab.ok("pve1", CANARY)
    started = alerts.runtime(lab)["startTime"]
    pgs = int(lab.ok("pve1", probe(probes.PG_COUNT)))

    # Scale out, as the runbook's "Add a node" says: two more machines, then the config lists them.
    grow = run_block(operator_block("Add a node"), tmp_path / "grow.log")
    grow.wait(timeout=1500)
    output = (tmp_path / "grow.log").read_text()
    assert grow.returncode == 0, output[-5000:]
    lab = Lab(json.loads(Paths().lab_json.read_text()))
    joins = re.findall(rf"{re.escape(CLUSTER_NAME)}-(pve\d)-cluster-join created", output)
    assert joins == ["pve4", "pve5"], "only the new nodes join, one after the other"
    for node in ("pve1", "pve5"):
        assert quorum(lab, node) == (True, 5)
    osds = ceph_json(lab, "osd stat")
    assert (osds["num_osds"], osds["num_up_osds"], osds["num_in_osds"]) == (5, 5, 5)
    assert len(monitors(lab)) == 5
    wait_ceph_health(Paths(), "HEALTH_OK", 240)
    assert lab.ok("pve5", READ_CANARY) == digest, "the data written on 3 nodes reads back on 5"
    assert f"{mgmt_addr('pve5')} pve5" in lab.ok("pve1", "cat /etc/hosts")
    # Prometheus follows the stack's nodes, reloaded: the same process, its data and alert state kept.
    assert alerts.scraped_nodes(lab, "node") == ["pve1", "pve2", "pve3", "pve4", "pve5"]
    assert alerts.runtime(lab)["startTime"] == started

    # Scale in, as "Retire a node" says: pve4 and pve5 leave, and pve5 is powered off once pve4 is gone.
    shrink = run_block(operator_block("Retire a node"), tmp_path / "shrink.log")
    shared_conf = Paths().pve / "corosync.conf"
    wait_until("pve4 to leave", lambda: "name: pve4" not in shared_conf.read_text() or shrink.poll() is not None, 900)
    stop_host_processes(Paths(), ["pve5"])
    shrink.wait(timeout=1500)
    output = (tmp_path / "shrink.log").read_text()
    if shrink.returncode != 0:  # the run met the dead node mid-step: the next up finishes the job
        resumed = deploy("up")
        assert resumed.returncode == 0, output[-3000:] + resumed.stdout[-4000:]
    for node in ("pve1", "pve3"):
        assert quorum(lab, node) == (True, 3)
        assert expected_votes(lab, node) == 3
    assert "pve4" not in shared_conf.read_text() and "pve5" not in shared_conf.read_text()
    osds = ceph_json(lab, "osd stat")
    assert (osds["num_osds"], osds["num_up_osds"], osds["num_in_osds"]) == (3, 3, 3)
    assert monitors(lab) == ["pve1", "pve2", "pve3"]
    wait_ceph_health(Paths(), "HEALTH_OK", 240)
    assert pgs_clean(lab), "no PG lost or left degraded"
    assert int(lab.ok("pve1", probe(probes.PG_COUNT))) == pgs
    assert lab.ok("pve2", READ_CANARY) == digest, "the data reads back on 3 nodes again"
    assert not (Paths().pve / "nodes" / "pve4").exists() and not (Paths().pve / "nodes" / "pve5").exists()
    # The retired machine that still runs is out of the cluster: no corosync, no cluster config.
    assert lab.ssh("pve4", "test -e /etc/corosync/corosync.conf || systemctl is-active --quiet corosync").returncode != 0
    # Done is done: the next up finds nothing to retire and changes nothing.
    again = deploy("up")
    assert again.returncode == 0, again.stdout[-3000:]
    assert quorum(lab, "pve1") == (True, 3) and "pvecm delnode" not in again.stdout


def test_retiring_a_node_a_pool_needs_is_refused_before_anything_changes(fresh_lab):
    use_stack("--nodes", "2", "--retire", "pve3")
    refused = deploy("preview")
    assert refused.returncode != 0
    # PVE would create the pool; the pack refuses it in the preview (the osds-out step refuses it on the node too).
    assert "policy pack refused the stack" in refused.stderr and "ceph-replicas-fit-osd-hosts" in refused.stderr
    assert "proxmox-ha:ceph.pools[0].size: 3 replicas of pool" in refused.stdout + refused.stderr


@pytest.mark.own_lab
def test_four_then_two_nodes_with_a_qdevice_stay_quorate_with_one_node_down(own_lab):
    own_lab(hosts=4)
    lab = use_stack("--nodes", "4", "--qdevice", "--no-ceph")
    up = deploy("up")
    assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-2000:]
    assert quorum(lab, "pve1") == (True, 5), "four nodes and the QDevice's vote"
    assert lab.ok("qnetd", "corosync-qnetd-tool -l").count("Node ID") == 4
    # One of four down: three nodes and the QDevice keep quorum (4 of 5 votes).
    lab.ok("pve4", "systemctl stop corosync")
    wait_until("pve1 to see pve4 gone", lambda: quorum(lab, "pve1")[1] == 4, 60)
    assert quorum(lab, "pve1") == (True, 4)
    lab.ok("pve4", "systemctl start corosync")
    wait_until("pve4 back", lambda: online(lab, "pve4"), 60)

    # Retire two: the QDevice steps aside (PVE wants none while members leave), then comes back for two nodes.
    lab = use_stack("--nodes", "2", "--retire", "pve3,pve4", "--qdevice", "--no-ceph")
    shrink = deploy("up")
    assert shrink.returncode == 0, shrink.stdout[-4000:] + shrink.stderr[-2000:]
    assert "qdevice-aside" in shrink.stdout
    assert quorum(lab, "pve1") == (True, 3) and expected_votes(lab, "pve1") == 3, "two nodes and the QDevice's vote"
    assert lab.ok("qnetd", "corosync-qnetd-tool -l").count("Node ID") == 2

    # A rolling update of the two nodes: the gate counts the QDevice's vote, and a node stays quorate throughout.
    watch = QuorumWatch(lab, ("pve1", "pve2"), lambda quorate: any(quorate.values()))
    try:
        update = subprocess.run(
            [sys.executable, "-m", "ops", "--stack-file", str(Paths().root / "Pulumi.lab.yaml"),
             "--ssh-key", lab.info["ssh"]["private_key"], "--known-hosts", lab.info["ssh"]["known_hosts"],
             "rolling-update", "--upgrade-command", "apt-get update",
             "--reboot-command", "systemctl restart corosync corosync-qdevice", "--timeout", "300"],
            cwd=REPO, capture_output=True, text=True, timeout=900)
    finally:
        lost = watch.stop()
    assert update.returncode == 0, update.stderr[-3000:]
    assert "pve1] 7/7" in update.stderr and "pve2] 7/7" in update.stderr
    assert lost == [], "no node was quorate at " + ", ".join(lost)
    assert quorum(lab, "pve1") == (True, 3)

    # One of two down: the other and the QDevice keep quorum.
    stop_host_processes(Paths(), ["pve2"])
    wait_until("pve1 to see pve2 gone", lambda: quorum(lab, "pve1")[1] == 2, 60)
    assert quorum(lab, "pve1") == (True, 2), "one node and the QDevice keep quorum"


@pytest.mark.own_lab
def test_a_kept_node_down_mid_retirement_stops_it_before_quorum_is_lost_and_up_resumes(own_lab, tmp_path):
    """Five nodes retire two; pve3 (kept) goes down once the retirement has begun. pve4 may still leave (3 of 5
    votes stay), but stopping pve5 would leave 2 of the 4 still expected: `up` stops and names pve3. With pve3
    back, the same `up` finishes. The retiring pve4 holds a started and a stopped HA guest: both move, configs too."""
    own_lab(hosts=5)
    lab = use_stack("--nodes", "5", "--no-ceph")
    up = deploy("up")
    assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-2000:]
    lab.ok("pve4", "qm create 101 --name web --memory 64 && ha-manager add vm:101 --state started")
    lab.ok("pve4", "qm create 102 --name spare --memory 64 && ha-manager add vm:102 --state stopped")
    wait_until("the CRM to place both guests", lambda: len(ha_services(lab, "pve4")) == 2, 60)

    lab = use_stack("--nodes", "3", "--retire", "pve4,pve5", "--no-ceph")
    log = tmp_path / "shrink.log"
    shrink = deploy_popen("up", log)
    # Once the retirement has begun (the preview names the steps too; this is the update's line), pve3 powers off.
    wait_until("the retirement to begin", lambda: "retire-pve4-guests creating" in log.read_text() or shrink.poll() is not None, 600)
    watch = QuorumWatch(lab, ("pve1", "pve2"), lambda quorate: all(quorate.values()))  # no kept node may lose quorum
    try:
        stop_host_processes(Paths(), ["pve3"])
        shrink.wait(timeout=1500)
    finally:
        lost = watch.stop()
    output = log.read_text()
    assert shrink.returncode != 0, output[-3000:]
    assert "stopping pve5 would leave 2 of 4 expected votes, fewer than the 3 quorum needs" in output, output[-4000:]
    assert "bring the offline member(s) back (pve3)" in output
    assert lost == []
    members = (Paths().pve / "corosync.conf").read_text()
    assert "name: pve4" not in members and "name: pve5" in members, "pve4 left, pve5 was kept in"
    assert quorum(lab, "pve1") == (True, 3) and expected_votes(lab, "pve1") == 4
    # The kept nodes' exporters say pve3 is offline.
    alerts.wait_firing(lab, "PveNodeDown", id="node/pve3")

    lab_cli("up")  # pve3 boots again; the lab starts no units at boot, so its corosync is started as PVE's would be
    lab.ok("pve3", "systemctl start corosync")
    wait_until("pve3 back", lambda: quorum(lab, "pve1")[1] == 4, 60)
    resumed = deploy("up")
    assert resumed.returncode == 0, resumed.stdout[-4000:] + resumed.stderr[-2000:]
    assert "retire-pve4-membership" not in resumed.stdout.split("Resources:")[0].replace("unchanged", ""), "pve4's done"
    for node in ("pve1", "pve3"):
        assert quorum(lab, node) == (True, 3) and expected_votes(lab, node) == 3
    for vmid in ("101", "102"):
        homes = sorted(p.parent.parent.name for p in (Paths().pve / "nodes").glob(f"*/qemu-server/{vmid}.conf"))
        assert len(homes) == 1 and homes[0] in ("pve1", "pve2", "pve3"), f"vm {vmid} lives on {homes}"
    assert ha_services(lab, "pve4") == []
    alerts.wait_resolved(lab, "PveNodeDown", id="node/pve3")
    assert alerts.scraped_nodes(lab, "pve") == ["pve1", "pve2", "pve3"], "the retired nodes are no longer targets"

    # The separated pve4 stays out across a restart of its services.
    lab.ok("pve4", "systemctl restart pve-cluster; systemctl restart corosync || true")
    time.sleep(5)
    assert not online(lab, "pve4")
    assert lab.ssh("pve4", "systemctl is-active --quiet corosync").returncode != 0
    assert "name: pve4" not in (Paths().pve / "corosync.conf").read_text()
