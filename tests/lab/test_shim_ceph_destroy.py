"""pveceph osd/mon/mgr destroy (lab/shims/ceph_destroy.py) against pve-manager's OSD.pm destroyosd,
MON.pm destroymon and Services.pm destroy_mgr, unit level: ceph commands answered by a fake, units recorded."""
from __future__ import annotations

import types
from collections import OrderedDict

import pytest

from lab.shims import ceph_destroy as CD
from lab.shims import pvelib as L


class FakeCeph:
    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def __call__(self, args, check=True, timeout=60, fmt_json=False):
        self.calls.append(list(args))
        return self.answers.get(" ".join(args[:2]), types.SimpleNamespace(stdout="", returncode=0))


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setattr(CD, "CEPH_LIB", tmp_path)
    monkeypatch.setenv("PROXMOX_HA_LAB_PVE_MAJOR", "9")
    monkeypatch.setattr(L, "nodename", lambda: "pve1")
    monkeypatch.setattr(L, "PVE", tmp_path / "pve")
    monkeypatch.setattr(L, "quorate", lambda: True)
    units = []
    monkeypatch.setattr(L, "unit_stop", lambda u, **k: units.append(("stop", u)))
    monkeypatch.setattr(L, "unit_enable", lambda u, en=True: units.append(("enable" if en else "disable", u)))
    conf = OrderedDict([("global", OrderedDict([("mon_host", "10.254.100.11 10.254.100.12 10.254.100.13")])),
                        ("mon.pve1", OrderedDict([("public_addr", "10.254.100.11")])),
                        ("mon.pve2", OrderedDict([("public_addr", "10.254.100.12")])),
                        ("mon.pve3", OrderedDict([("public_addr", "10.254.100.13")]))])
    written = []
    P = types.SimpleNamespace(read_conf=lambda: OrderedDict((k, OrderedDict(v)) for k, v in conf.items()),
                              write_conf=written.append)
    return types.SimpleNamespace(tmp=tmp_path, units=units, P=P, written=written, monkeypatch=monkeypatch)


def osd_answers(up=0, inn=0):
    return {"osd tree": {"nodes": [{"type": "host", "name": "pve1", "children": [0]},
                                   {"type": "host", "name": "pve2", "children": [1]},
                                   {"type": "osd", "id": 0}, {"type": "osd", "id": 1}]},
            "osd dump": {"osds": [{"osd": 0, "up": up, "in": inn}, {"osd": 1, "up": 1, "in": 1}]}}


def test_osd_destroy_refusals(env):
    for answers, argv, msg in (
            (osd_answers(), ["1"], r"^OSD osd\.1 does not belong to node pve1! at /usr/share/perl5/PVE/API2/Ceph/OSD\.pm line \d+\.$"),
            (osd_answers(), ["7"], r"^OSD osd\.7 does not belong to node pve1!"),
            (osd_answers(up=1, inn=1), ["0"], r"^osd is in use \(in == 1\)$"),
            (osd_answers(up=1), ["0"], r"^osd is still running \(up == 1\)$")):
        env.monkeypatch.setattr(L, "ceph", FakeCeph(answers))
        with pytest.raises(L.PVEError, match=msg):
            CD.osd_destroy(argv, env.P)
    assert env.units == []
    with pytest.raises(L.PVEError, match=r"osdid: type check \('integer'\) failed - got 'osd.0'"):
        CD.osd_destroy(["osd.0"], env.P)


@pytest.mark.parametrize("cleanup", [False, True])
def test_osd_destroy_removes_it_from_ceph_and_zaps(env, capsys, cleanup):
    fake = FakeCeph(osd_answers())
    env.monkeypatch.setattr(L, "ceph", fake)
    disk = env.tmp / "sdb"
    disk.write_bytes(b"bluestore block device" + b"\1" * (11 << 20))
    osd = env.tmp / "osd" / "ceph-0"
    osd.mkdir(parents=True)
    (osd / "block").symlink_to(disk)
    (osd / "keyring").write_text("[osd.0]\n")
    assert CD.osd_destroy(["0"] + (["--cleanup"] if cleanup else []), env.P) == 0
    assert fake.calls[2:] == [["osd", "crush", "remove", "osd.0"], ["auth", "del", "osd.0"], ["osd", "rm", "osd.0"],
                              ["config", "rm", "osd.0", "osd_mclock_max_capacity_iops_ssd"],
                              ["config", "rm", "osd.0", "osd_mclock_max_capacity_iops_hdd"]]
    assert env.units == [("stop", "ceph-osd@0"), ("disable", "ceph-osd@0")]
    assert osd.is_dir() and not any(osd.iterdir())  # unmounted: the mountpoint stays, empty
    head = disk.read_bytes()[: 11 << 20]
    assert (head[: 10 << 20] == b"\0" * (10 << 20)) is cleanup
    out = capsys.readouterr().out
    assert out.startswith("destroy OSD osd.0\nRemove osd.0 from the CRUSH map\nRemove the osd.0 authentication key.\n")


def mon_answers(names=("pve1", "pve2", "pve3")):
    mons = [{"name": n, "public_addrs": {"addrvec": [{"type": "v2", "addr": f"10.254.100.1{i + 1}:3300", "nonce": 0},
                                                     {"type": "v1", "addr": f"10.254.100.1{i + 1}:6789", "nonce": 0}]}}
            for i, n in enumerate(names)]
    return {"quorum_status": {"monmap": {"mons": mons}}, "mon metadata": [{"name": n} for n in names]}


def test_mon_destroy_refusals(env):
    env.monkeypatch.setattr(L, "ceph", FakeCeph(mon_answers()))
    with pytest.raises(L.PVEError, match=r"^no such monitor id 'pve9'$"):
        CD.mon_destroy(["pve9"], env.P)
    with pytest.raises(L.PVEError, match=r"^monitor filesystem '.*/mon/ceph-pve2' does not exist on this node$"):
        CD.mon_destroy(["pve2"], env.P)
    (env.tmp / "mon" / "ceph-pve1").mkdir(parents=True)
    env.monkeypatch.setattr(L, "ceph", FakeCeph(mon_answers(("pve1",))))
    with pytest.raises(L.PVEError, match=r"^can't remove last monitor$"):
        CD.mon_destroy(["pve1"], env.P)
    with pytest.raises(L.PVEError, match="monid: value does not match the regex pattern"):
        CD.mon_destroy(["mon.pve1"], env.P)
    assert env.written == []


def test_mon_destroy_removes_it_from_monmap_conf_and_disk(env):
    fake = FakeCeph(mon_answers())
    env.monkeypatch.setattr(L, "ceph", fake)
    (env.tmp / "mon" / "ceph-pve2").mkdir(parents=True)
    env.monkeypatch.setattr(L, "nodename", lambda: "pve2")
    assert CD.mon_destroy(["pve2"], env.P) == 0
    assert ["mon", "remove", "pve2"] in fake.calls
    conf = env.written[-1]
    assert "mon.pve2" not in conf and conf["global"]["mon_host"] == "10.254.100.11 10.254.100.13"
    assert not (env.tmp / "mon" / "ceph-pve2").exists()
    assert env.units == [("disable", "ceph-mon@pve2")]  # no stop: the removed mon exits by itself


def test_mon_host_removal_is_pves():
    assert CD.remove_addr_from_mon_host("10.0.0.1,10.0.0.101", "10.0.0.1") == "10.0.0.101"
    assert CD.remove_addr_from_mon_host("[v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0] [v2:10.0.0.2:3300/0,v1:10.0.0.2:6789/0]",
                                        "10.0.0.2") == "[v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0]"
    assert CD.remove_addr_from_mon_host("fd00::1 fd00::2", "fd00::2") == "fd00::1"
    assert CD.ips_from_mon_host("10.0.0.1:6789 host1 [v2:10.0.0.3:3300/0,v1:10.0.0.3:6789/0]") == [
        "10.0.0.1", "10.0.0.3", "10.0.0.3"]


def test_mgr_destroy(env, capsys):
    fake = FakeCeph({})
    env.monkeypatch.setattr(L, "ceph", fake)
    with pytest.raises(L.PVEError, match=r"^ceph manager directory '.*/mgr/ceph-pve1' not found$"):
        CD.mgr_destroy(["pve1"], env.P)
    with pytest.raises(L.PVEError, match="400 not enough arguments"):
        CD.mgr_destroy([], env.P)
    (env.tmp / "mgr" / "ceph-pve1").mkdir(parents=True)
    assert CD.mgr_destroy(["pve1"], env.P) == 0
    assert env.units == [("disable", "ceph-mgr@pve1"), ("stop", "ceph-mgr@pve1")]
    assert fake.calls == [["auth", "del", "mgr.pve1"]]
    assert not (env.tmp / "mgr" / "ceph-pve1").exists()
    assert capsys.readouterr().out.splitlines() == [
        "disabling service 'ceph-mgr@pve1.service'", "stopping service 'ceph-mgr@pve1.service'",
        f"removing manager directory '{env.tmp}/mgr/ceph-pve1'", "removing authkeys for mgr.pve1"]
