"""`proxmox-ha:ceph`: release, pools, tuning."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from policies.ceph_releases import RELEASES_BY_PVE

from . import formats
from .base import ConfigModel, Problem, stack_key

# RBD storage can only hold disk images and container volumes.
RBD_CONTENT = {"images", "rootdir"}


class Pool(ConfigModel):
    name: str
    size: int = Field(3, ge=1, le=7)
    min_size: int = Field(2, ge=1, le=7)
    pg_num: int = Field(32, ge=8, le=32768)
    content: list[Literal["images", "rootdir", "backup", "iso", "vztmpl", "snippets"]] = ["images", "rootdir"]

    # The pool is also added as an RBD storage of the same name: a storage ID (stricter than pveceph's `[^:/\s]+`).
    _name = field_validator("name")(classmethod(formats.validator(formats.storage_id)))

    @field_validator("pg_num")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError(f"{v} is not a power of two; Ceph wants pg_num as 2^n (e.g. 32, 64, 128)")
        return v


class Tuning(ConfigModel):
    rbd_cache: bool = True
    rbd_cache_size: int = Field(64 * 1024 * 1024, ge=1024 * 1024)
    scrub_begin_hour: int = Field(0, ge=0, le=23)
    scrub_end_hour: int = Field(0, ge=0, le=23)


class CephConfig(ConfigModel):
    # Checked against the PVE major in problems(); squid, the default, is offered on PVE 8 and 9.
    release: Literal["quincy", "reef", "squid", "tentacle"] = "squid"
    repository: Literal["no-subscription", "enterprise", "test"] = "no-subscription"
    pools: list[Pool] = Field(default_factory=list)
    tuning: Tuning = Tuning()
    # Zapping a disk destroys its data; only with this opt-in will an OSD step wipe a disk that is not empty.
    wipe_disks: bool = False

    def problems(self, pve_version: int) -> list[Problem]:
        found: list[Problem] = []
        offered = RELEASES_BY_PVE[pve_version]
        if self.release not in offered:
            found.append(Problem(stack_key("ceph", "release"), f"{self.release!r} is not offered on PVE {pve_version} "
                                 f"(pveceph install --version); choose one of {', '.join(offered)}"))
        seen: set[str] = set()
        for i, pool in enumerate(self.pools):
            if pool.name in seen:
                found.append(Problem(stack_key("ceph", "pools", i, "name"), f"{pool.name!r} is listed twice"))
            seen.add(pool.name)
            if pool.min_size >= pool.size:
                found.append(Problem(stack_key("ceph", "pools", i, "minSize"), f"{pool.min_size} must be smaller than size ({pool.size}): otherwise one lost replica blocks all I/O (use size 3, minSize 2)"))
            wrong = [c for c in pool.content if c not in RBD_CONTENT]
            if wrong:
                found.append(Problem(stack_key("ceph", "pools", i, "content"), f"RBD storage holds only images and rootdir, not {', '.join(wrong)}; keep backups on the PBS storage"))
        return found
