"""The lab's Prometheus and Alertmanager, read through their HTTP APIs from this machine (the root namespace sits
on the lab's management bridge)."""
from __future__ import annotations

import json
import re
import threading
import urllib.parse
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

from lab.common import ALERT_RECEIVER_PORT, MGMT_GW, Paths

from .helpers import wait_until


def seconds(duration: str) -> int:
    """A lab duration (the lab stack writes whole seconds or minutes: 5s, 1m30s)."""
    parts = dict((unit, int(n)) for n, unit in re.findall(r"(\d+)([hms])", duration))
    return parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)


def budget(name: str) -> float:
    """How long alert `name` may take to fire once its fault shows: its `for:` as the lab stack sets it, two scrape
    intervals and an evaluation interval, and a few seconds for Alertmanager to be told."""
    stack = yaml.safe_load((Paths().root / "Pulumi.lab.yaml").read_text())["config"]["proxmox-ha:monitoring"]["prometheus"]
    wait = stack.get("alertFor", {})[name]
    return seconds(wait) + 2 * seconds(stack["scrapeInterval"]) + seconds(stack["evaluationInterval"]) + 5


def _get(lab, port: int, path: str, **params) -> dict | list:
    address = lab.info["monitor"]["management_address"]
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"http://{address}:{port}{path}{query}", timeout=20) as response:
        return json.loads(response.read())


def targets(lab) -> list[dict]:
    """Prometheus's active targets: job, labels, health ("up"/"down"/"unknown")."""
    return _get(lab, 9090, "/api/v1/targets", state="active")["data"]["activeTargets"]


def scraped_nodes(lab, job: str) -> list[str]:
    return sorted(t["labels"]["node"] for t in targets(lab) if t["labels"]["job"] == job)


def runtime(lab) -> dict:
    """Prometheus's runtime info: its startTime changes only when the process does."""
    return _get(lab, 9090, "/api/v1/status/runtimeinfo")["data"]


def query(lab, expr: str) -> list[dict]:
    return _get(lab, 9090, "/api/v1/query", query=expr)["data"]["result"]


def firing(lab, name: str) -> list[dict]:
    """The labels of each alert `name` that Alertmanager holds as active (/api/v2/alerts lists no resolved one)."""
    alerts = _get(lab, 9093, "/api/v2/alerts", active="true", silenced="false", inhibited="false",
                  filter=f'alertname="{name}"')
    return [a["labels"] for a in alerts if a["status"]["state"] == "active"]


def wait_firing(lab, name: str, **labels: str) -> dict:
    """The alert's labels once Alertmanager has it firing with these labels, within its budget."""
    def match():
        return next((a for a in firing(lab, name) if all(a.get(k) == v for k, v in labels.items())), None)

    return wait_until(f"alert {name} {labels} to fire in Alertmanager", match, budget(name))


def wait_resolved(lab, name: str, **labels: str) -> None:
    """Alertmanager no longer lists the alert once its fault has been repaired (the next evaluations)."""
    wait_until(f"alert {name} {labels} to resolve", lambda: not any(
        all(a.get(k) == v for k, v in labels.items()) for a in firing(lab, name)), budget(name))


@contextmanager
def receiver():
    """The lab stack's webhook (alertWebhookUrl): this machine on the management bridge, listening while in use.
    Yields the list of notifications Alertmanager posts (webhook payload version 4)."""
    posted: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((MGMT_GW, ALERT_RECEIVER_PORT), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield posted
    finally:
        server.shutdown()
        server.server_close()


def notified(posted: list[dict], name: str, status: str, **labels: str) -> dict | None:
    """The first alert `name` with `labels` that a notification carried with `status` (firing or resolved)."""
    return next((a for note in posted for a in note["alerts"] if a["labels"].get("alertname") == name
                 and a["status"] == status and all(a["labels"].get(k) == v for k, v in labels.items())), None)
