"""An RBD storage's usage in /cluster/resources is what pvestatd last measured: PVE refreshes it every 10 s
($updatetime in PVE/Service/pvestatd.pm), so the lab's API asks Ceph (`ceph df`) at most once per cycle, however
often a scraper reads it, and through one librados session (as PVE::RADOS), not a CLI run each time."""
from __future__ import annotations

import json
import os
import sys
from types import SimpleNamespace

from lab.api import ceph, cluster, core

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


class FakeRados:
    """python3-rados' Rados, recording each session's life; `answers` is what the monitors reply, in order."""
    made: list = []

    def __init__(self, conffile, conf):
        self.conffile, self.conf, self.open, self.commands = conffile, conf, False, []
        FakeRados.made.append(self)

    def connect(self):
        self.open = True

    def mon_command(self, cmd, inbuf):
        assert self.open
        self.commands.append(json.loads(cmd))
        return FakeRados.answers.pop(0)

    def shutdown(self):
        self.open = False


def test_the_api_keeps_one_ceph_session_as_pvestatd_does(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "rados", SimpleNamespace(Rados=FakeRados))
    FakeRados.made = []
    conf = tmp_path / "ceph.conf"
    session = ceph.Session(conf)
    assert session.mon_json("df") is None and FakeRados.made == []  # no cluster on this host: Ceph is not asked
    conf.write_text("[global]\nmon_host = 10.254.100.11\n")
    FakeRados.answers = [(0, json.dumps(DF).encode(), "")] * 3
    assert [session.mon_json("df") for _ in range(3)] == [DF] * 3
    assert len(FakeRados.made) == 1 and FakeRados.made[0].commands == [{"prefix": "df", "format": "json"}] * 3
    assert FakeRados.made[0].conf == {"client_mount_timeout": "3", "rados_mon_op_timeout": "3"}

    FakeRados.answers = [(-110, b"", "timed out"), (0, b"{}", "")]  # a monitor timeout: None, then a new session
    assert session.mon_json("df") is None and not FakeRados.made[0].open
    assert session.mon_json("df") == {} and len(FakeRados.made) == 2

    os.utime(conf, ns=(0, 0))  # ceph.conf rewritten (monitors moved, another cluster): a new session reads it
    FakeRados.answers = [(0, b"{}", "")]
    assert session.mon_json("df") == {} and len(FakeRados.made) == 3 and not FakeRados.made[1].open
