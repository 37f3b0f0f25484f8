"""The engine's up of the lab stack: the result is the stack, API objects included; a second up changes and runs
nothing; preview and refresh see no drift; the state holds no secret; destroy removes only the API-managed objects.
(The first up, with a node lost mid-join, is test_bare_up.py.)"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
import yaml

from lab.common import CLUSTER_NAME, Paths, mgmt_addr, storage_addr

from .conftest import REPO, deploy, deploy_popen
from .helpers import NODES, Execs, lab_secrets, pgs_clean, quorum

pytestmark = pytest.mark.lab


def test_the_cluster_is_the_stack(converged):
    lab = converged
    conf = lab.ok("pve1", "cat /etc/pve/corosync.conf")
    assert f"cluster_name: {CLUSTER_NAME}" in conf
    assert "crypto_cipher: aes256" in conf and "crypto_hash: sha256" in conf
    # pvecm create writes no crypto keys: the program's step did, and every member's pmxcfs installed it.
    for node in NODES:
        assert lab.ok(node, "cat /etc/corosync/corosync.conf") == conf
    for address in (mgmt_addr("pve3"), storage_addr("pve3")):
        assert address in conf
    for node in NODES:
        assert lab.ok(node, "grep -x WATCHDOG_MODULE=softdog /etc/default/pve-ha-manager")
        hosts = lab.ok(node, "cat /etc/hosts")
        assert f"{mgmt_addr('pve2')} pve2" in hosts and "# BEGIN proxmox-ha managed hosts" in hosts
        assert lab.ok(node, "test -x /usr/local/sbin/proxmox-config-backup.sh && echo yes").strip() == "yes"
    assert lab.ok("pve1", "ceph osd pool get vm-storage size").strip() == "size: 3"
    assert lab.ok("pve1", "ceph osd pool get vm-storage min_size").strip() == "min_size: 2"
    assert lab.ok("pve1", "ceph config get client rbd_cache").strip() == "true"
    assert len(re.findall(r"\bosd\.\d+\s+up\b", lab.ok("pve1", "ceph osd tree"))) == 3
    assert pgs_clean(lab)
    # What only the PVE API half makes: HA, PBS storage, the backup job, the monitoring user, token and roles.
    # PVE 9: the group is a node-affinity rule listing its resources.
    assert "node-affinity: critical_services\n\tnodes pve1:2,pve2:1,pve3:1\n\tresources vm:100" in lab.ok("pve1", "cat /etc/pve/ha/rules.cfg")
    assert "vm: 100" in lab.ok("pve1", "cat /etc/pve/ha/resources.cfg")
    storage = lab.ok("pve1", "cat /etc/pve/storage.cfg")
    assert "pbs: pbs-backup" in storage and "rbd: vm-storage" in storage
    assert "vzdump: nightly" in lab.ok("pve1", "cat /etc/pve/jobs.cfg")
    users = lab.ok("pve1", "cat /etc/pve/user.cfg")
    assert "user:monitoring@pve:" in users and "token:monitoring@pve!exporter:" in users
    auditors = {ugid for line in re.findall(r"^acl:1:/:([^:]+):PVEAuditor:$", users, re.M) for ugid in line.split(",")}
    assert {"monitoring@pve", "monitoring@pve!exporter"} <= auditors
    datacenter = lab.ok("pve1", "cat /etc/pve/datacenter.cfg")
    assert "shutdown_policy=conditional" in datacenter and "keyboard: en-us" in datacenter  # the rest is untouched


def _sessions() -> int:
    return sum(Path(Paths().logs / f"{n}-sshd.log").read_text().count("Accepted publickey") for n in NODES)


def test_a_second_up_changes_nothing_and_runs_nothing(converged):
    version = lambda: re.search(r"config_version: (\d+)", converged.ok("pve1", "cat /etc/pve/corosync.conf")).group(1)  # noqa: E731
    before, sessions = version(), _sessions()
    again = deploy("up", "--expect-no-changes")
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-2000:]
    assert re.search(r"^\s+\d+ unchanged$", again.stdout, re.M) and " created" not in again.stdout
    assert _sessions() == sessions, "a no-op up opened SSH sessions on the nodes"
    assert version() == before


def test_preview_and_refresh_see_no_changes(converged):
    for operation in ("preview", "refresh"):
        result = deploy(operation, "--expect-no-changes")
        assert result.returncode == 0, f"{operation}: " + result.stdout[-4000:] + result.stderr[-2000:]


def test_the_state_holds_no_secret_and_the_tracked_stack_file_none_either(converged, engine_backend):
    state = (engine_backend / ".pulumi" / "stacks" / "proxmox-ha" / "lab.json").read_text()
    secrets = lab_secrets(converged)
    assert len(secrets) == 4 and all(len(v) >= 16 for v in secrets.values())
    assert [name for name, value in secrets.items() if value in state] == []
    assert '"ciphertext"' in state
    assert "secure: v1:" not in (REPO / "Pulumi.lab.yaml").read_text()  # no encrypted value either


def test_destroy_removes_only_the_api_objects_and_up_brings_them_back_with_no_secret_on_a_command_line(converged, tmp_path):
    lab = converged
    result = deploy("destroy")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Cluster membership, OSDs and pools stay" in result.stdout
    assert "critical_services" not in lab.ok("pve1", "cat /etc/pve/ha/rules.cfg 2>/dev/null || true")
    assert "vm: 100" not in lab.ok("pve1", "cat /etc/pve/ha/resources.cfg 2>/dev/null || true")
    assert "pbs-backup" not in lab.ok("pve1", "cat /etc/pve/storage.cfg")
    assert "token:monitoring@pve!exporter" not in lab.ok("pve1", "cat /etc/pve/user.cfg")
    # datacenter.cfg is as it was before the first up: no `ha:` option (there was none), keyboard kept.
    # (PVE writes the description, a blank line, then the options: the blank line is PVE's too.)
    assert lab.ok("pve1", "cat /etc/pve/datacenter.cfg").split() == ["keyboard:", "en-us"]
    assert "pbs-backup" not in lab.ok("pve1", "cat /etc/pve/storage.cfg") and "nightly" not in lab.ok("pve1", "cat /etc/pve/jobs.cfg 2>/dev/null || true")
    # What no remote step deletes: the cluster, the OSDs, the pool and its storage.
    assert quorum(lab, "pve1") == (True, 3)
    assert len(re.findall(r"\bosd\.\d+\s+up\b", lab.ok("pve1", "ceph osd tree"))) == 3
    assert "rbd: vm-storage" in lab.ok("pve1", "cat /etc/pve/storage.cfg")
    # The up that makes them again, the PBS storage and the exporter's token included: no secret is ever on a
    # process's command line (/proc/*/cmdline, readable by every user), read at each exec the whole time.
    log = tmp_path / "up.log"
    execs = Execs()
    try:
        assert deploy_popen("up", log).wait() == 0, log.read_text()[-4000:]
    finally:
        execs.stop()
    seen = execs.lines
    assert "vm: 100" in lab.ok("pve1", "cat /etc/pve/ha/resources.cfg")
    assert len(seen) > 100 and any("pvesm add pbs" in line for line in seen), "the listener saw the steps run"
    # Some processes end within microseconds (echo, dirname), before any reader could see their line; most must not.
    assert execs.missed < len(seen), f"{execs.missed} processes ended before their command line was read"
    secrets = lab_secrets(lab)
    assert len(secrets) == 4
    assert {name: line for name, value in secrets.items() for line in seen if value in line} == {}


CLEAN_UP = {
    "proxmoxve:index/hagroup:Hagroup": lambda name: f"ha-manager groupremove {name.removeprefix('ha-')}",
    "proxmoxve:index/harule:Harule": lambda name: f"ha-manager rules remove {name.removeprefix('ha-')}",
    "proxmoxve:index/haresource:Haresource": lambda name: f"ha-manager remove {name.removeprefix('ha-').replace('-', ':', 1)}",
    "proxmoxve:user/token:Token": lambda name: "pveum user token remove monitoring@pve exporter",
}

CRASHING_PLUGIN = """#!/bin/sh
# proxmoxve that dies right after PVE accepted an HA resource, as muhlba91/pulumi-proxmoxve#967 does after a create.
exec {python} -c 'import os, sys; sys.path.insert(0, "{repo}"); from lab.providers import proxmoxve as p; \\
create = p.Haresource.create; p.Haresource.create = lambda self, urn, inputs: (create(self, urn, inputs), os._exit(2)); p.main()' "$@"
"""


def test_a_plugin_dying_mid_create_is_explained_and_the_object_can_be_cleaned_up(converged, tmp_path):
    lab = converged
    assert deploy("destroy").returncode == 0
    plugin = tmp_path / "pulumi-resource-proxmoxve"
    plugin.write_text(CRASHING_PLUGIN.format(python=sys.executable, repo=REPO))
    plugin.chmod(0o755)
    crashed = deploy("up", path=f"{tmp_path}:{os.environ['PATH']}")
    assert crashed.returncode == 1
    died = crashed.stderr.strip().splitlines()[-1]
    assert "the proxmoxve plugin died while creating " in died and "ha-vm-100 (proxmoxve:index/haresource:Haresource)" in died, died
    assert "vm: 100" in lab.ok("pve1", "cat /etc/pve/ha/resources.cfg"), "PVE holds it although the state does not"
    again = deploy("up")
    assert again.returncode == 1
    last = again.stderr.strip().splitlines()[-1]
    # Whatever else was in flight when the plugin died (an HA group, say) is named alongside.
    held = re.findall(r"([\w.-]+) \((proxmoxve:[\w/]+:\w+)\)", last.split(" exists in PVE")[0])
    assert ("ha-vm-100", "proxmoxve:index/haresource:Haresource") in held and "exists in PVE but not in this stack's state" in last, last
    assert "bin/pulumi import TYPE NAME ID --stack lab" in last
    for name, type_ in held:  # the clean-up the line offers: remove each in PVE
        lab.ok("pve1", CLEAN_UP[type_](name))
    healed = deploy("up")
    assert healed.returncode == 0, healed.stdout[-4000:] + healed.stderr[-2000:]
    assert "vm: 100" in lab.ok("pve1", "cat /etc/pve/ha/resources.cfg")


def test_a_node_dropped_from_the_config_is_refused_and_nothing_changes(converged, tmp_path):
    """Without proxmox-ha:cluster.decommission, a member missing from cluster.nodes stops `up` before any
    cluster step (the config otherwise consistent: pve3 out of the HA group, pools shrunk to fit two OSD
    hosts, and the pack off, so only this guard is left to refuse)."""
    config = yaml.safe_load((Paths().root / "Pulumi.lab.yaml").read_text())
    cluster = config["config"]["proxmox-ha:cluster"]
    cluster["nodes"] = [n for n in cluster["nodes"] if n["name"] != "pve3"]
    for group in config["config"]["proxmox-ha:ha"]["groups"]:
        group["nodes"].pop("pve3")
    config["config"]["proxmox-ha:ceph"]["pools"] = [dict(p, size=2, minSize=1) for p in config["config"]["proxmox-ha:ceph"]["pools"]]
    dropped = tmp_path / "Pulumi.lab.yaml"
    dropped.write_text(yaml.safe_dump(config))
    refused = deploy("up", "--no-policy", "--config-file", str(dropped))
    assert refused.returncode == 1
    assert ("failed: step 'cluster-members' failed on node pve1: pve3: cluster member(s) not in proxmox-ha:cluster.nodes"
            in refused.stderr.strip().splitlines()[-1]), refused.stderr[-2000:]
    # The guard ran before any step on any node: nothing on the cluster changed.
    assert quorum(converged, "pve1") == (True, 3)
    assert "size: 3" in converged.ok("pve1", "ceph osd pool get vm-storage size")
    assert all("pve3" in converged.ok(node, "cat /etc/hosts") for node in ("pve1", "pve2"))
    assert " updated " not in refused.stdout and " created " not in refused.stdout, refused.stdout[-3000:]
    # Back to the config as it was: up runs through, and a second one changes nothing.
    assert deploy("up").returncode == 0
    again = deploy("up", "--expect-no-changes")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
