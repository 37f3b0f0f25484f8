"""pvecm shim, unit level: corosync.conf as PVE reads and writes it, and delnode's refusals and effects
(pve-cluster src/PVE/Corosync.pm parse_conf/write_conf, src/PVE/API2/ClusterConfig.pm delnode)."""
from __future__ import annotations

import types
from string import Template

import pytest

from lab.common import CLUSTER_NAME
from lab.pve import corosync as C
from lab.shims import pvecm
from lab.shims import pvelib as L

from .conftest import quorate_pve1

# A PVE corosync.conf with a QDevice, as PVE's write_conf lays it out (keys sorted, two-space indent).
PVE_CONF = Template("""logging {
  debug: off
  to_syslog: yes
}

nodelist {
  node {
    name: pve1
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 10.254.10.11
    ring1_addr: 10.254.100.11
  }
  node {
    name: pve2
    nodeid: 2
    quorum_votes: 1
    ring0_addr: 10.254.10.12
    ring1_addr: 10.254.100.12
  }
}

quorum {
  device {
    model: net
    net {
      algorithm: ffsplit
      host: 10.254.10.50
      tls: on
    }
    votes: 1
  }
  provider: corosync_votequorum
}

totem {
  cluster_name: $cluster
  config_version: 7
  crypto_cipher: aes256
  crypto_hash: sha256
  interface {
    knet_link_priority: 10
    linknumber: 0
  }
  interface {
    linknumber: 1
  }
  ip_version: ipv4-6
  link_mode: passive
  secauth: on
  version: 2
}

""").substitute(cluster=CLUSTER_NAME)


def test_pve_layout_round_trips_byte_for_byte():
    assert C.render_conf(C.parse_conf(PVE_CONF)) == PVE_CONF


def test_the_quorum_device_survives_every_rewrite():
    cluster = C.parse_conf(PVE_CONF)
    assert C.quorum_device(cluster) == {"model": "net", "votes": "1",
                                            "net": {"algorithm": "ffsplit", "host": "10.254.10.50", "tls": "on"}}
    # what add / delnode / a crypto edit do: nodelist, config_version, totem keys
    cluster["nodes"].append({"name": "pve3", "nodeid": "3", "quorum_votes": "1", "ring0_addr": "10.254.10.13",
                             "ring1_addr": "10.254.100.13"})
    cluster["config_version"] += 1
    cluster["crypto_cipher"] = "aes128"
    again = C.parse_conf(C.render_conf(cluster))
    assert C.quorum_device(again) == C.quorum_device(cluster)
    assert again["config_version"] == 8 and again["crypto_cipher"] == "aes128"
    assert [n["name"] for n in again["nodes"]] == ["pve1", "pve2", "pve3"]
    assert again["_tree"]["interfaces"][0]["knet_link_priority"] == "10"
    C.set_quorum_device(again, None)
    text = C.render_conf(again)
    assert "device" not in text and "provider: corosync_votequorum" in text


def test_a_fresh_cluster_is_written_as_pve_create_conf_does():
    cluster = {"cluster_name": "lab", "config_version": 1, "links": [0],
               "nodes": [{"name": "pve1", "nodeid": "1", "quorum_votes": "1", "ring0_addr": "10.0.0.1"}]}
    assert C.render_conf(cluster) == (
        "logging {\n  debug: off\n  to_syslog: yes\n}\n\n"
        "nodelist {\n  node {\n    name: pve1\n    nodeid: 1\n    quorum_votes: 1\n    ring0_addr: 10.0.0.1\n  }\n}\n\n"
        "quorum {\n  provider: corosync_votequorum\n}\n\n"
        "totem {\n  cluster_name: lab\n  config_version: 1\n  interface {\n    linknumber: 0\n  }\n"
        "  ip_version: ipv4-6\n  link_mode: passive\n  secauth: on\n  version: 2\n}\n\n")


def test_parse_errors_are_pves():
    with pytest.raises(L.PVEError, match="missing ':' after key 'totem'"):
        C.parse_conf("totem\n")
    with pytest.raises(L.PVEError, match="section 'totem' already exists"):
        C.parse_conf("totem {\n}\ntotem {\n}\n")


# ---------------------------------------------------------------- delnode
@pytest.fixture
def cluster_dir(tmp_path, monkeypatch):
    """A temporary /etc/pve with PVE_CONF, this host being pve1, quorate; corosync-cfgtool recorded."""
    pve = quorate_pve1(tmp_path, monkeypatch, PVE_CONF)
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        return types.SimpleNamespace(returncode=1)  # e.g. the node is already down: allowed to fail

    monkeypatch.setattr(pvecm, "subprocess", types.SimpleNamespace(run=fake_run, DEVNULL=-3))
    return types.SimpleNamespace(pve=pve, calls=calls)


def test_delnode_refuses_the_local_node(cluster_dir):
    with pytest.raises(L.PVEError, match=r"^Cannot delete myself from cluster!$"):
        pvecm.cmd_delnode(["pve1"])
    assert cluster_dir.calls == []


def test_delnode_refuses_without_quorum(cluster_dir, monkeypatch):
    monkeypatch.setattr(L, "quorate", lambda: False)
    with pytest.raises(L.PVEError, match=r"^cluster not ready - no quorum\?$"):
        pvecm.cmd_delnode(["pve2"])


def test_delnode_refuses_an_unknown_node_and_an_invalid_name(cluster_dir):
    with pytest.raises(L.PVEError, match=r"^Node/IP: pve9 is not a known host of the cluster\.$"):
        pvecm.cmd_delnode(["pve9"])
    with pytest.raises(L.PVEError, match="node: value does not look like a valid node name"):
        pvecm.cmd_delnode(["10.254.10.12"])  # a dotted IP is no 'pve-node' value
    assert (cluster_dir.pve / "corosync.conf").read_text() == PVE_CONF


def test_delnode_outside_a_cluster_knows_no_host(cluster_dir):
    (cluster_dir.pve / "corosync.conf").unlink()
    with pytest.raises(L.PVEError, match=r"^Node/IP: pve2 is not a known host of the cluster\.$"):
        pvecm.cmd_delnode(["pve2"])


def test_delnode_kills_the_node_and_bumps_the_version_keeping_the_rest(cluster_dir):
    assert pvecm.cmd_delnode(["pve2"]) == 0
    assert cluster_dir.calls == [["corosync-cfgtool", "-k", "2"]]
    after = pvecm.read_cluster()
    assert [n["name"] for n in after["nodes"]] == ["pve1"]
    assert after["config_version"] == 8
    assert C.quorum_device(after)["net"]["host"] == "10.254.10.50"
    assert after["crypto_cipher"] == "aes256"


def test_delnode_matches_a_ring_address_that_looks_like_a_node_name(cluster_dir):
    text = PVE_CONF.replace("ring1_addr: 10.254.100.12", "ring1_addr: pve2-storage")
    (cluster_dir.pve / "corosync.conf").write_text(text)
    pvecm.cmd_delnode(["pve2-storage"])
    assert [n["name"] for n in pvecm.read_cluster()["nodes"]] == ["pve1"]
