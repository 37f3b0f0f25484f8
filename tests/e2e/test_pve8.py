"""The engine's path on a PVE 8 lab (`lab up --pve 8`): a stack written for PVE 9 is refused on its nodes with one
line before anything changes; the lab stack for PVE 8 (HA groups, bookworm repositories, Ceph squid) goes up, a
second up changes nothing, and destroy removes the API objects."""
from __future__ import annotations


import pytest
import yaml

from lab.common import Paths
from tests.lab.conftest import lab_cli

from .conftest import deploy, pve8_lab
from .helpers import NODES, pgs_clean, quorum

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def pve8(engine_backend):
    yield pve8_lab()
    lab_cli("down", check=False)


def test_a_stack_for_pve9_is_refused_on_pve8_nodes_before_anything_changes(pve8, tmp_path):
    config = yaml.safe_load((Paths().root / "Pulumi.lab.yaml").read_text())
    assert config["config"]["proxmox-ha:cluster"]["pveVersion"] == 8  # what stack-config wrote for this lab
    config["config"]["proxmox-ha:cluster"]["pveVersion"] = 9
    config["config"]["proxmox-ha:ceph"]["release"] = "tentacle"
    written_for_9 = tmp_path / "Pulumi.lab.yaml"
    written_for_9.write_text(yaml.safe_dump(config))
    refused = deploy("up", "--config-file", str(written_for_9))
    assert refused.returncode == 1
    last = refused.stderr.strip().splitlines()[-1]
    assert "failed: step 'pve-release' failed on node pve" in last, last
    assert "proxmox-ha:cluster.pveVersion is 9, but pve" in last and "runs PVE 8.4.1; set proxmox-ha:cluster.pveVersion to 8" in last
    # Nothing changed on any node: no cluster, no repository written.
    assert not (Paths().pve / "corosync.conf").exists()
    for node in NODES:
        assert not {"pve-no-subscription.list", "proxmox.sources", "ceph.list"} & set(pve8.ok(node, "ls /etc/apt/sources.list.d/").split())


def test_up_a_noop_up_and_destroy_on_pve8(pve8):
    up = deploy("up")
    assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-2000:]
    assert pve8.ok("pve2", "pveversion").startswith("pve-manager/8.4.1/")
    assert all(quorum(pve8, node) == (True, 3) for node in NODES) and pgs_clean(pve8)
    # PVE 8's shapes: an HA group (no rules), bookworm .list repositories, Ceph squid from a ceph.list.
    assert "group: critical_services\n\tnodes pve1:2,pve2:1,pve3:1" in pve8.ok("pve1", "cat /etc/pve/ha/groups.cfg")
    assert "group critical_services" in pve8.ok("pve1", "cat /etc/pve/ha/resources.cfg")
    assert not pve8.ok("pve1", "cat /etc/pve/ha/rules.cfg 2>/dev/null || true").strip()
    assert pve8.ok("pve3", "cat /etc/apt/sources.list.d/pve-no-subscription.list").strip() == (
        "deb http://download.proxmox.com/debian/pve bookworm pve-no-subscription")
    assert pve8.ok("pve3", "cat /etc/apt/sources.list.d/ceph.list").strip() == (
        "deb http://download.proxmox.com/debian/ceph-squid bookworm no-subscription")
    again = deploy("up", "--expect-no-changes")
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-2000:]
    destroyed = deploy("destroy")
    assert destroyed.returncode == 0, destroyed.stdout[-4000:] + destroyed.stderr[-2000:]
    assert "critical_services" not in pve8.ok("pve1", "cat /etc/pve/ha/groups.cfg 2>/dev/null || true")
    assert "vm: 100" not in pve8.ok("pve1", "cat /etc/pve/ha/resources.cfg 2>/dev/null || true")
    assert quorum(pve8, "pve1") == (True, 3)  # the cluster itself stays
