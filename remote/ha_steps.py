"""HA: the guests a stack puts under HA must exist before PVE is asked to manage them."""
from __future__ import annotations

import shlex

from .step import Step

# Where PVE's cluster filesystem keeps each guest's config: its vmlist is built from these files.
GUEST_CONFIGS = {"vm": ("qemu-server", "VM"), "ct": ("lxc", "container")}


def _present(kind: str, vmid: str) -> str:
    folder, _ = GUEST_CONFIGS[kind]
    return f"compgen -G '/etc/pve/nodes/*/{folder}/{vmid}.conf' >/dev/null"


def guests_exist(node: str, resources: list[tuple[str, str]]) -> Step:
    """Check-only: each (stack key, `vm:ID`|`ct:ID`) names a guest in the cluster, else fail naming the key.

    PVE refuses an HA resource for a missing guest ("resource 'vm:100' does not exist in cluster"); this
    says which config key it came from and what to do, before any HA object is created.
    """
    checks, refusals = [], []
    for key, sid in resources:
        kind, vmid = sid.split(":")
        _, noun = GUEST_CONFIGS[kind]
        checks.append(_present(kind, vmid))
        advice = (f"{key}: {sid} does not exist in the cluster (no {noun} {vmid} under /etc/pve/nodes); "
                  f"create or restore the {noun} first (qm create/qmrestore or pct create/pct restore), "
                  f"or remove it from proxmox-ha:ha.resources")
        refusals.append(f"{_present(kind, vmid)} || fail {shlex.quote(advice)}")
    return Step(name="ha-guests", node=node, check=" && ".join(checks), act="\n".join(refusals))
