"""Shared pieces of the config models: camelCase keys, and problems that name the stack key."""
from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

NAMESPACE = "proxmox-ha"


class ConfigModel(BaseModel):
    """Stack keys are camelCase (the Pulumi convention); unknown keys are typos, so refuse them."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


@dataclass(frozen=True)
class Problem:
    key: str  # e.g. "proxmox-ha:cluster.nodes[1].storageAddress"
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def stack_key(section: str, *path: str | int) -> str:
    """Render a location as the user sees it in the stack file: `proxmox-ha:cluster.nodes[1].name`."""
    key = f"{NAMESPACE}:{section}"
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key


class ConfigError(ValueError):
    """Every problem of a stack config at once, raised before any resource is registered."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"invalid stack config ({len(problems)} problem{'s' if len(problems) != 1 else ''}); "
            f"nothing was created. Fix these keys with `pulumi config set` or in Pulumi.<stack>.yaml:\n{lines}"
        )
