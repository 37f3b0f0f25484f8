"""Metric families that the exporters used by proxmox-ha really produce.

Every metric name referenced by monitoring/alerts/*.rules.yml and by
monitoring/grafana/*.json must appear here; tests/monitoring/test_alerts.py
enforces that.  Each list records where it was read from, so it can be
re-checked when an exporter is upgraded (see monitoring/README.md).

Names are the *exposition* names, i.e. what Prometheus stores: counters carry
their ``_total`` suffix, histograms are listed with ``_bucket``/``_sum``/``_count``.
"""

# ---------------------------------------------------------------------------
# prometheus-pve-exporter (PyPI "prometheus-pve-exporter")
# Read from: pve_exporter/collector/cluster.py, pve_exporter/collector/node.py
# and pve_exporter/scrape_metrics.py of version 3.10.2 (proxmoxer 2.3.0),
# installed with `pip install prometheus-pve-exporter` into a throwaway venv.
# Served on :9221 at /pve?target=HOST&module=default&cluster=1&node=1.
# ---------------------------------------------------------------------------
PVE_EXPORTER_VERSION = "3.10.2"

PVE_EXPORTER_METRICS = {
    # StatusCollector (cluster=1). Labels: id. id="node/<name>" -> node online,
    # id="cluster/<name>" -> cluster quorate (0/1), id="qemu/<vmid>"|"lxc/<vmid>"
    # -> guest running, id="storage/<node>/<storage>" -> storage available.
    "pve_up",
    # VersionCollector (cluster=1). Labels: release, repoid, version.
    "pve_version_info",
    # ClusterNodeCollector (cluster=1). Labels: id, level, name, nodeid.
    "pve_node_info",
    # ClusterInfoCollector (cluster=1). Labels: id, nodes, quorate, version.
    "pve_cluster_info",
    # QDeviceCollector (cluster=1, only when a QDevice is configured).
    "pve_qdevice_up",
    "pve_qdevice_info",
    # ClusterResourcesCollector (cluster=1). Labels: id.
    "pve_disk_size_bytes",
    "pve_disk_usage_bytes",
    "pve_memory_size_bytes",
    "pve_memory_usage_bytes",
    "pve_network_transmit_bytes",  # deprecated gauge
    "pve_network_receive_bytes",  # deprecated gauge
    "pve_disk_write_bytes",  # deprecated gauge
    "pve_disk_read_bytes",  # deprecated gauge
    "pve_cpu_usage_ratio",
    "pve_cpu_usage_limit",
    "pve_uptime_seconds",
    "pve_storage_shared",
    "pve_network_transmit_bytes_total",
    "pve_network_receive_bytes_total",
    "pve_disk_written_bytes_total",
    "pve_disk_read_bytes_total",
    # HighAvailabilityStateMetric. Labels: id, state.
    # guests (qemu/lxc): stopped request_stop request_start request_start_balance
    #   started fence recovery migrate relocate freeze error
    # nodes: online maintenance unknown fence gone
    "pve_ha_state",
    # LockStateMetric. Labels: id, state (backup clone create migrate rollback
    # snapshot snapshot-delete suspended suspending).
    "pve_lock_state",
    # Info metrics.
    "pve_guest_info",  # id, node, name, type, template, tags
    "pve_storage_info",  # id, node, storage, plugintype, content
    # BackupInfoCollector (cluster=1): guests not covered by ANY backup job.
    "pve_not_backed_up_total",  # id="cluster/<name>"
    "pve_not_backed_up_info",  # id="qemu/<vmid>"|"lxc/<vmid>"
    # NodeConfigCollector (node=1). Labels: id, node, type.
    "pve_onboot_status",
    # NodeReplicationCollector (node=1).
    "pve_replication_info",  # id, type, source, target, guest
    "pve_replication_duration_seconds",
    "pve_replication_last_sync_timestamp_seconds",
    "pve_replication_last_try_timestamp_seconds",
    "pve_replication_next_sync_timestamp_seconds",
    "pve_replication_failed_syncs",
    # SubscriptionCollector (node=1).
    "pve_subscription_info",
    "pve_subscription_status",
    "pve_subscription_next_due_timestamp_seconds",
    # scrape_metrics.py (only with --collector.pve-api-metrics /
    # --collector.target-metrics).
    "pve_scrape_api_duration_seconds_bucket",
    "pve_scrape_api_duration_seconds_sum",
    "pve_scrape_api_duration_seconds_count",
    "pve_scrape_api_errors_total",
    "pve_scrape_target_duration_seconds_bucket",
    "pve_scrape_target_duration_seconds_sum",
    "pve_scrape_target_duration_seconds_count",
    "pve_scrape_target_errors_total",
}

# ---------------------------------------------------------------------------
# Ceph mgr "prometheus" module, Ceph 16.2.15 (Debian bookworm
# ceph-mgr-modules-core 16.2.15+ds-0+deb12u2):
# /usr/share/ceph/mgr/prometheus/module.py (_setup_static_metrics, get_*)
# and PG_STATES from /usr/share/ceph/mgr/mgr_module.py (package ceph-mgr).
# Names are "ceph_" + path, with "-" -> "_" and "+" -> "_plus".
# Served on :9283 at /metrics by the ACTIVE mgr only (standbys answer 200
# with an empty body in the default standby_behaviour).
# Daemon perf counters (ceph_osd_op_*, ceph_mon_*, ...) are generated
# dynamically from the daemons' schemas and are deliberately not listed:
# the rules and dashboard do not use them.
# ---------------------------------------------------------------------------
CEPH_VERSION = "16.2.15"

_CEPH_PG_STATES = [
    "active", "clean", "down", "recovery_unfound", "backfill_unfound",
    "scrubbing", "degraded", "inconsistent", "peering", "repair",
    "recovering", "forced_recovery", "backfill_wait", "incomplete", "stale",
    "remapped", "deep", "backfilling", "forced_backfill", "backfill_toofull",
    "recovery_wait", "recovery_toofull", "undersized", "activating", "peered",
    "snaptrim", "snaptrim_wait", "snaptrim_error", "creating", "unknown",
    "premerge", "failed_repair", "laggy", "wait",
]
_CEPH_OSD_FLAGS = ["noup", "nodown", "noout", "noin", "nobackfill",
                   "norebalance", "norecover", "noscrub", "nodeep_scrub"]
_CEPH_DF_CLUSTER = ["total_bytes", "total_used_bytes", "total_used_raw_bytes"]
_CEPH_DF_POOL = ["max_avail", "avail_raw", "stored", "stored_raw", "objects",
                 "dirty", "quota_bytes", "quota_objects", "rd", "rd_bytes", "wr",
                 "wr_bytes", "compress_bytes_used", "compress_under_bytes",
                 "bytes_used", "percent_used"]
_CEPH_OSD_POOL_STATS = ["recovering_objects_per_sec", "recovering_bytes_per_sec",
                        "recovering_keys_per_sec", "num_objects_recovered",
                        "num_bytes_recovered"]

CEPH_MGR_METRICS = (
    {
        "ceph_health_status",  # 0 = HEALTH_OK, 1 = HEALTH_WARN, 2 = HEALTH_ERR
        "ceph_health_detail",  # name, severity
        "ceph_mon_quorum_status",  # ceph_daemon
        "ceph_mon_metadata",
        "ceph_mgr_metadata",
        "ceph_mgr_status",  # 0 = standby, 1 = active
        "ceph_mgr_module_status",
        "ceph_mgr_module_can_run",
        "ceph_fs_metadata",
        "ceph_mds_metadata",
        "ceph_osd_metadata",
        "ceph_disk_occupation",
        "ceph_disk_occupation_human",
        "ceph_pool_metadata",  # pool_id, name, type, description, compression_mode
        "ceph_rgw_metadata",
        "ceph_rbd_mirror_metadata",
        "ceph_pg_total",  # pool_id
        "ceph_pool_objects_repaired",
        "ceph_daemon_health_metrics",
        "ceph_osd_weight",  # ceph_daemon
        "ceph_osd_up",  # ceph_daemon
        "ceph_osd_in",  # ceph_daemon
        "ceph_osd_apply_latency_ms",
        "ceph_osd_commit_latency_ms",
        "ceph_num_objects_degraded",
        "ceph_num_objects_misplaced",
        "ceph_num_objects_unfound",
        "ceph_healthcheck_slow_ops",
        "ceph_prometheus_collect_duration_seconds_sum",
        "ceph_prometheus_collect_duration_seconds_count",
    }
    | {f"ceph_pg_{s}" for s in _CEPH_PG_STATES}  # pool_id
    | {f"ceph_osd_flag_{f}" for f in _CEPH_OSD_FLAGS}
    | {f"ceph_cluster_{s}" for s in _CEPH_DF_CLUSTER}
    | {f"ceph_pool_{s}" for s in _CEPH_DF_POOL}  # pool_id
    | {f"ceph_pool_{s}" for s in _CEPH_OSD_POOL_STATS}  # pool_id
)

# ---------------------------------------------------------------------------
# prometheus-blackbox-exporter 0.23.0 (Debian bookworm 0.23.0-4+b4), read with
# `strings /usr/bin/prometheus-blackbox-exporter | grep -o 'probe_[a-z_]*'`.
# Only the ones relevant here; used for TLS certificate expiry of the PVE
# (8006) and PBS (8007) web/API endpoints, which pve-exporter does not expose.
# ---------------------------------------------------------------------------
BLACKBOX_EXPORTER_VERSION = "0.23.0"

BLACKBOX_METRICS = {
    "probe_success",
    "probe_duration_seconds",
    "probe_http_status_code",
    "probe_http_ssl",
    "probe_ssl_earliest_cert_expiry",
    "probe_ssl_last_chain_expiry_timestamp_seconds",
    "probe_ssl_last_chain_info",
    "probe_tls_version_info",
}

# ---------------------------------------------------------------------------
# Written by ops/config-backup/proxmox-config-backup.sh to the node_exporter
# textfile collector directory (TEXTFILE_DIR, default
# /var/lib/prometheus/node-exporter as used by Debian's
# prometheus-node-exporter).  We own these names.
# ---------------------------------------------------------------------------
CONFIG_BACKUP_METRICS = {
    "proxmox_ha_config_backup_last_run_timestamp_seconds",
    "proxmox_ha_config_backup_last_success_timestamp_seconds",
    "proxmox_ha_config_backup_success",
    "proxmox_ha_config_backup_size_bytes",
}

# Written by monitoring/corosync-links/proxmox-ha-corosync-links.sh to the same directory (labels: peer, link).
COROSYNC_LINK_METRICS = {"proxmox_ha_corosync_link_connected"}

# Prometheus' own per-target series.
PROMETHEUS_BUILTIN_METRICS = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}

# Prefixes that identify an exporter metric in an expression; any identifier
# with one of these prefixes must be in KNOWN_METRICS.
CHECKED_PREFIXES = ("pve_", "ceph_", "probe_", "proxmox_ha_")

KNOWN_METRICS = frozenset(
    PVE_EXPORTER_METRICS | CEPH_MGR_METRICS | BLACKBOX_METRICS | CONFIG_BACKUP_METRICS | COROSYNC_LINK_METRICS
    | PROMETHEUS_BUILTIN_METRICS
)

# Names that earlier drafts used but that NO exporter produces.
KNOWN_INVALID = frozenset({
    "pve_cluster_quorum",
    "pve_vm_migrate_total",
})

if __name__ == "__main__":  # pragma: no cover - convenience listing
    for name in sorted(KNOWN_METRICS):
        print(name)
