"""`proxmox-ha:monitoring`: prometheus-pve-exporter and its read-only API token."""
from __future__ import annotations

from pydantic import Field, field_validator

from . import formats
from .base import ConfigModel


class GrafanaConfig(ConfigModel):
    # The dashboard goes there through Grafana's HTTP API; the token is the secret `grafanaToken`.
    url: str

    _url = field_validator("url")(classmethod(formats.validator(formats.http_url)))


class MonitoringConfig(ConfigModel):
    enabled: bool = True
    exporter_port: int = Field(9221, ge=1, le=65535)
    # PVE user the exporter authenticates as; it gets only PVEAuditor on /.
    user: str = "monitoring@pve"
    ceph_prometheus: bool = True
    grafana: GrafanaConfig | None = None

    _user = field_validator("user")(classmethod(formats.validator(formats.userid)))
