"""The lab's Prometheus, which `up` installed on the lab's monitoring host: it scrapes every exporter on every node,
and each dashboard query finds series there."""
from __future__ import annotations

import pytest

from tests.monitoring.test_alerts import _dashboard_exprs, metric_names

from . import alerts
from .helpers import NODES, wait_until

pytestmark = pytest.mark.lab
JOBS = ("ceph", "node", "pve")


def test_prometheus_scrapes_every_exporter_on_every_node(converged):
    def all_up():
        found = alerts.targets(converged)
        return found if found and all(t["health"] == "up" for t in found) and len(found) == len(JOBS) * len(NODES) else None

    found = wait_until("every target to be scraped and up", all_up, 60)
    assert sorted((t["labels"]["job"], t["labels"]["node"]) for t in found) == [(j, n) for j in JOBS for n in NODES]
    up = alerts.query(converged, "up")
    assert len(up) == len(JOBS) * len(NODES) and all(series["value"][1] == "1" for series in up)


def test_every_dashboard_query_finds_series(converged):
    # The config backup writes its metrics when its timer fires; run it once as the timer would.
    for node in NODES:
        converged.ok(node, "/usr/local/sbin/proxmox-config-backup.sh >/dev/null")
    empty = []
    for expr in _dashboard_exprs():
        if alerts.query(converged, expr):
            continue
        # A query that filters (`== 1`, `> 0`) is empty on a healthy cluster; the series it filters must exist.
        missing = [name for name in metric_names(expr) if not alerts.query(converged, f"count({name})")]
        if missing or not metric_names(expr):
            empty.append(f"{expr}: no series of {missing}")
    assert empty == []
