"""The lab's pmxcfs loop installs the cluster's corosync.conf on members when its config_version is newer."""
from __future__ import annotations

from lab import pmxcfs

CONF = "totem {{\n  cluster_name: lab-cluster\n  config_version: {version}\n}}\n"


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
