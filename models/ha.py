"""`proxmox-ha:ha`: watchdog, groups (PVE 8) or node-affinity rules (PVE 9), resources."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from . import formats
from .base import ConfigModel, Problem, stack_key

# PVE's HA resource parse: vm or ct, and a pve-vmid (100..999999999, no leading zero or sign).
SERVICE_ID = re.compile(r"^(vm|ct):([1-9][0-9]{2,8})$")


class Group(ConfigModel):
    name: str
    nodes: dict[str, int] = Field(min_length=1)
    nofailback: bool = False
    restricted: bool = False

    _name = field_validator("name")(classmethod(formats.validator(formats.ha_name)))

    @field_validator("nodes")
    @classmethod
    def _priorities(cls, v: dict[str, int]) -> dict[str, int]:
        for node, prio in v.items():
            if not 0 <= prio <= 1000:
                raise ValueError(f"priority of {node} is {prio}; PVE accepts 0-1000")
        return v


class Resource(ConfigModel):
    id: str
    state: Literal["started", "stopped", "disabled", "ignored"] = "started"
    group: str | None = None
    max_restart: int = Field(1, ge=0, le=10)
    max_relocate: int = Field(1, ge=0, le=10)

    @field_validator("id")
    @classmethod
    def _sid(cls, v: str) -> str:
        if not SERVICE_ID.match(v):
            raise ValueError("must be vm:ID or ct:ID with ID >= 100, e.g. vm:100")
        return v


class HaConfig(ConfigModel):
    # WATCHDOG_MODULE in /etc/default/pve-ha-manager: PVE takes any module (and loads softdog when it is unset);
    # whether it is a watchdog driver is the pack's judgement (ha-watchdog).
    watchdog: str = "softdog"
    groups: list[Group] = Field(default_factory=list)
    resources: list[Resource] = Field(default_factory=list)
    # What HA does with services when a node shuts down (cluster option `ha: shutdown_policy`).
    shutdown_policy: Literal["conditional", "freeze", "failover", "migrate"] = "conditional"

    _watchdog = field_validator("watchdog")(classmethod(formats.validator(formats.kernel_module)))

    def problems(self, node_names: set[str], pve_version: int) -> list[Problem]:
        found: list[Problem] = []
        group_names = set()
        for i, group in enumerate(self.groups):
            if group.name in group_names:
                found.append(Problem(stack_key("ha", "groups", i, "name"), f"{group.name!r} is listed twice"))
            group_names.add(group.name)
            if pve_version >= 9 and not self.members_of(group.name):
                found.append(Problem(stack_key("ha", "groups", i), f"{group.name!r} has no resources; on PVE 9 a group is a "
                                     "node-affinity rule, which must list at least one (PVE and the proxmoxve plugin refuse "
                                     "an empty one): put a resource in it, or remove it"))
            unknown = sorted(set(group.nodes) - node_names)
            if unknown:
                found.append(Problem(stack_key("ha", "groups", i, "nodes"), f"{', '.join(unknown)} not in cluster.nodes ({', '.join(sorted(node_names))})"))
        seen: set[str] = set()
        for i, res in enumerate(self.resources):
            if res.id in seen:
                found.append(Problem(stack_key("ha", "resources", i, "id"), f"{res.id} is listed twice"))
            seen.add(res.id)
            if res.group is not None and res.group not in group_names:
                found.append(Problem(stack_key("ha", "resources", i, "group"), f"{res.group!r} is not one of ha.groups ({', '.join(sorted(group_names)) or 'none'})"))
        return found

    def members_of(self, group: str) -> list[Resource]:
        return [r for r in self.resources if r.group == group]
