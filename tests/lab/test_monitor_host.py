"""The lab's monitoring host `monitor`: a Debian machine on the management network for Prometheus and Alertmanager."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from lab.common import MGMT_NET, MONITOR_ADDR, MONITOR_HOST, Paths

from .conftest import lab_cli

pytestmark = pytest.mark.lab


# ---------------------------------------------------------------- the host
def test_the_monitor_host_answers_ssh_with_its_pinned_key_on_the_management_network_only(lab):
    monitor = lab.info["monitor"]
    assert (monitor["name"], monitor["management_address"], monitor["ssh_port"]) == (MONITOR_HOST, MONITOR_ADDR, 22)
    assert monitor["host_key"] == " ".join(Path(f"{Paths().host_key(MONITOR_HOST)}.pub").read_text().split()[:2])
    out = lab.ok(MONITOR_HOST, "hostname; ip -o -4 addr show; echo ---; ip -o link show; echo ---; ip -4 route show; "
                               "ip -6 route show | grep -v '^fe80::/64 dev eno1 '; echo ---; ls /usr/local/sbin")
    name, rest = out.split("\n", 1)
    addrs, links, routes, shims = rest.split("---\n")
    assert name == MONITOR_HOST
    assert [line.split()[1:4] for line in addrs.splitlines()] == [["lo", "inet", "127.0.0.1/8"],
                                                                   ["eno1", "inet", f"{MONITOR_ADDR}/24"]]
    assert [line.split()[1].split("@")[0] for line in links.splitlines()] == ["lo:", "eno1"]
    assert routes.splitlines() == [f"{MGMT_NET} dev eno1 proto kernel scope link src {MONITOR_ADDR} "], routes
    # Nothing leaves the machine: the kernel has no route to anywhere else (lookups only, no packet is sent).
    for elsewhere in ("192.0.2.1", "2001:db8::1"):
        off = lab.ssh(MONITOR_HOST, f"ip route get {elsewhere}")
        assert off.returncode != 0 and "unreachable" in off.stderr, (elsewhere, off.stdout, off.stderr)
    assert shims.split() == ["apt", "apt-get", "dpkg-query", "systemctl"]  # a Debian machine: no PVE command
    # The key is really checked: another host's key for the monitor's address is refused.
    bad = Path(lab.info["state_dir"]) / "bad_known_hosts"
    bad.write_text(f"{MONITOR_ADDR} {lab.hosts['pve1']['host_key']}\n")
    try:
        refused = subprocess.run(["ssh", "-i", lab.info["ssh"]["private_key"], "-o", f"UserKnownHostsFile={bad}",
                                  "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", f"root@{MONITOR_ADDR}", "true"],
                                 capture_output=True, text=True, timeout=30)
        assert refused.returncode == 255 and "HOST IDENTIFICATION HAS CHANGED" in refused.stderr
    finally:
        bad.unlink()


def test_a_stopped_monitor_host_comes_back_with_its_files_on_up(lab):
    lab.ok(MONITOR_HOST, "echo kept > /etc/lab-reboot-probe")
    assert not Path("/etc/lab-reboot-probe").exists()  # /etc is the host's own
    os.kill(int(Paths().sshd_pidfile(MONITOR_HOST).read_text()), signal.SIGKILL)
    lab_cli("up")
    assert lab.ok(MONITOR_HOST, "cat /etc/lab-reboot-probe; rm /etc/lab-reboot-probe").strip() == "kept"


def test_apt_in_a_host_finds_the_monitoring_packages_installed(lab):
    for host in (MONITOR_HOST, "pve1"):
        out = lab.ok(host, "apt-get install -y prometheus prometheus-alertmanager prometheus-node-exporter")
        for package in ("prometheus", "prometheus-alertmanager", "prometheus-node-exporter"):
            assert f"{package} is already the newest version." in out
