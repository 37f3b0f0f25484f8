"""Config validation: good stacks parse; each bad one is refused with its stack key named."""
from __future__ import annotations

import copy

import pytest

from models import ConfigError, parse_stack_config
from models.pve_calendar import calendar_problem, cron_to_calendar

from .conftest import ROOT, stack_sections


def test_homelab_parses_into_the_seed_cluster(homelab):
    stack = parse_stack_config(homelab)
    assert [n.name for n in stack.cluster.nodes] == ["pve1", "pve2", "pve3"]
    assert stack.cluster.osd_hosts() == ["pve1", "pve2", "pve3"]
    assert [(p.name, p.size, p.min_size) for p in stack.ceph.pools] == [("vm-storage", 3, 2), ("backup-storage", 3, 2)]
    assert stack.ha.groups[0].nodes == {"pve1": 2, "pve2": 1, "pve3": 1}
    assert stack.backup.jobs[0].schedule == "02:00"
    assert stack.cluster.endpoint == "https://10.0.10.11:8006/"


def test_lab_stack_parses():
    stack = parse_stack_config(stack_sections(ROOT / "Pulumi.lab.yaml"))
    assert len(stack.cluster.nodes) == 3


def _set(tree: dict, path: str, value) -> None:
    """Set `a.b[1].c` in a nested dict/list; value DELETE removes the key."""
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        tree = tree[int(part)] if part.isdigit() else tree[part]
    last = parts[-1]
    if value is DELETE:
        del tree[last]
    elif last.isdigit():
        tree[int(last)] = value
    else:
        tree[last] = value


class _Delete:
    """The value that removes a key. Its repr is in a test id: an address there (object()'s) differs between
    processes, and pytest-xdist's workers must collect the same ids."""

    def __repr__(self) -> str:
        return "<deleted>"


DELETE = _Delete()

# (what is changed, value, the key the error must name, a word of the rule it must state)
BAD = [
    ("cluster.name", "home_lab_cluster_too_long", "proxmox-ha:cluster.name", "1-15 characters"),
    ("cluster.pveVersion", 7, "proxmox-ha:cluster.pveVersion", "8"),
    ("cluster.nodes[1].name", "pve1", "proxmox-ha:cluster.nodes[1].name", "already used"),
    ("cluster.nodes[2].name", "PVE_3", "proxmox-ha:cluster.nodes[2].name", "hostname"),
    ("cluster.nodes[1].storageAddress", "10.0.99.12", "proxmox-ha:cluster.nodes[1].storageAddress", "outside the storage network"),
    ("cluster.nodes[2].managementAddress", "10.0.10.11", "proxmox-ha:cluster.nodes[2].managementAddress", "already used"),
    ("cluster.nodes[0].managementAddress", "10.0.10.1", "proxmox-ha:cluster.nodes[0].managementAddress", "gateway"),
    ("cluster.nodes[0].managementAddress", "not-an-ip", "proxmox-ha:cluster.nodes[0].managementAddress", "IPv4"),
    ("cluster.nodes[1].storagePort", "eno1", "proxmox-ha:cluster.nodes[1].storagePort", "two links"),
    ("cluster.nodes[0].osdDisks", ["sdb"], "proxmox-ha:cluster.nodes[0].osdDisks", "block device"),
    ("cluster.nodes[0].managmentAddress", "10.0.10.99", "proxmox-ha:cluster.nodes[0].managmentAddress", "not a known key"),
    ("cluster.qdevice", {"address": "10.0.10.40"}, "proxmox-ha:cluster.qdevice", "only for an even node count"),
    ("cluster.networks.storage.cidr", "10.0.10.0/25", "proxmox-ha:cluster.networks.storage.cidr", "overlaps"),
    ("ceph.release", "luminous", "proxmox-ha:ceph.release", "quincy"),
    ("ceph.pools[0].minSize", 3, "proxmox-ha:ceph.pools[0].minSize", "smaller than size"),
    ("ceph.pools[0].pgNum", 100, "proxmox-ha:ceph.pools[0].pgNum", "power of two"),
    ("ceph.pools[1].content", ["backup"], "proxmox-ha:ceph.pools[1].content", "RBD"),
    ("ceph.pools[1].name", "vm-storage", "proxmox-ha:ceph.pools[1].name", "twice"),
    ("ha.groups[0].nodes", {"pve1": 2, "pve9": 1}, "proxmox-ha:ha.groups[0].nodes", "pve9 not in cluster.nodes"),
    ("ha.resources[0].group", "missing_group", "proxmox-ha:ha.resources[0].group", "not one of ha.groups"),
    ("ha.resources[0].id", "vm100", "proxmox-ha:ha.resources[0].id", "vm:ID"),
    ("ha.watchdog", "ipmi_watchdog; reboot", "proxmox-ha:ha.watchdog", "kernel module name"),
    ("backup.jobs[0].schedule", "0 2 * * *", "proxmox-ha:backup.jobs[0].schedule", "'02:00'"),
    ("backup.jobs[0].schedule", "02:60", "proxmox-ha:backup.jobs[0].schedule", "HOUR:MINUTE"),
    ("backup.jobs[0].storage", "nfs-somewhere", "proxmox-ha:backup.jobs[0].storage", "not a storage this stack creates"),
    ("backup.jobs[0].storage", "vm-storage", "proxmox-ha:backup.jobs[0].storage", "cannot hold backups"),
    ("backup.pbs.fingerprint", "AA:BB:...", "proxmox-ha:backup.pbs.fingerprint", "SHA-256"),
    ("backup.pbs.username", "backup", "proxmox-ha:backup.pbs.username", "USER@REALM"),
    ("ha.groups[0].name", "critical_", "proxmox-ha:ha.groups[0].name", "the proxmoxve plugin refuses it"),
    ("ha.groups[0].name", "critical.services", "proxmox-ha:ha.groups[0].name", "pve-configid"),
    ("ceph.pools[0].name", "1pool", "proxmox-ha:ceph.pools[0].name", "pve-storage-id"),
    ("backup.pbs.id", "p", "proxmox-ha:backup.pbs.id", "pve-storage-id"),
    ("backup.pbs.server", "pbs_1", "proxmox-ha:backup.pbs.server", "pve-storage-server"),
    ("backup.pbs.datastore", ".hidden", "proxmox-ha:backup.pbs.datastore", "SAFE_ID"),
    ("backup.jobs[0].vmids", [99], "proxmox-ha:backup.jobs[0].vmids", "pve-vmid"),
    ("backup.jobs[0].mailTo", ["not an address"], "proxmox-ha:backup.jobs[0].mailTo", "email-or-username"),
    ("monitoring", {"user": "mon:itor@pve"}, "proxmox-ha:monitoring.user", "pve-userid"),
    ("monitoring.prometheus.scrapeInterval", "5 s", "proxmox-ha:monitoring.prometheus.scrapeInterval", "Prometheus duration"),
    ("monitoring.prometheus.alertFor", {"CephOsdDwn": "30s"}, "proxmox-ha:monitoring.prometheus.alertFor", "no alert rule is named CephOsdDwn"),
    ("monitoring.prometheus.alertFor", {"CephOsdDown": "5 min"}, "proxmox-ha:monitoring.prometheus.alertFor", "Prometheus duration"),
    ("monitoring.prometheus.address", "prometheus.lan", "proxmox-ha:monitoring.prometheus.address", "IPv4"),
    ("cluster.nodes[0].sshHostKey", "AAAAC3Nza", "proxmox-ha:cluster.nodes[0].sshHostKey", "SSH public key"),
    ("backup.jobs[0].compress", "lz4", "proxmox-ha:backup.jobs[0].compress", "lzo"),
    ("cluster.nodes", DELETE, "proxmox-ha:cluster.nodes", "required"),
]


@pytest.mark.parametrize("path,value,key,rule", BAD, ids=[f"{p}={v!r}"[:60] for p, v, _, _ in BAD])
def test_bad_config_is_refused_naming_the_key(homelab, path, value, key, rule):
    bad = copy.deepcopy(homelab)
    _set(bad, path, value)
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(bad)
    matching = [p for p in caught.value.problems if p.key == key]
    assert matching, f"no problem names {key}: {caught.value}"
    assert any(rule in p.message for p in matching), f"{key}: {[p.message for p in matching]}"
    assert "nothing was created" in str(caught.value)


def test_all_problems_are_reported_at_once(homelab):
    _set(homelab, "cluster.nodes[1].storageAddress", "10.0.99.12")
    _set(homelab, "ceph.pools[0].minSize", 3)
    _set(homelab, "backup.jobs[0].schedule", "0 2 * * *")
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(homelab)
    assert len(caught.value.problems) == 3


def test_pve9_refuses_quincy_but_takes_squid(homelab):
    homelab["ceph"]["release"] = "quincy"
    with pytest.raises(ConfigError, match=r"proxmox-ha:ceph.release: 'quincy' is not offered on PVE 9"):
        parse_stack_config(homelab)
    homelab["ceph"]["release"] = "squid"
    assert parse_stack_config(homelab).cluster.pve_version == 9


@pytest.mark.parametrize("schedule", ["02:00", "mon..fri 21:00", "sat 03:30", "daily", "*/15", "sun 01:00", "*-*-01 04:00", "mon,wed,fri 2,14:00", "2026-12-24 23:59"])
def test_calendar_events_pve_accepts(schedule):
    assert calendar_problem(schedule) is None


@pytest.mark.parametrize("schedule", ["0 2 * * *", "23:60", "funday 02:00", "02:60", "", "02:00 03:00", "13-45 02:00"])
def test_calendar_events_pve_refuses(schedule):
    assert calendar_problem(schedule) is not None


def test_cron_lines_get_their_calendar_form():
    assert cron_to_calendar("0 2 * * *") == "02:00"
    assert cron_to_calendar("30 21 * * 1,2,3,4,5") == "mon,tue,wed,thu,fri 21:30"
    assert cron_to_calendar("*/5 * * * *") is None


def test_decommission_names_nodes_that_are_no_longer_kept(homelab):
    homelab["cluster"]["decommission"] = ["pve4"]
    assert parse_stack_config(homelab).cluster.decommission == ["pve4"]
    homelab["cluster"]["decommission"] = ["pve3", "pve4", "pve4", "Bad_Name"]
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(homelab)
    text = str(caught.value)
    assert "proxmox-ha:cluster.decommission[0]: 'pve3' is also in cluster.nodes; a node is either kept or retired" in text
    assert "proxmox-ha:cluster.decommission[2]: 'pve4' is listed twice" in text
    assert "proxmox-ha:cluster.decommission[3]: 'Bad_Name' must be a hostname label" in text
