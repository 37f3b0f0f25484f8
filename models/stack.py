"""The whole stack config: the sections, the checks across them, and the secrets."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .backup import BackupConfig
from .base import NAMESPACE, ConfigError, Problem, stack_key
from .ceph import CephConfig
from .cluster import ClusterConfig
from .ha import HaConfig
from .monitoring import MonitoringConfig

SECTIONS: dict[str, type[BaseModel]] = {
    "cluster": ClusterConfig,
    "ceph": CephConfig,
    "ha": HaConfig,
    "backup": BackupConfig,
    "monitoring": MonitoringConfig,
}
OPTIONAL_SECTIONS = {"ceph", "ha", "backup", "monitoring"}


@dataclass(frozen=True)
class StackConfig:
    cluster: ClusterConfig
    ceph: CephConfig
    ha: HaConfig
    backup: BackupConfig
    monitoring: MonitoringConfig

    def needs_ceph(self) -> bool:
        return bool(self.ceph.pools or self.cluster.osd_hosts())

    def needs_api(self) -> bool:
        """HA and the monitoring token go through the PVE API (the apiToken secret); PBS storage and jobs through pvesh."""
        return bool(self.ha.resources or self.ha.groups or self.monitoring.enabled)


def _problems_of(section: str, error: ValidationError) -> list[Problem]:
    problems = []
    for err in error.errors():
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "is not a known key (check its spelling; keys are camelCase)"
        elif err["type"] == "missing":
            message = "is required"
        problems.append(Problem(stack_key(section, *err["loc"]), message))
    return problems


def parse_stack_config(raw: dict[str, Any]) -> StackConfig:
    """Validate every section and the references between them; raise one ConfigError listing all problems."""
    problems: list[Problem] = []
    parsed: dict[str, BaseModel] = {}
    for section, model in SECTIONS.items():
        value = raw.get(section)
        if value is None:
            if section in OPTIONAL_SECTIONS:
                parsed[section] = model()
                continue
            problems.append(Problem(stack_key(section), "is required"))
            continue
        if not isinstance(value, dict):
            problems.append(Problem(stack_key(section), f"must be a mapping, not {type(value).__name__}"))
            continue
        try:
            parsed[section] = model.model_validate(value)
        except ValidationError as error:
            problems.extend(_problems_of(section, error))
    # Checks across sections run wherever the sections they read did parse, so one run reports everything.
    cluster, ceph, ha, backup = (parsed.get(k) for k in ("cluster", "ceph", "ha", "backup"))
    if cluster is not None:
        problems += cluster.problems()
        if ceph is not None:
            problems += ceph.problems(cluster.pve_version)
        if ha is not None:
            problems += ha.problems(cluster.node_names(), cluster.pve_version)
    if backup is not None and ceph is not None:
        problems += backup.problems({p.name for p in ceph.pools})
    if problems:
        raise ConfigError(problems)
    stack = StackConfig(**parsed)  # type: ignore[arg-type]
    return stack


def load_stack_file(path: Path) -> StackConfig:
    """A stack file's `proxmox-ha:` sections, validated (what ops and the tests read without the engine)."""
    config = yaml.safe_load(path.read_text())["config"]
    sections = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith(f"{NAMESPACE}:")}
    return parse_stack_config({key: value for key, value in sections.items() if key in SECTIONS})


def required_secrets(stack: StackConfig) -> dict[str, bool]:
    """Each secret key, and whether this stack needs it; a missing one is a config problem too."""
    return {
        "sshPrivateKey": True,
        "apiToken": stack.needs_api(),
        "pbsPassword": stack.backup.pbs is not None,
        "ipmiPassword": False,
        # Optional: Alertmanager's receiver; without it the alerts are in Alertmanager only.
        "alertWebhookUrl": False,
        # Monitoring (and so the dashboard) exists only when enabled.
        "grafanaToken": stack.monitoring.enabled and stack.monitoring.grafana is not None,
    }
