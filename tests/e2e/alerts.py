"""The lab's Prometheus and Alertmanager, read through their HTTP APIs from this machine (the root namespace sits
on the lab's management bridge)."""
from __future__ import annotations

import json
import urllib.parse
import urllib.request

from .helpers import wait_until


def _get(lab, port: int, path: str, **params) -> dict | list:
    address = lab.info["monitor"]["management_address"]
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"http://{address}:{port}{path}{query}", timeout=20) as response:
        return json.loads(response.read())


def targets(lab) -> list[dict]:
    """Prometheus's active targets: job, labels, health ("up"/"down"/"unknown")."""
    return _get(lab, 9090, "/api/v1/targets", state="active")["data"]["activeTargets"]


def query(lab, expr: str) -> list[dict]:
    return _get(lab, 9090, "/api/v1/query", query=expr)["data"]["result"]


def firing(lab, name: str) -> list[dict]:
    """The labels of each alert `name` that Alertmanager holds as active (/api/v2/alerts lists no resolved one)."""
    alerts = _get(lab, 9093, "/api/v2/alerts", active="true", silenced="false", inhibited="false",
                  filter=f'alertname="{name}"')
    return [a["labels"] for a in alerts if a["status"]["state"] == "active"]


def wait_firing(lab, name: str, timeout: float, **labels: str) -> dict:
    """The alert's labels once Alertmanager has it firing with these labels."""
    def match():
        return next((a for a in firing(lab, name) if all(a.get(k) == v for k, v in labels.items())), None)

    return wait_until(f"alert {name} {labels} to fire in Alertmanager", match, timeout)


def wait_resolved(lab, name: str, timeout: float, **labels: str) -> None:
    wait_until(f"alert {name} {labels} to resolve", lambda: not any(
        all(a.get(k) == v for k, v in labels.items()) for a in firing(lab, name)), timeout)
