"""`proxmox-ha:monitoring`: prometheus-pve-exporter and its read-only API token."""
from __future__ import annotations

from pydantic import Field, field_validator

from . import formats
from .base import ConfigModel


class MonitoringConfig(ConfigModel):
    enabled: bool = True
    exporter_port: int = Field(9221, ge=1, le=65535)
    # PVE user the exporter authenticates as; it gets only PVEAuditor on /.
    user: str = "monitoring@pve"
    ceph_prometheus: bool = True

    _user = field_validator("user")(classmethod(formats.validator(formats.userid)))
