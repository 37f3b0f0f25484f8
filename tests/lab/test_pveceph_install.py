"""`pveceph install` in the lab offers, defaults and writes what PVE's does on the host's PVE major.

Against a temporary root (no lab host needed): /etc/lab-host.json, /etc/pve and /etc/apt/sources.list.d
are redirected into tmp_path. Expected values from pve-manager PVE/CLI/pveceph.pm and PVE/Ceph/Releases.pm
(stable-8 @ 2606ac850d46da29638efb35cca45879c436980b, master @ 14a22df35955d97dfc1af21e117dc894a29df0c9).
"""
from __future__ import annotations

import json

import pytest

from lab.pve import release
from lab.shims import pveceph as P
from lab.shims import pvelib as L


@pytest.fixture
def host(tmp_path, monkeypatch):
    def make(pve_version: int):
        (tmp_path / "lab-host.json").write_text(json.dumps({"name": "pve1"}))
        release.write(tmp_path / "pve-manager", pve_version)
        return tmp_path

    monkeypatch.delenv("PROXMOX_HA_LAB_PVE_MAJOR", raising=False)
    monkeypatch.setattr(L, "HOST_INFO", tmp_path / "lab-host.json")
    monkeypatch.setattr(L, "RELEASE_RECORD", tmp_path / "pve-manager")
    monkeypatch.setattr(L, "CEPH_RECORD", tmp_path / "lab-ceph" / "installed-release")
    monkeypatch.setattr(L, "PVE", tmp_path / "pve")
    monkeypatch.setattr(L, "nodename", lambda: "pve1")
    monkeypatch.setattr(P, "APT_SOURCES", tmp_path / "sources.list.d")
    monkeypatch.setattr(P, "_real_ceph_version", lambda: "ceph version 16.2.15 (lab)")
    monkeypatch.setattr(P.os, "uname", lambda: type("U", (), {"machine": "x86_64"})())
    return make


def _recorded(root) -> dict:
    return json.loads((root / "pve" / "ceph-install" / "pve1.json").read_text())


def test_pve9_defaults_to_tentacle_and_writes_deb822_ceph_sources(host, capsys):
    root = host(9)
    assert P.cmd_install(["--repository", "no-subscription"]) == 0
    assert (root / "sources.list.d" / "ceph.sources").read_text() == (
        "Types: deb\n"
        "URIs: http://download.proxmox.com/debian/ceph-tentacle\n"
        "Suites: trixie\n"
        "Components: no-subscription\n"
        "Signed-By: /usr/share/keyrings/proxmox-archive-keyring.gpg\n")
    assert not (root / "sources.list.d" / "ceph.list").exists()
    assert _recorded(root)["version"] == "tentacle" and _recorded(root)["pve_major"] == 9
    assert "installed ceph tentacle successfully!" in capsys.readouterr().out


def test_pve9_takes_squid_from_the_enterprise_repository(host):
    root = host(9)
    assert P.cmd_install(["--version", "squid"]) == 0
    sources = (root / "sources.list.d" / "ceph.sources").read_text()
    assert "URIs: https://enterprise.proxmox.com/debian/ceph-squid\n" in sources and "Components: enterprise\n" in sources


def test_pve9_manual_repository_writes_no_file(host):
    root = host(9)
    assert P.cmd_install(["--repository", "manual", "--version", "tentacle"]) == 0
    assert not (root / "sources.list.d").exists() or not any((root / "sources.list.d").iterdir())


@pytest.mark.parametrize("version", ["quincy", "reef", "pacific"])
def test_pve9_refuses_a_release_it_does_not_offer(host, version):
    host(9)
    with pytest.raises(L.PVEError) as caught:
        P.cmd_install(["--version", version])
    assert caught.value.code == 255
    assert caught.value.msg == (
        "400 Parameter verification failed.\n"
        f"version: value '{version}' does not have a value in the enumeration 'squid, tentacle'\n"
        "pveceph install  [OPTIONS]")


def test_pve9_on_arm64_offers_tentacle_only(host, monkeypatch):
    host(9)
    monkeypatch.setattr(P.os, "uname", lambda: type("U", (), {"machine": "aarch64"})())
    with pytest.raises(L.PVEError, match="enumeration 'tentacle'"):
        P.cmd_install(["--version", "squid"])


def test_pve8_defaults_to_quincy_and_writes_bookworm_ceph_list(host):
    root = host(8)
    assert P.cmd_install(["--repository", "no-subscription"]) == 0
    assert (root / "sources.list.d" / "ceph.list").read_text() == (
        "deb http://download.proxmox.com/debian/ceph-quincy bookworm no-subscription\n")
    assert not (root / "sources.list.d" / "ceph.sources").exists()


def test_pve8_takes_squid_from_the_test_repository(host):
    root = host(8)
    assert P.cmd_install(["--version", "squid", "--repository", "test"]) == 0
    assert (root / "sources.list.d" / "ceph.list").read_text() == (
        "deb http://download.proxmox.com/debian/ceph-squid bookworm test\n")


def test_a_host_without_pve_refuses(host, tmp_path):
    host(9)
    (tmp_path / "pve-manager").unlink()
    with pytest.raises(L.PVEError, match="no Proxmox VE installed"):
        P.cmd_install(["--version", "squid"])


def test_pve8_refuses_tentacle_and_the_manual_repository(host):
    host(8)
    with pytest.raises(L.PVEError) as caught:
        P.cmd_install(["--version", "tentacle", "--repository", "manual"])
    assert caught.value.msg == (
        "400 Parameter verification failed.\n"
        "repository: value 'manual' does not have a value in the enumeration 'enterprise, no-subscription, test'\n"
        "version: value 'tentacle' does not have a value in the enumeration 'quincy, reef, squid'\n"
        "pveceph install  [OPTIONS]")


def test_an_option_pveceph_install_does_not_have_is_refused(host):
    host(8)
    with pytest.raises(L.PVEError, match="Unknown option: test-repository"):
        P.cmd_install(["--test-repository"])
