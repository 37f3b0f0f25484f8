"""An RBD storage's usage in /cluster/resources is what pvestatd last measured: PVE refreshes it every 10 s
($updatetime in PVE/Service/pvestatd.pm), so the lab's API asks Ceph (`ceph df`) at most once per cycle, however
often a scraper reads it."""
from __future__ import annotations

from types import SimpleNamespace

from lab.api import cluster, core

DF = {"pools": [{"name": "vm-storage", "stats": {"bytes_used": 300, "max_avail": 700}}]}


def test_rbd_usage_asks_ceph_once_per_status_cycle(monkeypatch):
    asked, now = [], [1000.0]
    monkeypatch.setattr(cluster, "_ceph_df", lambda: asked.append(now[0]) or DF)
    monkeypatch.setattr(core.time, "time", lambda: now[0])
    api = SimpleNamespace(cluster=core.ClusterView(store=None, node="pve1"))
    usage = {"status": "available", "disk": 300, "maxdisk": 1000}
    for step in (0, 3, 3, 3.5):  # a scrape every few seconds, within one cycle
        now[0] += step
        assert cluster._storage_usage(api, "rbd", {"pool": "vm-storage"}) == usage
    assert asked == [1000.0]
    now[0] += 1  # 10.5 s after the first measurement: the next cycle
    cluster._storage_usage(api, "rbd", {"pool": "vm-storage"})
    assert asked == [1000.0, 1010.5]
