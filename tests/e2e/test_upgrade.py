"""A PVE 8 lab (`lab up --pve 8`), first as PVE 8's own cluster, then upgraded to PVE 9 with `up`.

On PVE 8: a stack written for PVE 9 is refused on its nodes with one line before anything changes; the lab stack
for PVE 8 (HA groups, bookworm repositories, Ceph reef) goes up, a second up changes nothing, and destroy removes
the API objects.

PVE 8 → 9: the stack says pveVersion 9 and Ceph squid, so Ceph moves first (PVE 9 offers no reef), then PVE node by
node. The engine is killed once the second node is done, and the next `up` finishes the third. All nodes then run 9
and Ceph squid, the group is the node-affinity rule PVE 9 made of it, VM 100 stayed started at every sample, an
object written before reads back, HEALTH_OK. The same `up` adopts PVE's rule in a second update (an import, no
create or delete); the next changes nothing.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from lab.common import Paths, pid_alive
from remote import probes
from remote.step import probe
from tests.lab.conftest import Lab, lab_cli

from .conftest import PASSPHRASE, REPO, bare_lab, deploy, lab_changed
from .helpers import NODES, pgs_clean, quorum, wait_until

pytestmark = [pytest.mark.lab, pytest.mark.own_lab]


def written(folder, pve: int, release: str) -> str:
    """The lab's stack file with this PVE major and Ceph release."""
    config = yaml.safe_load((Paths().root / "Pulumi.lab.yaml").read_text())
    config["config"]["proxmox-ha:cluster"]["pveVersion"] = pve
    config["config"]["proxmox-ha:ceph"]["release"] = release
    path = folder / f"Pulumi.lab-{pve}-{release}.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def pve8(engine_backend):
    """Three bare PVE 8 hosts."""
    yield bare_lab(pve=8)
    lab_changed()
    lab_cli("down", check=False)


@pytest.fixture(scope="module")
def reef(pve8, tmp_path_factory) -> str:
    """The stack file of a PVE 8 cluster on Ceph reef, which PVE 9 does not offer: Ceph must move to squid first."""
    return written(tmp_path_factory.mktemp("reef"), 8, "reef")


def test_a_stack_for_pve9_is_refused_on_pve8_nodes_before_anything_changes(pve8, tmp_path):
    assert yaml.safe_load((Paths().root / "Pulumi.lab.yaml").read_text())["config"]["proxmox-ha:cluster"]["pveVersion"] == 8
    refused = deploy("up", "--config-file", written(tmp_path, 9, "tentacle"))
    assert refused.returncode == 1
    last = refused.stderr.strip().splitlines()[-1]
    assert "failed: step 'pve-release' failed on node pve" in last, last
    assert "proxmox-ha:cluster.pveVersion is 9, but pve" in last and "runs PVE 8.4.1; set proxmox-ha:cluster.pveVersion to 8" in last
    # Nothing changed on any node: no cluster, no repository written.
    assert not (Paths().pve / "corosync.conf").exists()
    for node in NODES:
        assert not {"pve-no-subscription.list", "proxmox.sources", "ceph.list"} & set(pve8.ok(node, "ls /etc/apt/sources.list.d/").split())


def test_up_a_noop_up_and_destroy_on_pve8(pve8, reef):
    up = deploy("up", "--config-file", reef)
    assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-2000:]
    assert pve8.ok("pve2", "pveversion").startswith("pve-manager/8.4.1/")
    assert all(quorum(pve8, node) == (True, 3) for node in NODES) and pgs_clean(pve8)
    # PVE 8's shapes: an HA group (no rules), bookworm .list repositories, Ceph reef from a ceph.list.
    assert "group: critical_services\n\tnodes pve1:2,pve2:1,pve3:1" in pve8.ok("pve1", "cat /etc/pve/ha/groups.cfg")
    assert "group critical_services" in pve8.ok("pve1", "cat /etc/pve/ha/resources.cfg")
    assert not pve8.ok("pve1", "cat /etc/pve/ha/rules.cfg 2>/dev/null || true").strip()
    assert pve8.ok("pve3", "cat /etc/apt/sources.list.d/pve-no-subscription.list").strip() == (
        "deb http://download.proxmox.com/debian/pve bookworm pve-no-subscription")
    assert pve8.ok("pve3", "cat /etc/apt/sources.list.d/ceph.list").strip() == (
        "deb http://download.proxmox.com/debian/ceph-reef bookworm no-subscription")
    assert all(" reef (stable)" in pve8.ok(n, "ceph --version") for n in NODES)
    again = deploy("up", "--config-file", reef, "--expect-no-changes")
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-2000:]
    destroyed = deploy("destroy", "--config-file", reef)
    assert destroyed.returncode == 0, destroyed.stdout[-4000:] + destroyed.stderr[-2000:]
    assert "critical_services" not in pve8.ok("pve1", "cat /etc/pve/ha/groups.cfg 2>/dev/null || true")
    assert "vm: 100" not in pve8.ok("pve1", "cat /etc/pve/ha/resources.cfg 2>/dev/null || true")
    assert quorum(pve8, "pve1") == (True, 3)  # the cluster itself stays


class HaSamples:
    """VM 100's HA state, sampled from the first node that is quorate (a node rebooting shows its services frozen:
    its own view, not the cluster's), until stopped."""

    def __init__(self, lab: Lab):
        self.lab, self.states, self.done = lab, [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.is_set():
            for node in NODES:
                said = self.lab.ssh(node, probe(f"{probes.QUORATE} && ha-manager status"), timeout=20)
                line = next((l for l in said.stdout.splitlines() if l.startswith("service vm:100 ")), None)
                # Its status from its own quorate view: a node losing quorum meanwhile prints the services frozen.
                if said.returncode == 0 and line and said.stdout.startswith("quorum OK"):
                    self.states.append(line.split(", ")[-1].rstrip(")"))
                    break
            time.sleep(1)

    def stop(self) -> list[str]:
        self.done.set()
        self.thread.join(30)
        return self.states


def up_killed_after(config: str, resource: str, log) -> None:
    """`up`, killed (the driver, the engine and its plugins, at once) as soon as `resource` is created."""
    env = {**os.environ, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE}
    run = subprocess.Popen([sys.executable, "-m", "deploy", "up", "--stack", "lab", "--config-file", config, "--skip-preview"],
                           cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_until(f"{resource} to be created", lambda: f"{resource} created" in log.read_text() or run.poll() is not None, 900)
    finally:
        kill_session(run.pid)
        run.wait()
    assert f"{resource} created" in log.read_text(), log.read_text()[-4000:]


def session(sid: int) -> list[int]:
    """The live processes of session `sid` (zombies are dead; PID 1 here may be slow to reap them)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            session_id = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[3])
        except (OSError, ValueError):
            continue  # ended meanwhile
        if session_id == sid and pid_alive(int(pid)):
            found.append(int(pid))
    return found


def kill_session(sid: int) -> None:
    """SIGKILL to every process of session `sid`: the engine starts its plugins and the policy pack in process groups
    of their own, so a kill of the driver's group alone left them running, orphaned, after the test."""
    for pid in session(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_until("every process of the killed run to end", lambda: not session(sid), 10, 0.1)


def test_up_upgrades_pve8_to_9_node_by_node_resumes_after_a_kill_and_state_follows(pve8, reef, tmp_path):
    lab = pve8
    up = deploy("up", "--config-file", reef)  # the cluster on PVE 8, or its API objects again after the destroy above
    assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-2000:]
    assert "group: critical_services" in lab.ok("pve1", "cat /etc/pve/ha/groups.cfg")
    lab.ok("pve1", "printf before-the-upgrade > /tmp/object && rados -p vm-storage put upgrade-probe /tmp/object")
    assert all(" reef (stable)" in lab.ok(n, "ceph --version") for n in NODES)
    config = written(tmp_path, 9, "squid")
    samples = HaSamples(lab)
    try:
        up_killed_after(config, "upgrade-pve3-pve9-pve2", tmp_path / "killed.log")
        versions = {n: lab.ok(n, "pveversion").split("/")[1] for n in NODES}
        assert versions["pve1"].startswith("9.") and versions["pve2"].startswith("9.") and versions["pve3"].startswith("8."), versions
        resumed = deploy("up", "--config-file", config, preview=True)
        assert resumed.returncode == 0, resumed.stdout[-4000:] + resumed.stderr[-2000:]
    finally:
        states = samples.stop()
    # The plan showed the remaining node's upgrade; the finished nodes' steps were skipped by their checks.
    assert "upgrade-pve1-pve9-pve3" in resumed.stdout
    # Each exporter step ran again for the new release, whose Python needs a venv of its own (the lab's hosts share
    # this machine's Python, so there its check finds the exporter in place).
    assert all(f"monitoring-{n}-pve-exporter created replacement" in resumed.stdout for n in NODES), resumed.stdout[-4000:]
    assert all(lab.ok(n, "pveversion").startswith("pve-manager/9.") and "6.17" in lab.ok(n, "pveversion") for n in NODES)
    assert len(states) > 30 and set(states) == {"started"}, states
    assert all(quorum(lab, n) == (True, 3) for n in NODES) and pgs_clean(lab)
    assert lab.ok("pve1", "ceph health").strip() == "HEALTH_OK"
    assert "noout" not in lab.ok("pve1", "ceph osd dump | grep ^flags")
    # Ceph moved to squid before PVE: packages, every daemon, and the OSD map's floor.
    assert all(" squid (stable)" in lab.ok(n, "ceph --version") for n in NODES)
    overall = json.loads(lab.ok("pve1", "ceph versions"))["overall"]
    assert len(overall) == 1 and " squid " in next(iter(overall)), overall
    assert json.loads(lab.ok("pve1", "ceph osd dump --format json"))["require_osd_release"] == "squid"
    assert lab.ok("pve2", "rados -p vm-storage get upgrade-probe -") == "before-the-upgrade"
    # PVE 9's HA manager made the rule; the groups are gone, by its hand.
    rules = lab.ok("pve1", "cat /etc/pve/ha/rules.cfg")
    assert "node-affinity: ha-group-critical_services\n" in rules and "nodes pve1:2,pve2:1,pve3:1" in rules, rules
    assert lab.ssh("pve1", "test -e /etc/pve/ha/groups.cfg").returncode == 1
    assert all("proxmox.sources" in lab.ok(n, "ls /etc/apt/sources.list.d") for n in NODES)
    assert all(not lab.ok(n, "ls /var/lib/proxmox-ha/ 2>/dev/null || true").strip() for n in NODES)

    # The same `up` ran a second update that adopted PVE's rule: an import, nothing created or deleted in PVE.
    adopted = resumed.stdout.split("a second update adopts them")[1]
    assert "= 1 imported" in adopted and "created" not in adopted, adopted[-3000:]
    assert "[retain]" in adopted  # the group leaves the state, never PVE through Pulumi
    assert lab.ok("pve1", "cat /etc/pve/ha/rules.cfg") == rules
    again = deploy("up", "--config-file", config, "--expect-no-changes")
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-2000:]
