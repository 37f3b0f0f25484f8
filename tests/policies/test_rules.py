"""Each policy, passing and violating, over the properties the engine sends."""
from __future__ import annotations

import pytest

import contract

from .conftest import as_engine_sends, violations

CLUSTER = {"clusterName": "c", "nodeCount": 3.0, "nodes": ["pve1", "pve2", "pve3"], "links": 2.0, "storageNetwork": True,
           "cryptoCipher": "aes256", "cryptoHash": "sha256", "qdevice": False}
CEPH = {"release": "squid", "pveVersion": 8.0, "osdHosts": ["pve1", "pve2", "pve3"], "osdCount": 9.0,
        "pools": [{"name": "vm-storage", "size": 3.0, "minSize": 2.0, "pgNum": 128.0}]}


def cluster(**changes):
    return [(contract.CLUSTER, "c", {**CLUSTER, **changes})]


def ceph(**changes):
    return [(contract.CEPH, "ceph", {**CEPH, **changes})]


@pytest.mark.parametrize("count,expected", [(3, 0), (5, 0), (7, 0), (1, 1), (2, 1), (4, 1), (6, 1)])
def test_node_count(count, expected):
    assert len(violations("odd-node-count", cluster(nodeCount=float(count)))) == expected


def test_even_count_with_qdevice_is_advisory_only():
    assert violations("odd-node-count", cluster(nodeCount=4.0, qdevice=True)) == []
    assert violations("odd-node-count", cluster(nodeCount=2.0, qdevice=True)) == []
    assert "QDevice" in violations("even-node-count-with-qdevice", cluster(nodeCount=2.0, qdevice=True))[0]
    assert "QDevice" in violations("even-node-count-with-qdevice", cluster(nodeCount=4.0, qdevice=True))[0]


def test_pool_replication():
    assert violations("ceph-pool-replication", ceph()) == []
    small = ceph(pools=[{"name": "p", "size": 2.0, "minSize": 1.0}])
    assert "never use min_size 1" in violations("ceph-pool-replication", small)[0]
    two = ceph(pools=[{"name": "p", "size": 2.0, "minSize": 2.0}])
    assert "required 3/2" in violations("ceph-pool-replication", two)[0]
    provider_pool = [(contract.PVE_POOL, "p", {"name": "p", "size": 3.0, "minSize": 1.0, "nodeName": "pve1"})]
    assert violations("ceph-pool-replication", provider_pool)


def test_pool_replication_is_configurable_but_never_min_size_one():
    four = ceph(pools=[{"name": "p", "size": 4.0, "minSize": 2.0}])
    assert violations("ceph-pool-replication", four, {"size": 4, "minSize": 2}) == []
    one = ceph(pools=[{"name": "p", "size": 2.0, "minSize": 1.0}])
    assert violations("ceph-pool-replication", one, {"size": 2, "minSize": 1})


def test_replicas_fit_osd_hosts():
    assert violations("ceph-replicas-fit-osd-hosts", ceph()) == []
    (found,) = violations("ceph-replicas-fit-osd-hosts", ceph(osdHosts=["pve1", "pve2"], osdCount=6.0))
    assert found.startswith("proxmox-ha:ceph.pools[0].size: 3 replicas of pool vm-storage need 3 hosts with OSDs, "
                            "but only 2 carry OSDs (pve1, pve2)")


def test_corosync_crypto():
    assert violations("corosync-crypto", cluster()) == []
    assert len(violations("corosync-crypto", cluster(cryptoCipher="none", cryptoHash="none"))) == 2


def test_corosync_single_link():
    assert violations("corosync-single-link", cluster()) == []
    assert violations("corosync-single-link", cluster(links=1.0, storageNetwork=False))


GROUP = (contract.HAGROUP, "g", {"group": "critical", "nodes": {"pve1": 2.0, "pve2": 1.0}})
RESOURCE = (contract.HARESOURCE, "vm-100", {"resourceId": "vm:100", "group": "critical", "maxRelocate": 3.0, "maxRestart": 3.0})


def test_ha_placement_nodes():
    assert violations("ha-placement-nodes", [*cluster(), GROUP]) == []
    lonely = (contract.HAGROUP, "g", {"group": "critical", "nodes": {"pve1": 1.0}})
    assert "at least 2" in violations("ha-placement-nodes", [*cluster(), lonely])[0]
    rule = (contract.HARULE, "r", {"rule": "r", "nodes": {"pve1": 1.0}, "resources": ["vm:100"]})
    assert "at least 2" in violations("ha-placement-nodes", [*cluster(), rule])[0]


def test_ha_max_relocate():
    assert violations("ha-max-relocate", [RESOURCE]) == []
    assert violations("ha-max-relocate", [(contract.HARESOURCE, "x", {"resourceId": "vm:100", "maxRelocate": 0.0})])


def test_ha_watchdog_and_hardware_fencing():
    ha = (contract.HA, "ha", {"watchdog": "ipmi_watchdog"})
    node = (contract.NODE, "pve1", {"nodeName": "pve1", "ipmiConfigured": True})
    assert violations("ha-watchdog", [ha, RESOURCE]) == []
    (found,) = violations("ha-watchdog", [(contract.HA, "ha", {"watchdog": "fence-ipmi"}), RESOURCE])
    assert found.startswith("proxmox-ha:ha.watchdog: 'fence-ipmi' is not a watchdog driver")
    assert violations("ha-watchdog", [(contract.HA, "ha", {"watchdog": "fence-ipmi"})]) == []  # no HA resources: nothing to fence
    assert violations("ha-hardware-fencing", [ha, node, RESOURCE]) == []
    soft = violations("ha-hardware-fencing", [(contract.HA, "ha", {"watchdog": "softdog"}), (contract.NODE, "pve1", {"nodeName": "pve1"}), RESOURCE])
    assert len(soft) == 2


def backup(*jobs):
    """The BackupPlan component as the pack sees it: its registered facts."""
    return (contract.BACKUP, "backup", {"storages": ["pbs-backup"], "jobs": list(jobs), "configBackup": True})


NIGHTLY = {"id": "nightly", "schedule": "02:00", "storage": "pbs-backup", "all": True, "vmids": []}


def test_backups_cover_ha():
    assert violations("backup-covers-ha", [RESOURCE, backup(NIGHTLY)]) == []
    # Under the engine, numbers arrive as floats.
    listed = {**NIGHTLY, "all": False, "vmids": [100.0]}
    assert violations("backup-covers-ha", [RESOURCE, backup(listed)]) == []
    other = {**NIGHTLY, "all": False, "vmids": [101]}
    assert "vm:100 is not covered" in violations("backup-covers-ha", [RESOURCE, backup(other)])[0]
    assert "vm:100 is not covered" in violations("backup-covers-ha", [RESOURCE])[0]


def test_backup_mail_needs_recipients():
    assert violations("backup-job-mail", [backup(NIGHTLY, {**NIGHTLY, "id": "m", "mailNotification": "failure",
                                                             "mailTo": ["ops@example.com"]})]) == []
    silent = {**NIGHTLY, "id": "quiet", "mailNotification": "failure", "mailTo": []}
    (found,) = violations("backup-job-mail", [backup(silent)])
    assert found.startswith("backup job quiet: mailNotification is set without mailTo, so PVE ignores it")


def test_ceph_release_supported_is_advisory_about_releases_past_their_end_of_life():
    assert violations("ceph-release-supported", ceph(release="tentacle", pveVersion=9.0)) == []
    assert violations("ceph-release-supported", ceph(release="squid", pveVersion=9.0)) == [
        "Ceph squid is past its end of life; upgrade to tentacle (pveceph install --version)"]
    # PVE 8 offers nothing still supported: the way out is PVE 9.
    assert violations("ceph-release-supported", ceph(release="reef", pveVersion=8.0)) == [
        "Ceph reef is past its end of life, and PVE 8 offers no supported release; upgrade to PVE 9 and Ceph tentacle"]


SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}


def test_secrets_must_arrive_as_secrets(secret_markers):
    secret = as_engine_sends({"create": "bash -c ...", "stdin": {**SECRET_SIG, "value": "hunter2\n"}})
    plain = as_engine_sends({"create": "bash -c ...", "stdin": "hunter2\n"})
    assert violations("no-plaintext-secrets", [(contract.COMMAND, "pve1-pbs-storage-pbs", secret)]) == []
    assert "step stdin (PBS and IPMI passwords, exporter token) (stdin) is a plaintext input" in violations(
        "no-plaintext-secrets", [(contract.COMMAND, "pve1-pbs-storage-pbs", plain)])[0]
    # Ordinary rules still read plain values through the proxy.
    assert secret["stdin"] == "hunter2\n"
    ssh = as_engine_sends({"create": "true", "connection": {**SECRET_SIG, "value": {"host": "h", "privateKey": "KEY"}}})
    assert violations("no-plaintext-secrets", [(contract.COMMAND, "c", ssh)]) == []
    bare = as_engine_sends({"create": "true", "connection": {"host": "h", "privateKey": "KEY"}})
    assert "SSH private key" in violations("no-plaintext-secrets", [(contract.COMMAND, "c", bare)])[0]
    token = as_engine_sends({"endpoint": "https://x:8006/", "apiToken": "root@pam!t=abc"})
    assert violations("no-plaintext-secrets", [(contract.PROVIDER, "pve", token)])


@pytest.mark.parametrize("count", [3, 5])
def test_a_qdevice_with_an_odd_count_is_left_to_the_models(count):
    # pvecm qdevice setup refuses it, so the models do (tests/unit/test_models.py); the pack does not judge it twice.
    assert violations("odd-node-count", cluster(nodeCount=float(count), qdevice=True)) == []
