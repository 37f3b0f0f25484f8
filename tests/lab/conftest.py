"""Fixtures for the embedded-lab end-to-end tests (select with `-m lab`)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def lab_cli(*args, check=True, timeout=600):
    res = subprocess.run([sys.executable, "-m", "lab", *args], cwd=REPO, capture_output=True, text=True,
                         timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"python3 -m lab {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


def root_snapshot() -> dict:
    """/etc/hosts and the root routes, but those on another slot's bridges (a lab running beside this one)."""
    from lab.common import MGMT_BRIDGE, STORAGE_BRIDGE

    routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout.splitlines()
    ours = [r for r in routes if " dev phalab" not in r or f" dev {MGMT_BRIDGE} " in r or f" dev {STORAGE_BRIDGE} " in r]
    return {"hosts": Path("/etc/hosts").read_text(), "routes": "\n".join(ours)}


class Lab:
    """Talks to the lab hosts over real SSH with the lab's key and pinned host keys."""

    def __init__(self, info: dict):
        self.info = info
        self.hosts = {h["name"]: h for h in info["hosts"]}
        self.hosts[info["qnetd"]["name"]] = info["qnetd"]  # the QDevice's Debian machine: reachable the same way
        self.hosts[info["monitor"]["name"]] = info["monitor"]  # Prometheus' and Alertmanager's Debian machine

    def ssh_command(self, host: str, command: str, tty: bool = False) -> list[str]:
        """`tty`: on a terminal, which hangs the command up when this ssh ends (and makes its output line-buffered)."""
        h = self.hosts[host]
        return ["ssh", *(["-tt"] if tty else []), "-i", self.info["ssh"]["private_key"],
                "-o", f"UserKnownHostsFile={self.info['ssh']['known_hosts']}",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
                "-p", str(h["ssh_port"]), f"{self.info['ssh']['user']}@{h['management_address']}", command]

    def ssh(self, host: str, command: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(self.ssh_command(host, command), capture_output=True, text=True, timeout=timeout)

    def ok(self, host: str, command: str, timeout: float = 300) -> str:
        r = self.ssh(host, command, timeout)
        assert r.returncode == 0, f"{host}: {command!r} exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r.stdout


_BASELINE: dict = {}


@pytest.fixture(scope="session")
def root_before(lab):
    """/etc/hosts and root routes as they were with no lab at all."""
    return _BASELINE


@pytest.fixture(scope="session")
def lab():
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (namespaces, bridges, loop devices)")
    lab_cli("down")
    _BASELINE.update(root_snapshot())
    lab_cli("up")
    from lab.common import Paths

    info = json.loads(Paths().lab_json.read_text())
    yield Lab(info)
    lab_cli("down", check=False)


# ---------------------------------------------------------------- the states tests start from
# Each test asks for the state it needs; these build it with `lab bootstrap`'s idempotent steps (nothing
# is done twice), or start the lab afresh when a test needs less than is there. So any test runs alone.
def _fresh(lab: Lab) -> None:
    lab_cli("down")
    lab_cli("up")
    info = json.loads(Path(lab.info["state_dir"], "lab.json").read_text())
    lab.__init__(info)


def _has(name: str) -> bool:
    from lab.common import Paths
    return (Paths().pve / name).exists()


@pytest.fixture
def unformed(lab):
    """Hosts with their storage network and no cluster yet."""
    from lab import bootstrap
    from lab.common import Paths
    if _has("corosync.conf"):
        _fresh(lab)
    bootstrap.storage_network(Paths())


@pytest.fixture
def clustered(lab):
    """A quorate three-node cluster (no Ceph required)."""
    from lab import bootstrap
    from lab.common import Paths
    bootstrap.storage_network(Paths())
    bootstrap.cluster(Paths())


@pytest.fixture
def cephless(lab):
    """A cluster whose Ceph is not set up yet."""
    from lab import bootstrap
    from lab.common import Paths
    if _has("ceph.conf"):
        _fresh(lab)
    bootstrap.storage_network(Paths())
    bootstrap.cluster(Paths())


@pytest.fixture
def with_ceph(clustered):
    """The cluster with Ceph: three mons, mgrs and OSDs and the vm-storage pool, all PGs active+clean."""
    from lab import bootstrap
    from lab.common import Paths
    bootstrap.ceph(Paths())


def quorate_pve1(tmp_path: Path, monkeypatch, corosync_conf: str) -> Path:
    """For shim unit tests: a temporary /etc/pve holding `corosync_conf`, this host being pve1, quorate."""
    from lab.shims import pvelib as L

    pve = tmp_path / "pve"
    pve.mkdir()
    (pve / "corosync.conf").write_text(corosync_conf)
    monkeypatch.setattr(L, "PVE", pve)
    monkeypatch.setattr(L, "PVE_COROSYNC_CONF", pve / "corosync.conf")
    monkeypatch.setattr(L, "nodename", lambda: "pve1")
    monkeypatch.setattr(L, "quorate", lambda: True)
    return pve
