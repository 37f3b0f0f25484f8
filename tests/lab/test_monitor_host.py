"""The lab's monitoring: the Debian host `monitor` (Prometheus and Alertmanager) and each PVE host's node_exporter, all
Debian's own daemons run by the systemctl shim as their unit files say; `lab status` shows the alerts firing.

Every request goes from the root namespace over the management bridge, as `lab status` does."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from lab.common import ALERTMANAGER_PORT, MGMT_NET, MONITOR_ADDR, MONITOR_HOST, Paths, mgmt_addr
from tests.e2e.helpers import wait_until

from .conftest import lab_cli

pytestmark = pytest.mark.lab

# No proxy from the environment: every address here is on the lab's bridges.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
PROMETHEUS = f"http://{MONITOR_ADDR}:9090"
ALERTMANAGER = f"http://{MONITOR_ADDR}:{ALERTMANAGER_PORT}"

PROMETHEUS_YML = """global: {scrape_interval: 5s, evaluation_interval: 5s}
alerting:
  alertmanagers: [{static_configs: [{targets: ["localhost:9093"]}]}]
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["localhost:9090"]}]
"""
ALERTMANAGER_YML = "route: {receiver: lab}\nreceivers: [{name: lab}]\n"


def get(url: str, timeout: float = 3) -> str | None:
    """The body of a 200 answer, or None (refused, not ready, an error)."""
    try:
        with OPENER.open(url, timeout=timeout) as answer:
            return answer.read().decode()
    except (OSError, ValueError):
        return None


def unit_pid(host: str, unit: str) -> int | None:
    try:
        return int((Paths().host_pids(host) / f"{unit}.pid").read_text())
    except (OSError, ValueError):
        return None


def write(lab, host: str, path: str, text: str) -> None:
    lab.ok(host, f"cat > {path} <<'EOF'\n{text}EOF")


@pytest.fixture
def monitoring(lab):
    """Prometheus and Alertmanager on the monitor host with a minimal config of the test's; stopped afterwards."""
    write(lab, MONITOR_HOST, "/etc/prometheus/prometheus.yml", PROMETHEUS_YML)
    write(lab, MONITOR_HOST, "/etc/prometheus/alertmanager.yml", ALERTMANAGER_YML)
    lab.ok(MONITOR_HOST, "systemctl start prometheus prometheus-alertmanager")
    yield
    lab.ssh(MONITOR_HOST, "systemctl stop prometheus prometheus-alertmanager")


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


# ---------------------------------------------------------------- node_exporter on a PVE host
def test_node_exporter_runs_as_its_unit_says_in_the_pve_host(lab):
    try:
        lab.ok("pve1", "systemctl start prometheus-node-exporter")
        metrics = wait_until("node_exporter on pve1:9100", lambda: get(f"http://{mgmt_addr('pve1')}:9100/metrics"), 15, 0.2)
        assert 'node_uname_info{domainname="(none)",machine="x86_64",nodename="pve1"' in metrics
        pid = unit_pid("pve1", "prometheus-node-exporter")
        assert lab.ok("pve1", f"ps -o user= -p {pid}").strip() == "prometheus"  # User=prometheus
        assert get(f"http://{mgmt_addr('pve2')}:9100/metrics") is None  # pve1's own network namespace
        # Debian's textfile collector directory, the host's own (/var/lib is per host).
        lab.ok("pve1", "echo 'lab_textfile_probe 42' > /var/lib/prometheus/node-exporter/lab-probe.prom")
        assert "\nlab_textfile_probe 42\n" in get(f"http://{mgmt_addr('pve1')}:9100/metrics")
        assert lab.ssh("pve2", "test -e /var/lib/prometheus/node-exporter/lab-probe.prom").returncode == 1
        assert lab.ssh("pve1", "systemctl is-active prometheus-node-exporter").returncode == 0
    finally:
        lab.ssh("pve1", "rm -f /var/lib/prometheus/node-exporter/lab-probe.prom; systemctl stop prometheus-node-exporter")
    assert lab.ssh("pve1", "systemctl is-active prometheus-node-exporter").returncode == 3
    assert get(f"http://{mgmt_addr('pve1')}:9100/metrics") is None


# ---------------------------------------------------------------- Prometheus and Alertmanager on the monitor host
def test_prometheus_and_alertmanager_answer_and_reload_keeps_the_process(lab, monitoring):
    assert "Ready" in wait_until("Prometheus ready", lambda: get(f"{PROMETHEUS}/-/ready"), 30, 0.2)
    assert "OK" in wait_until("Alertmanager ready", lambda: get(f"{ALERTMANAGER}/-/ready"), 30, 0.2)
    pid = unit_pid(MONITOR_HOST, "prometheus")
    assert f"Main PID: {pid} (prometheus)" in lab.ok(MONITOR_HOST, "systemctl status prometheus")
    # Its state is where Debian's package keeps it, in the monitor host's own /var/lib.
    lab.ok(MONITOR_HOST, "test -d /var/lib/prometheus/metrics2/wal && test -d /var/lib/prometheus/metrics2/chunks_head")
    write(lab, MONITOR_HOST, "/etc/prometheus/prometheus.yml",
          PROMETHEUS_YML + "  - job_name: lab-reload-probe\n    static_configs: [{targets: [\"localhost:9093\"]}]\n")
    lab.ok(MONITOR_HOST, "systemctl reload prometheus")
    wait_until("the reloaded config", lambda: "lab-reload-probe" in (get(f"{PROMETHEUS}/api/v1/status/config") or ""), 15, 0.2)
    assert unit_pid(MONITOR_HOST, "prometheus") == pid and lab.ssh(MONITOR_HOST, f"kill -0 {pid}").returncode == 0
    # Alertmanager's ExecReload is the same SIGHUP: its process stays too.
    am = unit_pid(MONITOR_HOST, "prometheus-alertmanager")
    lab.ok(MONITOR_HOST, "systemctl reload prometheus-alertmanager")
    assert unit_pid(MONITOR_HOST, "prometheus-alertmanager") == am


def test_is_active_follows_the_daemon(lab, monitoring):
    assert lab.ssh(MONITOR_HOST, "systemctl is-active prometheus").returncode == 0
    lab.ok(MONITOR_HOST, f"kill -KILL {unit_pid(MONITOR_HOST, 'prometheus')}")
    wait_until("prometheus gone", lambda: lab.ssh(MONITOR_HOST, "systemctl is-active prometheus").returncode == 3, 10, 0.2)
    reload = lab.ssh(MONITOR_HOST, "systemctl reload prometheus")
    assert reload.returncode == 1 and "not active, cannot reload" in reload.stderr


# ---------------------------------------------------------------- lab status and the stack file
def test_lab_status_lists_the_monitor_host_and_the_alerts_firing(lab, monitoring):
    wait_until("Alertmanager ready", lambda: get(f"{ALERTMANAGER}/-/ready"), 30, 0.2)
    alert = [{"labels": {"alertname": "LabStatusProbe", "instance": "pve1"}, "annotations": {"summary": "a probe"}}]
    OPENER.open(urllib.request.Request(f"{ALERTMANAGER}/api/v2/alerts", data=json.dumps(alert).encode(),
                                       headers={"Content-Type": "application/json"}), timeout=5).close()
    data = json.loads(lab_cli("status", "--json").stdout)
    monitor = data["monitor"]
    assert (monitor["name"], monitor["up"], monitor["management_address"]) == (MONITOR_HOST, True, MONITOR_ADDR)
    assert monitor["services"]["prometheus"] == unit_pid(MONITOR_HOST, "prometheus") and monitor["rss_bytes"] > 0
    assert monitor["alertmanager"]["running"]
    assert [(a["name"], a["state"], a["labels"]["instance"]) for a in monitor["alertmanager"]["alerts"]] == [
        ("LabStatusProbe", "active", "pve1")]
    assert "LabStatusProbe  active" in lab_cli("status").stdout
    lab.ok(MONITOR_HOST, "systemctl stop prometheus-alertmanager")
    assert "Alertmanager not running" in lab_cli("status").stdout
    assert json.loads(lab_cli("status", "--json").stdout)["monitor"]["alertmanager"]["running"] is False


def test_stack_config_puts_prometheus_on_the_monitor_host(lab):
    out = Path(lab_cli("stack-config").stdout.strip())
    monitoring = yaml.safe_load(out.read_text())["config"]["proxmox-ha:monitoring"]
    assert monitoring["prometheus"]["address"] == MONITOR_ADDR
    assert monitoring["prometheus"]["sshHostKey"] == lab.info["monitor"]["host_key"]
    assert monitoring["prometheus"]["alertFor"]["CephOsdDown"] == "10s", "the tracked stack's own keys, kept"
