r"""The cluster name follows pvecm create's rule exactly.

pve-cluster src/PVE/API2/ClusterConfig.pm @ 7091d92e594952dba65c1e57568b3d7cc244e960: `clustername` is
`format => 'pve-node', maxLength => 15`; pve-common src/PVE/JSONSchema.pm @ f665029eac78:
pve_verify_node_name is `^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$` (upper case included).
"""
from __future__ import annotations

import pytest

from models import ConfigError, parse_stack_config


@pytest.mark.parametrize("name", ["homelab-cluster", "HomeLab", "PVE-CLUSTER-01", "a", "1", "a-b", "x" * 15, "9lives"])
def test_cluster_names_pvecm_takes(homelab, name):
    homelab["cluster"]["name"] = name
    assert parse_stack_config(homelab).cluster.name == name


@pytest.mark.parametrize("name", ["", "-lab", "lab-", "home_lab", "home.lab", "x" * 16, "lab cluster", "lab\n", "läb"])
def test_cluster_names_pvecm_refuses(homelab, name):
    homelab["cluster"]["name"] = name
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(homelab)
    assert "proxmox-ha:cluster.name" in str(caught.value)
