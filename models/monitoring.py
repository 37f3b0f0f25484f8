"""`proxmox-ha:monitoring`: prometheus-pve-exporter and its read-only API token."""
from __future__ import annotations

from pydantic import Field

from .base import ConfigModel


class MonitoringConfig(ConfigModel):
    enabled: bool = True
    exporter_port: int = Field(9221, ge=1, le=65535)
    # PVE user the exporter authenticates as; it gets only PVEAuditor on /.
    user: str = Field("monitoring@pve", pattern=r"^[^@\s]+@[A-Za-z0-9_.-]+$")
    ceph_prometheus: bool = True
