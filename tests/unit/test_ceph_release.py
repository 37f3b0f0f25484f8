"""Ceph releases follow the PVE major: what pveceph install offers, and the repository file it writes.

From pve-manager (PVE/CLI/pveceph.pm, PVE/Ceph/Releases.pm): stable-8 @ 2606ac850d46 offers quincy, reef,
squid (default quincy) and writes /etc/apt/sources.list.d/ceph.list `deb URL/debian/ceph-REL bookworm REPO`;
master @ 14a22df35955 (PVE 9) offers squid, tentacle (default tentacle) and writes the deb822
/etc/apt/sources.list.d/ceph.sources below. pve-cluster PVE/API2/ClusterConfig.pm @ 7091d92e5949: `pvecm
create`'s clustername is format pve-node (pve-common pve_verify_node_name) with maxLength 15.
"""
from __future__ import annotations

import copy
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from models import ConfigError, parse_stack_config
from policies.ceph_releases import RELEASES_BY_PVE
from remote import ceph_steps

# What pveceph install writes (the heredoc of pveceph.pm on master; the $repolist line on stable-8).
PVE9_SOURCES = """Types: deb
URIs: http://download.proxmox.com/debian/ceph-{release}
Suites: trixie
Components: no-subscription
Signed-By: /usr/share/keyrings/proxmox-archive-keyring.gpg
"""
PVE8_LIST = "deb http://download.proxmox.com/debian/ceph-{release} bookworm no-subscription\n"


def test_releases_offered_per_pve_major():
    assert RELEASES_BY_PVE == {8: ("quincy", "reef", "squid"), 9: ("squid", "tentacle")}


@pytest.mark.parametrize("pve, release", [(9, "tentacle"), (9, "squid"), (8, "quincy"), (8, "reef"), (8, "squid")])
def test_model_takes_each_offered_release(homelab, pve, release):
    homelab["cluster"]["pveVersion"] = pve
    homelab["ceph"]["release"] = release
    assert parse_stack_config(homelab).ceph.release == release


@pytest.mark.parametrize("pve, release, offered", [(8, "tentacle", "quincy, reef, squid"), (9, "reef", "squid, tentacle"),
                                                   (9, "quincy", "squid, tentacle")])
def test_model_refuses_a_release_the_pve_major_does_not_offer(homelab, pve, release, offered):
    homelab["cluster"]["pveVersion"] = pve
    homelab["ceph"]["release"] = release
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(homelab)
    assert f"proxmox-ha:ceph.release: '{release}' is not offered on PVE {pve}" in str(caught.value)
    assert f"choose one of {offered}" in str(caught.value)


def test_model_refuses_an_unknown_release_by_its_key(homelab):
    homelab["ceph"]["release"] = "pacific"
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(homelab)
    assert "proxmox-ha:ceph.release" in str(caught.value) and "tentacle" in str(caught.value)


def test_default_release_is_offered_on_both_majors(homelab):
    del homelab["ceph"]["release"]
    for pve in (8, 9):
        homelab["cluster"]["pveVersion"] = pve
        assert parse_stack_config(copy.deepcopy(homelab)).ceph.release in RELEASES_BY_PVE[pve]


class SourcesDir:
    """Runs a step with a scratch directory bind-mounted over /etc/apt/sources.list.d and a fake ceph-mon."""

    def __init__(self, root: Path):
        self.dir, self.bin = root / "sources.list.d", root / "bin"
        self.dir.mkdir()
        self.bin.mkdir()
        for tool, body in (("ceph-mon", "exit 0"), ("pveceph", f"echo \"pveceph $*\" >> {root}/calls")):
            (self.bin / tool).write_text(f"#!/bin/bash\n{body}\n")
            (self.bin / tool).chmod(0o755)

    def check(self, step) -> bool:
        script = f"if {{\n{step.check.strip()}\n}} >/dev/null; then echo done; else echo todo; fi"
        inner = f"mount --bind {self.dir} /etc/apt/sources.list.d && PATH={self.bin}:$PATH exec bash -c {shlex.quote(script)}"
        result = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", inner],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        return result.stdout == "done\n"


@pytest.fixture
def sources(tmp_path):
    if os.geteuid() != 0 or not Path("/etc/apt/sources.list.d").is_dir():
        pytest.skip("needs root and /etc/apt/sources.list.d for a private mount namespace")
    return SourcesDir(tmp_path)


def test_pve9_install_is_done_when_ceph_sources_names_the_release(sources):
    step = ceph_steps.install("pve1", "tentacle", "no-subscription", 9)
    assert not sources.check(step)
    (sources.dir / "ceph.sources").write_text(PVE9_SOURCES.format(release="squid"))
    assert not sources.check(step)
    (sources.dir / "ceph.sources").write_text(PVE9_SOURCES.format(release="tentacle"))
    assert sources.check(step)


def test_pve9_install_ignores_a_bookworm_ceph_list(sources):
    (sources.dir / "ceph.list").write_text(PVE8_LIST.format(release="squid"))
    assert not sources.check(ceph_steps.install("pve1", "squid", "no-subscription", 9))


def test_pve8_install_is_done_when_ceph_list_names_the_release(sources):
    step = ceph_steps.install("pve1", "reef", "no-subscription", 8)
    assert not sources.check(step)
    (sources.dir / "ceph.list").write_text(PVE8_LIST.format(release="reef"))
    assert sources.check(step)
    (sources.dir / "ceph.list").write_text(PVE8_LIST.format(release="squid"))
    assert not sources.check(step)


def test_install_asks_pveceph_for_the_release():
    step = ceph_steps.install("pve1", "tentacle", "no-subscription", 9)
    assert "pveceph install --repository no-subscription --version tentacle" in step.act
