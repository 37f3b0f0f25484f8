"""`lab status` reads the alerts an Alertmanager holds (GET /api/v2/alerts) and Prometheus's targets (GET
/api/v1/targets), never through a proxy of the environment, and says "... not running" when nothing answers. Unit level: an HTTP server of the test's on 127.0.0.1."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lab import status

# As Alertmanager 0.25's API v2 answers (trimmed).
HELD = [{"labels": {"alertname": "NodeDown", "instance": "pve2", "severity": "critical"},
         "annotations": {"summary": "pve2 is down"}, "startsAt": "2026-01-01T00:00:00.000Z",
         "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}, "receivers": [{"name": "lab"}]}]


# As Prometheus 2.42's API answers (trimmed).
TARGETS = {"status": "success", "data": {"activeTargets": [
    {"labels": {"job": "node", "instance": "10.254.10.11:9100"}, "health": "up"},
    {"labels": {"job": "node", "instance": "10.254.10.12:9100"}, "health": "down"},
    {"labels": {"job": "pve", "instance": "10.254.10.11:9221"}, "health": "up"}]}}


@pytest.fixture
def monitor_http():
    """Alertmanager and Prometheus as one HTTP server of the test's, answering by path."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            body = json.dumps(TARGETS if self.path.startswith("/api/v1/targets") else HELD).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def monitor_data(am: dict, scraped: dict | None = None) -> dict:
    return {"state_dir": "/x", "hosts": [], "ceph": None, "rss_total_bytes": 0,
            "monitor": {"name": "monitor", "up": True, "sshd_pid": 1, "management_address": "10.254.10.60",
                        "services": {"sshd": 1, "prometheus-alertmanager": 2}, "rss_bytes": 0, "alertmanager": am,
                        "prometheus": scraped or {"running": False}}}


def test_the_alerts_held_are_read_directly_and_shown(monitor_http, monkeypatch):
    port, seen = monitor_http
    # A proxy that refuses: read through it, the alerts would be lost (and in the lab, sent off the machine).
    for var in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{free_port()}")
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    am = status.alerts("127.0.0.1", port)
    assert seen == ["/api/v2/alerts"]
    assert am["running"] and [(a["name"], a["state"], a["labels"]["instance"]) for a in am["alerts"]] == [
        ("NodeDown", "active", "pve2")]
    text = status.render(monitor_data(am))
    assert "Alertmanager: 1 alert(s) firing" in text
    assert "NodeDown  active  since 2026-01-01T00:00:00.000Z  instance=pve2,severity=critical" in text


def test_nothing_answering_is_alertmanager_not_running():
    am = status.alerts("127.0.0.1", free_port(), timeout=1)
    assert am["running"] is False and am["error"]
    assert "Alertmanager not running" in status.render(monitor_data(am))


def test_prometheus_targets_are_counted_and_the_down_ones_named(monitor_http):
    port, seen = monitor_http
    scraped = status.targets("127.0.0.1", port)
    assert seen == ["/api/v1/targets?state=active"]
    assert (scraped["up"], scraped["total"], scraped["down"]) == (2, 3, ["node/10.254.10.12:9100"])
    assert "Prometheus: 2/3 targets up; down: node/10.254.10.12:9100" in status.render(monitor_data({"running": False}, scraped))
    assert "Prometheus not running" in status.render(monitor_data({"running": False}, status.targets("127.0.0.1", free_port(), timeout=1)))
