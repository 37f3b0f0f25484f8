"""The lab's Ceph release records and the `ceph` stand-in that reports them (lab/pve/ceph_release.py,
lab/shims/ceph.py), as PVE's "Ceph Reef to Squid" upgrade meets them: the repository edited, apt's full-upgrade,
the daemons restarted, `ceph osd require-osd-release squid`. No lab: the state directory, the host's records and the
real ceph's answers live in tmp_path; the "daemons" are sleep processes named like Ceph's binaries.

Refusals from ceph's src/mon/OSDMonitor.cc ("osd require-osd-release"), src/mon/MonCommands.h (its choices) and
ceph.in (`Error EPERM: ...`); pve8to9's texts from pve-manager PVE/CLI/pve8to9.pm check_ceph @ 14a22df35955.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess

import pytest

from lab.pve import ceph_release as R
from lab.pve import release
from lab.shims import apt, pve8to9, pveceph
from lab.shims import ceph as C
from lab.shims import pvelib as L

DEBIAN = "ceph version 16.2.15 (618f440892089921c3e944a991122ddc44e60516) pacific (stable)"
REEF, SQUID = R.version_line("18.2.7"), R.version_line("19.2.3")


class Passthrough(Exception):
    pass


class Lab:
    """Two lab hosts sharing one state directory; `on(host)` makes the shims run as that host."""

    def __init__(self, tmp_path, monkeypatch):
        self.tmp, self.mp, self.state = tmp_path, monkeypatch, tmp_path / "state"
        self.real_calls, self.osds_up = [], None
        daemons = tmp_path / "bin"
        daemons.mkdir()
        for base in R.DAEMONS:
            (daemons / base).symlink_to("/bin/sleep")
        monkeypatch.setattr(L, "unit_argv", lambda unit: [str(daemons / unit.partition("@")[0]), "60"])
        monkeypatch.setattr(L, "PVE", tmp_path / "pve")
        monkeypatch.setattr(C, "real", self.real)
        monkeypatch.setattr(C.os, "execv", self.execv)
        monkeypatch.delenv("PROXMOX_HA_LAB_PVE_MAJOR", raising=False)
        for host in ("pve1", "pve2"):
            release.write(self.varlib(host) / "pve-manager", 8)
        self.on("pve1")

    def varlib(self, host):
        return self.tmp / host / "varlib"

    def on(self, host):
        (self.state / "hosts" / host / "pids").mkdir(parents=True, exist_ok=True)
        info = self.tmp / host / "lab-host.json"
        info.write_text(json.dumps({"name": host, "host_dir": str(self.state / "hosts" / host),
                                    "state_dir": str(self.state)}))
        self.mp.setattr(L, "HOST_INFO", info)
        self.mp.setattr(L, "RELEASE_RECORD", self.varlib(host) / "pve-manager")
        self.mp.setattr(L, "CEPH_RECORD", self.varlib(host) / "lab-ceph" / "installed-release")
        self.mp.setattr(L, "nodename", lambda: host)
        self.mp.setattr(pveceph, "APT_SOURCES", self.tmp / host / "apt" / "sources.list.d")
        self.mp.setattr(apt, "SOURCES", self.tmp / host / "apt")
        return self

    def install(self, name):
        self.mp.setattr(pveceph, "_real_ceph_version", lambda: DEBIAN)
        assert pveceph.cmd_install(["--repository", "no-subscription", "--version", name]) == 0

    def upgrade_to(self, name):
        """PVE's guide: sed the Ceph repository to the new release, apt update, apt full-upgrade."""
        source = pveceph.APT_SOURCES / "ceph.list"
        source.write_text(source.read_text().replace("ceph-reef", f"ceph-{name}"))
        assert apt.full_upgrade() == 0

    def start(self, *units):
        for unit in units:
            L.unit_start(unit, wait=0.05)

    def restart(self, *units):
        for unit in units:
            L.unit_stop(unit)
            L.unit_start(unit, wait=0.05)

    def real(self, argv):
        self.real_calls.append(argv)
        words, _, fmt = C.split(argv)
        if words == ["versions"]:
            out = json.dumps({"mon": {DEBIAN: 2}, "mgr": {DEBIAN: 1}, "osd": {DEBIAN: 3}, "mds": {},
                              "overall": {DEBIAN: 6}}, indent=4) + "\n"
        elif words[:2] == ["osd", "metadata"]:
            entries = [{"id": i, "arch": "x86_64", "bluestore_bdev_dev_node": "\\/dev\\/sdb", "ceph_release": "pacific",
                        "ceph_version": DEBIAN, "ceph_version_short": "16.2.15", "hostname": f"pve{i + 1}"}
                       for i in range(3)]
            out = json.dumps(entries[int(words[2])] if len(words) == 3 else entries, indent=4).replace("\\\\/", "\\/")
            out += "\n"
        elif words[:2] == ["mon", "metadata"]:
            entries = [{"name": f"pve{i}", "ceph_release": "pacific", "ceph_version": DEBIAN,
                        "ceph_version_short": "16.2.15", "hostname": f"pve{i}"} for i in (1, 2)]
            # A single monitor's metadata names it only on the command line, as the real mon prints it.
            single = next((dict(e, name=None) for e in entries if e["name"] == words[-1]), None)
            out = json.dumps({k: v for k, v in single.items() if v} if len(words) == 3 else entries) + "\n"
        elif words == ["osd", "dump"] and fmt and fmt.startswith("json"):
            up = self.osds_up if self.osds_up is not None else [0, 1]
            osds = ",".join(f'{{"osd":{i},"up":{int(i in up)},"public_addr":"10.254.100.11:6801\\/3123"}}' for i in range(2))
            out = ('\n{"epoch":40,"flags":"noout,sortbitwise","full_ratio":0.94999998807907104,'
                   f'"require_osd_release":"pacific","osds":[{osds}]}}')
        elif words == ["osd", "dump"]:
            out = ("epoch 40\nflags noout,sortbitwise\nrequire_min_compat_client luminous\n"
                   "require_osd_release pacific\nstretch_mode_enabled false\n")
        else:
            raise AssertionError(f"unexpected real ceph call {argv}")
        return subprocess.CompletedProcess([C.REAL, *argv], 0, out, "")

    def execv(self, path, argv):
        raise Passthrough(path, argv)

    def ceph(self, *argv):
        """(exit status, stdout, stderr) of the stand-in."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = C.main(list(argv))
        return code, out.getvalue(), err.getvalue()

    def stop_all(self):
        for pidfile in self.state.glob("hosts/*/pids/*.pid"):
            with contextlib.suppress(OSError, ValueError):
                pid = int(pidfile.read_text())
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


@pytest.fixture
def lab(tmp_path, monkeypatch):
    lab = Lab(tmp_path, monkeypatch)
    yield lab
    lab.stop_all()


def reef_cluster(lab):
    """pve1: mon, mgr, osd.0; pve2: mon, osd.1; both installed reef."""
    lab.on("pve2").install("reef")
    lab.start("ceph-mon@pve2", "ceph-osd@1")
    lab.on("pve1").install("reef")
    lab.start("ceph-mon@pve1", "ceph-mgr@pve1", "ceph-osd@0")


def test_installed_release_from_pveceph_install_then_apt_full_upgrade_only_up_and_only_where_installed(lab, capsys):
    record = L.CEPH_RECORD
    (apt.SOURCES / "sources.list.d").mkdir(parents=True)
    (apt.SOURCES / "sources.list.d" / "ceph.list").write_text(
        "deb http://download.proxmox.com/debian/ceph-squid bookworm no-subscription\n")
    apt.full_upgrade()
    assert R.installed(record) is None  # no Ceph installed: a Ceph repository installs nothing on an upgrade
    lab.install("reef")
    assert (pveceph.APT_SOURCES / "ceph.list").read_text() == (
        "deb http://download.proxmox.com/debian/ceph-reef bookworm no-subscription\n")
    assert R.installed(record) == "18.2.7"
    lab.upgrade_to("squid")
    assert R.installed(record) == "19.2.3"
    assert "Setting up ceph (19.2.3-pve1) ..." in capsys.readouterr().out
    (pveceph.APT_SOURCES / "ceph.list").write_text("deb http://download.proxmox.com/debian/ceph-reef bookworm no-subscription\n")
    apt.full_upgrade()
    lab.install("quincy")
    assert R.installed(record) == "19.2.3"  # apt never downgrades
    assert lab.ceph("--version") == (0, f"{SQUID}\n", "")
    assert lab.ceph("version")[1] == f"{SQUID}\n"


def test_a_daemon_runs_what_was_installed_when_it_started(lab):
    lab.install("reef")
    lab.start("ceph-osd@0")
    pids = lab.state / "hosts" / "pve1" / "pids"
    assert (pids / "ceph-osd@0.ceph-release").read_text() == "18.2.7\n"
    lab.upgrade_to("squid")
    assert R.running(lab.state / "hosts") == {("osd", "0"): "18.2.7"}  # packages moved, the process did not
    L.unit_stop("ceph-osd@0")
    assert not (pids / "ceph-osd@0.ceph-release").exists() and R.running(lab.state / "hosts") == {}
    L.unit_start("ceph-osd@0", wait=0.05)
    assert R.running(lab.state / "hosts") == {("osd", "0"): "19.2.3"}


def test_versions_counts_every_hosts_daemons_by_release_mixed_then_single(lab):
    reef_cluster(lab)
    lab.upgrade_to("squid")
    lab.restart("ceph-mon@pve1", "ceph-mgr@pve1", "ceph-osd@0")
    code, out, _ = lab.ceph("versions", "--format", "json")
    assert code == 0 and json.loads(out) == {
        "mon": {REEF: 1, SQUID: 1}, "mgr": {SQUID: 1},
        "osd": {DEBIAN: 1, REEF: 1, SQUID: 1},  # osd.2 has no record: as the real mon reports it
        "mds": {}, "overall": {DEBIAN: 1, REEF: 2, SQUID: 3}}
    assert out == json.dumps(json.loads(out), separators=(",", ":")) + "\n"
    lab.on("pve2").upgrade_to("squid")
    lab.restart("ceph-mon@pve2", "ceph-osd@1")
    versions = json.loads(lab.on("pve1").ceph("versions")[1])
    assert versions["mon"] == {SQUID: 2} and versions["osd"] == {DEBIAN: 1, SQUID: 2}


def test_metadata_reports_each_daemons_running_release_in_the_real_text(lab):
    reef_cluster(lab)
    lab.upgrade_to("squid")
    lab.restart("ceph-osd@0")
    code, out, _ = lab.ceph("osd", "metadata", "-f", "json")
    entries = json.loads(out)
    assert code == 0 and [(e["ceph_release"], e["ceph_version"], e["ceph_version_short"]) for e in entries] == [
        ("squid", SQUID, "19.2.3"), ("reef", REEF, "18.2.7"), ("pacific", DEBIAN, "16.2.15")]
    assert out.count('"bluestore_bdev_dev_node": "\\/dev\\/sdb"') == 3  # the rest stays as the mon printed it
    single = lab.ceph("osd", "metadata", "1")[1]
    assert json.loads(single)["ceph_version"] == REEF and single.startswith("{\n")


def test_a_single_monitors_metadata_is_known_by_the_name_asked_for(lab):
    reef_cluster(lab)
    lab.upgrade_to("squid")
    lab.restart("ceph-mon@pve1")
    single = json.loads(lab.ceph("--connect-timeout", "30", "mon", "metadata", "pve1", "--format", "json")[1])
    assert "name" not in single and (single["ceph_release"], single["ceph_version_short"]) == ("squid", "19.2.3")
    assert [e["ceph_release"] for e in json.loads(lab.ceph("mon", "metadata")[1])] == ["squid", "reef"]


def test_require_osd_release_refused_as_the_monitor_does_then_recorded(lab):
    reef_cluster(lab)
    assert lab.ceph("osd", "dump", "--format", "json")[1].count('"require_osd_release":"reef"') == 1
    code, _, err = lab.ceph("osd", "require-osd-release", "squid")
    assert (code, err) == (22, "Invalid command: squid not in octopus|pacific|quincy|reef\n"
                                "osd require-osd-release octopus|pacific|quincy|reef [--yes-i-really-mean-it] :  "
                                "set the minimum allowed OSD release to participate in the cluster\n"
                                "Error EINVAL: invalid command\n")
    lab.upgrade_to("squid")
    lab.restart("ceph-mon@pve1", "ceph-mgr@pve1")
    assert lab.ceph("osd", "require-osd-release", "squid") == (1, "", "Error EPERM: not all mons are squid\n")
    lab.on("pve2").upgrade_to("squid")
    lab.restart("ceph-mon@pve2")
    assert lab.ceph("osd", "require-osd-release", "squid") == (
        1, "", "Error EPERM: not all up OSDs have CEPH_FEATURE_SERVER_SQUID feature\n")
    lab.restart("ceph-osd@1")
    lab.on("pve1").restart("ceph-osd@0")
    lab.osds_up = []
    assert lab.ceph("osd", "require-osd-release", "squid")[2] == (
        "Error EPERM: Not advisable to continue since no OSDs are up. Pass --yes-i-really-mean-it if you really wish "
        "to continue.\n")
    lab.osds_up = None
    assert lab.ceph("osd", "require-osd-release", "squid") == (0, "", "")
    assert R.require_osd_release(lab.state) == "squid"
    assert lab.ceph("osd", "require-osd-release", "reef") == (
        1, "", "Error EPERM: require_osd_release cannot be lowered once it has been set\n")
    assert lab.ceph("osd", "require-osd-release", "squid") == (0, "", "")  # idempotent
    assert R.require_osd_release(lab.state) == "squid"


def test_osd_dump_reports_the_recorded_require_osd_release_in_json_and_text(lab):
    reef_cluster(lab)
    R.set_require_osd_release(lab.state, "squid")
    code, out, _ = lab.ceph("osd", "dump", "--format", "json")
    assert code == 0 and json.loads(out)["require_osd_release"] == "squid"
    assert out.startswith("\n{") and '"full_ratio":0.94999998807907104' in out and "6801\\/3123" in out
    text = lab.ceph("osd", "dump")[1]
    assert "\nrequire_osd_release squid\n" in text and "require_min_compat_client luminous" in text
    (lab.state / R.REQUIRE_NAME).unlink()  # a cluster whose monitors started before the record: its oldest OSD
    assert json.loads(lab.ceph("osd", "dump", "-f", "json")[1])["require_osd_release"] == "reef"


def test_everything_else_is_the_real_ceph_untouched(lab):
    with pytest.raises(Passthrough) as caught:
        lab.ceph("--connect-timeout", "15", "osd", "pool", "ls", "--format", "json")
    assert caught.value.args == ("/usr/bin/ceph", ["/usr/bin/ceph", "--connect-timeout", "15", "osd", "pool", "ls",
                                                   "--format", "json"])
    with pytest.raises(Passthrough):
        lab.ceph("--version")  # Ceph never installed by the shim: the real binary's answer
    with pytest.raises(Passthrough):
        lab.ceph("versions")  # no daemon the lab recorded
    assert lab.real_calls == [] and L.CEPH_BIN == "/usr/bin/ceph"


def checklist(lab, monkeypatch, noout=True) -> tuple[pve8to9.Checklist, str]:
    (L.PVE).mkdir(exist_ok=True)
    (L.PVE / "ceph.conf").write_text("[global]\n")
    monkeypatch.setattr(L, "ceph", lambda args, **_: {"health": {"status": "HEALTH_OK"}} if args == ["status"]
                        else {"flags": "noout,sortbitwise" if noout else "sortbitwise"})
    monkeypatch.setattr(pve8to9, "ceph", lambda args: (lambda r: r[1] if r[0] == 0 else None)(lab.ceph(*args)))
    checks = pve8to9.Checklist()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        pve8to9.check_ceph(checks)
    return checks, out.getvalue()


def test_pve8to9_fails_on_reef_from_ceph_version_and_warns_on_mixed_daemons(lab, monkeypatch):
    reef_cluster(lab)
    checks, out = checklist(lab, monkeypatch)
    assert ("FAIL: Hyper-converged Ceph 18 Reef is to old for upgrade!\n"
            "      Upgrade Ceph first to Squid following our how-to:\n"
            "      <https://pve.proxmox.com/wiki/Category:Ceph_Upgrade>\n") in out
    assert "WARN: multiple running versions detected for daemon type OSD!" in out  # osd.2: Debian's, no record
    assert "PASS: single running version detected for daemon type monitor." in out
    assert "SKIP: unable to determine versions of running Ceph MDS instances." in out
    assert "WARN: overall version mismatch detected, check 'ceph versions' output for details!" in out
    assert "PASS: 'noout' flag set to prevent rebalancing during cluster-wide upgrades." in out
    assert checks.counters["fail"] == 1


def test_pve8to9_passes_on_squid_once_every_daemon_runs_it(lab, monkeypatch):
    reef_cluster(lab)
    lab.upgrade_to("squid")
    lab.restart("ceph-mon@pve1", "ceph-mgr@pve1", "ceph-osd@0")
    lab.on("pve2").upgrade_to("squid")
    lab.restart("ceph-mon@pve2", "ceph-osd@1")
    monkeypatch.setattr(lab, "real", lambda argv: subprocess.CompletedProcess(argv, 0, json.dumps(
        {"mon": {DEBIAN: 2}, "mgr": {DEBIAN: 1}, "osd": {DEBIAN: 2}, "mds": {}, "overall": {DEBIAN: 5}}), ""))
    monkeypatch.setattr(C, "real", lab.real)
    checks, out = checklist(lab.on("pve1"), monkeypatch, noout=False)
    assert "PASS: found expected Ceph 19 Squid release.\n" in out
    for name in ("monitor", "manager", "OSD"):
        assert f"PASS: single running version detected for daemon type {name}.\n" in out
    assert "PASS: single running overall version detected for all Ceph daemon types.\n" in out
    assert "WARN: 'noout' flag not set - recommended to prevent rebalancing during upgrades.\n" in out
    assert checks.counters["fail"] == 0
