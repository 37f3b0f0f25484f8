"""The lab's stand-ins for what an upgrade to PVE 9 meets: apt's full-upgrade following the PVE repository's suite,
pve8to9's checklist format, and PVE 9's HA manager migrating groups to rules (pve-ha-manager Manager.pm
try_persistent_group_migration, Groups.pm migrate_groups_to_rules)."""
from __future__ import annotations

import pytest

from lab.pve import ha, release
from lab.shims import apt, pve8to9
from lab.shims import pvelib as L

from .test_shim_ha_manager import NODES, Cluster

GROUPS = "group: prefer2\n\tnodes pve2:2,pve3:1\n\tnofailback 1\n\trestricted 1\n\n"


@pytest.fixture
def upgraded(tmp_path):
    """Three LRMs active on PVE 9, VM 100 in group prefer2 (strict, no failback)."""
    pve = tmp_path / "pve"
    (pve / "ha").mkdir(parents=True)
    (pve / "nodes" / "pve2" / "qemu-server").mkdir(parents=True)
    (pve / "nodes" / "pve2" / "qemu-server" / "100.conf").write_text("memory: 512\n")
    (pve / "ha" / "groups.cfg").write_text(GROUPS)
    (pve / "ha" / "resources.cfg").write_text("vm: 100\n\tgroup prefer2\n\tstate started\n\n")
    ha._group_migration["round"] = 3
    return Cluster(pve)


def rounds(cluster, versions: dict[str, str], count: int, major: int = 9) -> None:
    for _ in range(count):
        cluster.now += 1
        for node in cluster.online:
            ha.lrm_round(cluster.pve, node, cluster.now, cluster.logged.append, versions[node])
        ha.crm_round(cluster.pve, cluster.online[0], NODES, cluster.online, major, cluster.now, cluster.logged.append)


def test_groups_become_rules_once_every_node_runs_9(upgraded):
    rounds(upgraded, dict.fromkeys(NODES, "9.1.3"), 4)
    assert "ha groups migration successful" in upgraded.logged
    assert (upgraded.pve / "ha" / "rules.cfg").read_text() == (
        "node-affinity: ha-group-prefer2\n\tcomment Generated from HA group 'prefer2'.\n\tresources vm:100\n"
        "\tnodes pve2:2,pve3:1\n\tstrict 1\n\n")
    assert (upgraded.pve / "ha" / "resources.cfg").read_text() == "vm: 100\n\tstate started\n\tfailback 0\n\n"
    assert not (upgraded.pve / "ha" / "groups.cfg").exists()


def test_no_migration_while_a_node_runs_8_or_is_in_maintenance(upgraded):
    rounds(upgraded, {"pve1": "9.1.3", "pve2": "9.1.3", "pve3": "8.4.1"}, 4)
    assert "abort ha groups migration: node 'pve3' needs at least pve-manager version '9.0.0~16'" in upgraded.logged
    ha.queue_command(upgraded.pve, "enable-node-maintenance pve3")
    rounds(upgraded, dict.fromkeys(NODES, "9.1.3"), 7)
    assert "abort ha groups migration: node 'pve3' is not online" in upgraded.logged
    assert (upgraded.pve / "ha" / "groups.cfg").read_text() == GROUPS and not (upgraded.pve / "ha" / "rules.cfg").exists()


def test_a_pve8_master_never_migrates(upgraded):
    rounds(upgraded, dict.fromkeys(NODES, "9.1.3"), 10, major=8)
    assert (upgraded.pve / "ha" / "groups.cfg").read_text() == GROUPS


def test_full_upgrade_follows_the_pve_suite_and_keeps_the_booted_kernel(tmp_path, monkeypatch, capsys):
    etc = tmp_path / "etc" / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    record = tmp_path / "pve-manager"
    release.write(record, 8)
    monkeypatch.setattr(apt, "SOURCES", etc)
    monkeypatch.setattr(L, "RELEASE_RECORD", record)
    monkeypatch.setattr(L, "CEPH_RECORD", tmp_path / "ceph-release")
    monkeypatch.setattr(release, "BOOTED_KERNEL", tmp_path / "run" / "running-kernel")
    (etc / "sources.list.d" / "pve-no-subscription.list").write_text(
        "deb http://download.proxmox.com/debian/pve bookworm pve-no-subscription\n")
    apt.full_upgrade()
    assert release.installed(record) == "8.4.1"  # bookworm's PVE is 8: nothing to do
    (etc / "sources.list.d" / "pve-no-subscription.list").unlink()
    (etc / "sources.list.d" / "proxmox.sources").write_text(
        "Types: deb\nURIs: http://download.proxmox.com/debian/pve\nSuites: trixie\nComponents: pve-no-subscription\n")
    (etc / "sources.list.d" / "ceph.sources").write_text(
        "Types: deb\nURIs: http://download.proxmox.com/debian/ceph-squid\nSuites: forky\nComponents: no-subscription\n")
    apt.full_upgrade()
    assert "Setting up pve-manager (9.1.3)" in capsys.readouterr().out
    assert release.installed(record) == "9.1.3"
    assert release.running_kernel(record) == "6.8.12-9-pve"  # until the reboot empties /run
    (tmp_path / "run" / "running-kernel").unlink()
    assert release.running_kernel(record) == "6.17.2-1-pve"


def test_pve8to9_counts_as_the_real_one_prints_them(capsys):
    checks = pve8to9.Checklist()
    checks.header("CHECKING CLUSTER HEALTH/SETTINGS")
    checks.log("pass", "Cluster Filesystem is quorate.")
    checks.log("fail", "1 nodes are offline!")
    checks.log("info", "configured votes - nodes: 3")
    checks.summary()
    assert capsys.readouterr().out == (
        "= CHECKING CLUSTER HEALTH/SETTINGS =\n\nPASS: Cluster Filesystem is quorate.\nFAIL: 1 nodes are offline!\n"
        "INFO: configured votes - nodes: 3\n\n= SUMMARY =\n\nTOTAL:    2\nPASSED:   1\nSKIPPED:  0\nWARNINGS: 0\n"
        "FAILURES: 1\n\nATTENTION: Please check the output for detailed information!\n"
        "Try to solve the problems one at a time and then run this checklist tool again.\n")


def test_pve8to9_fails_on_mixed_suites_as_after_a_half_done_sources_edit(tmp_path, monkeypatch, capsys):
    apt_dir = tmp_path / "apt"
    (apt_dir / "sources.list.d").mkdir(parents=True)
    (apt_dir / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n")
    (apt_dir / "sources.list.d" / "pve.list").write_text("deb http://download.proxmox.com/debian/pve bookworm pve-no-subscription\n")
    monkeypatch.setattr(pve8to9, "APT", apt_dir)
    checks = pve8to9.Checklist()
    pve8to9.check_misc(checks)
    assert checks.counters["fail"] == 0
    (apt_dir / "sources.list.d" / "pve.list").write_text("deb http://download.proxmox.com/debian/pve trixie pve-no-subscription\n")
    pve8to9.check_misc(checks)
    assert checks.counters["fail"] == 1
    assert f"found suite trixie at {apt_dir}/sources.list.d/pve.list:1" in capsys.readouterr().out
