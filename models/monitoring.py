"""`proxmox-ha:monitoring`: the exporters on every node, and optionally a Prometheus machine that scrapes them."""
from __future__ import annotations

import ipaddress
import re

from pydantic import Field, field_validator

from monitoring.rules import alert_names

from . import formats
from .base import ConfigModel

# Prometheus's duration grammar (prometheus/common model.ParseDuration), as its config loader refuses others.
DURATION = re.compile(r"(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?")


def _duration(value: str) -> str:
    if value in ("", "0") or not DURATION.fullmatch(value):
        raise ValueError(f"'{value}' is not a Prometheus duration such as 30s, 5m or 1h30m")
    return value


class PrometheusConfig(ConfigModel):
    """A Debian machine outside the cluster where the program runs Prometheus and Alertmanager."""
    address: ipaddress.IPv4Address
    ssh_port: int = Field(22, ge=1, le=65535)
    # Its SSH host key ("ssh-ed25519 AAAA..."); when set, the steps pin it.
    ssh_host_key: str | None = None
    scrape_interval: str = "30s"
    evaluation_interval: str = "30s"
    # An alert's own `for:` replaced, by alert name: how long a fault must last before it pages.
    alert_for: dict[str, str] = Field(default_factory=dict)

    _host_key = field_validator("ssh_host_key")(classmethod(formats.validator(formats.ssh_public_key)))
    _intervals = field_validator("scrape_interval", "evaluation_interval")(classmethod(lambda cls, v: _duration(v)))

    @field_validator("alert_for")
    @classmethod
    def _alerts(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - alert_names())
        if unknown:
            raise ValueError(f"no alert rule is named {', '.join(unknown)} (monitoring/alerts/)")
        return {name: _duration(value) for name, value in v.items()}


class GrafanaConfig(ConfigModel):
    # The dashboard goes there through Grafana's HTTP API; the token is the secret `grafanaToken`.
    url: str

    _url = field_validator("url")(classmethod(formats.validator(formats.http_url)))


class MonitoringConfig(ConfigModel):
    enabled: bool = True
    exporter_port: int = Field(9221, ge=1, le=65535)
    node_exporter_port: int = Field(9100, ge=1, le=65535)
    # PVE user the exporter authenticates as; it gets only PVEAuditor on /.
    user: str = "monitoring@pve"
    ceph_prometheus: bool = True
    prometheus: PrometheusConfig | None = None
    grafana: GrafanaConfig | None = None

    _user = field_validator("user")(classmethod(formats.validator(formats.userid)))
