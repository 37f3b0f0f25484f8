"""The systemctl shim runs Debian's own unit files (lab/shims/pvelib.py PACKAGED_UNITS): ExecStart with its
EnvironmentFile, User=, and `reload` as ExecReload= says (for Prometheus' units SIGHUP to $MAINPID), never a restart.

Unit level: a temporary host directory and unit files of the test's, whose daemon is a small Python process the test
starts and stops through the shim (by its PID). The installed Debian unit files are read as they are when present."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from lab.common import wait_until
from lab.shims import pvelib as L
from lab.shims import systemctl as S

DAEMON = """import os, signal, sys, time
from pathlib import Path
out = Path(sys.argv[1])
out.write_text(os.environ.get("LAB_GREETING", "-") + "\\n")
signal.signal(signal.SIGHUP, lambda *_: out.open("a").write("reloaded\\n"))
while True:
    time.sleep(1)
"""


@pytest.fixture
def units(tmp_path, monkeypatch):
    """A host directory, and unit files named as two of Debian's in a unit directory of the test's."""
    host = tmp_path / "host"
    (host / "pids").mkdir(parents=True)
    info = tmp_path / "lab-host.json"
    info.write_text(json.dumps({"name": "monitor", "host_dir": str(host)}))
    monkeypatch.setattr(L, "HOST_INFO", info)
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    monkeypatch.setattr(L, "SYSTEM_UNIT_DIR", unit_dir)
    (tmp_path / "daemon.py").write_text(DAEMON)
    (tmp_path / "default").write_text('# as Debian ships it\nARGS="%s"\nLAB_GREETING=hello\n' % (tmp_path / "out"))
    (unit_dir / "prometheus.service").write_text(
        f"[Unit]\nDescription=Monitoring system and time series database\n[Service]\nRestart=on-failure\n"
        f"EnvironmentFile={tmp_path / 'default'}\nExecStart={sys.executable} {tmp_path / 'daemon.py'} $ARGS\n"
        "ExecReload=/bin/kill -HUP $MAINPID\nTimeoutStopSec=20s\n")
    (unit_dir / "prometheus-alertmanager.service").write_text(  # no ExecReload
        f"[Service]\nExecStart={sys.executable} {tmp_path / 'daemon.py'} {tmp_path / 'out-am'}\n")
    yield tmp_path
    for unit in ("prometheus", "prometheus-alertmanager"):
        L.unit_stop(unit)


def test_reload_runs_exec_reload_with_the_main_pid_and_keeps_the_process(units, capsys):
    assert S.main(["start", "prometheus"]) == 0
    pid = L.unit_pid("prometheus")
    out = units / "out"
    assert wait_until(lambda: out.exists(), 10)
    assert out.read_text() == "hello\n"  # the EnvironmentFile's variables are in the service's environment
    assert S.main(["reload", "prometheus.service"]) == 0
    assert wait_until(lambda: out.read_text() == "hello\nreloaded\n", 10), out.read_text()
    assert L.unit_pid("prometheus") == pid
    assert S.main(["reload-or-restart", "prometheus"]) == 0  # it can reload: so it does
    assert wait_until(lambda: out.read_text().count("reloaded") == 2, 10)
    assert L.unit_pid("prometheus") == pid
    assert S.main(["status", "prometheus"]) == 0
    assert "prometheus.service - Monitoring system and time series database" in capsys.readouterr().out
    assert S.main(["stop", "prometheus"]) == 0 and not L.unit_active("prometheus")
    capsys.readouterr()
    assert S.main(["reload", "prometheus"]) == 1
    assert "prometheus.service is not active, cannot reload." in capsys.readouterr().err


def test_a_unit_without_exec_reload_is_not_reloaded_as_systemd_refuses(units, capsys):
    assert S.main(["start", "prometheus-alertmanager"]) == 0
    pid = L.unit_pid("prometheus-alertmanager")
    assert S.main(["reload", "prometheus-alertmanager"]) == 1
    assert ("Failed to reload prometheus-alertmanager.service: Job type reload is not applicable for unit "
            "prometheus-alertmanager.service.") in capsys.readouterr().err
    assert L.unit_pid("prometheus-alertmanager") == pid
    assert S.main(["reload-or-restart", "prometheus-alertmanager"]) == 0  # it cannot reload: so it restarts
    assert L.unit_pid("prometheus-alertmanager") not in (pid, None)


def test_is_active_follows_the_process(units):
    assert S.main(["start", "prometheus"]) == 0
    assert S.main(["is-active", "-q", "prometheus"]) == 0
    os.kill(L.unit_pid("prometheus"), 9)
    assert wait_until(lambda: S.main(["is-active", "-q", "prometheus"]) == 3, 10)


def test_exec_lines_as_systemd_expands_them():
    env = {"ARGS": "--a  --b", "EMPTY": "", "MAINPID": "42"}
    assert L._command_line("/usr/bin/prometheus $ARGS", env) == (["/usr/bin/prometheus", "--a", "--b"], True)
    assert L._command_line("/bin/kill -HUP $MAINPID", env) == (["/bin/kill", "-HUP", "42"], True)
    assert L._command_line("-/bin/x ${EMPTY} --p=${MAINPID}", env) == (["/bin/x", "--p=42"], False)


@pytest.mark.parametrize("unit, binary", [("prometheus", "/usr/bin/prometheus"),
                                          ("prometheus-alertmanager", "/usr/bin/prometheus-alertmanager"),
                                          ("prometheus-node-exporter", "/usr/bin/prometheus-node-exporter")])
def test_debians_installed_prometheus_units(unit, binary):
    if not Path(f"/lib/systemd/system/{unit}.service").exists():
        pytest.skip(f"{unit} is not installed (python -m lab install)")
    service = L.packaged_service(unit)
    # ARGS="" as Debian ships /etc/default/UNIT: the binary's own defaults, which Debian set to its paths
    # (/etc/prometheus/*.yml, /var/lib/prometheus/metrics2, .../alertmanager, textfile dir .../node-exporter).
    assert service["argv"][0] == binary and service["user"] == "prometheus" and service["type"] == "simple"
    assert service["reload"] == ["/bin/kill -HUP $MAINPID"]
    assert L.known_unit(unit) and unit in L.PACKAGED_UNITS
