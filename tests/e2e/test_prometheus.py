"""The lab's Prometheus, which `up` installed on the lab's monitoring host: it scrapes every exporter on every node,
and each dashboard query finds series there."""
from __future__ import annotations

import pytest

from tests.monitoring.test_alerts import _dashboard_exprs, metric_names

from . import alerts
from .helpers import NODES, wait_until

pytestmark = pytest.mark.lab
# Each exporter on each node, and the blackbox exporter's look at each node's and the PBS's certificate.
SCRAPED = sorted([(job, node) for job in ("ceph", "node", "pve", "blackbox-tls") for node in NODES] + [("blackbox-tls", "pbs-backup")])


def test_prometheus_scrapes_every_exporter_on_every_node(converged):
    seen: list[list[dict]] = []

    def all_up():
        seen.append(alerts.targets(converged))
        return seen[-1] if len(seen[-1]) == len(SCRAPED) and all(t["health"] == "up" for t in seen[-1]) else None

    try:
        found = wait_until("every target to be scraped and up", all_up, 60)
    except AssertionError as timeout:
        down = [(t["labels"]["job"], t["labels"]["node"], t["health"], t["lastError"]) for t in seen[-1] if t["health"] != "up"]
        raise AssertionError(f"{timeout}; not up: {down}") from None
    assert sorted((t["labels"]["job"], t["labels"]["node"]) for t in found) == SCRAPED
    up = alerts.query(converged, "up")
    assert len(up) == len(SCRAPED) and all(series["value"][1] == "1" for series in up)


# Series the exporter makes only per offending object, so none on the lab's healthy cluster (their panels stay empty).
ONE_PER_FAULT = {
    "pve_not_backed_up_info": "one per guest that no backup job covers: the lab's job covers all",
    "pve_replication_failed_syncs": "one per storage replication job (ZFS only): the lab stack has none",
}


def test_every_dashboard_query_finds_series(converged):
    # The config backup writes its metrics when its timer fires; run it once as the timer would.
    for node in NODES:
        converged.ok(node, "/usr/local/sbin/proxmox-config-backup.sh >/dev/null")
    wait_until("the config backup's metrics to be scraped", lambda: len(alerts.query(
        converged, "proxmox_ha_config_backup_last_success_timestamp_seconds")) == len(NODES), 30)
    empty = []
    for expr in _dashboard_exprs():
        if alerts.query(converged, expr):
            continue
        # A query that filters (`== 1`, `> 0`) is empty on a healthy cluster; the series it filters must exist.
        missing = [name for name in metric_names(expr) - set(ONE_PER_FAULT) if not alerts.query(converged, f"count({name})")]
        if missing or not metric_names(expr):
            empty.append(f"{expr}: no series of {missing}")
    assert empty == []
