"""The lab's pmxcfs loop: at its start it writes a listed node's missing corosync.conf, then installs the cluster's
corosync.conf on members when its config_version is newer."""
from __future__ import annotations

from lab import pmxcfs
from lab.common import CLUSTER_NAME

CONF = f"totem {{{{\n  cluster_name: {CLUSTER_NAME}\n  config_version: {{version}}\n}}}}\n"


def test_a_member_takes_a_newer_cluster_copy_only(tmp_path):
    cluster, local = tmp_path / "pve-corosync.conf", tmp_path / "corosync.conf"
    cluster.write_text(CONF.format(version=2))
    assert pmxcfs.sync_once(cluster, local) is False and not local.exists()  # not a member: nothing to install
    local.write_text(CONF.format(version=2))
    assert pmxcfs.sync_once(cluster, local) is False  # same version
    cluster.write_text(CONF.format(version=3) + "# crypto added\n")
    assert pmxcfs.sync_once(cluster, local) is True
    assert local.read_text() == cluster.read_text() and pmxcfs.config_version(local) == 3
    local.write_text(CONF.format(version=5))
    assert pmxcfs.sync_once(cluster, local) is False  # an older cluster copy never overwrites


def test_at_its_start_pmxcfs_writes_the_missing_local_copy_of_a_listed_node(tmp_path):
    """pve-cluster src/pmxcfs/pmxcfs.c main() -> dcdb_sync_corosync_conf(): the database's corosync.conf is written
    to /etc/corosync when the file is missing there; the lab does it for the nodes the nodelist lists."""
    cluster, local = tmp_path / "pve-corosync.conf", tmp_path / "corosync" / "corosync.conf"
    assert pmxcfs.start_sync("pve3", cluster, local) is False  # no cluster (a database without corosync.conf)
    cluster.write_text(CONF.format(version=4) + "nodelist {\n  node {\n    name: pve3\n    nodeid: 3\n  }\n}\n")
    assert pmxcfs.start_sync("pve4", cluster, local) is False and not local.exists()  # never joined
    assert pmxcfs.start_sync("pve3", cluster, local) is True
    assert local.read_text() == cluster.read_text() and oct(local.stat().st_mode & 0o777) == "0o644"
    local.write_text(CONF.format(version=2))
    assert pmxcfs.start_sync("pve3", cluster, local) is False  # an existing copy is the sync loop's business
