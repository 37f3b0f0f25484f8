"""HA: the guests a stack puts under HA must exist before PVE is asked to manage them."""
from __future__ import annotations

import shlex

from .step import Step, wait_for

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


# The `ha` datacenter option before the program first set it, kept cluster-wide so destroy can put it back.
SAVED_HA_OPTION = "/etc/pve/proxmox-ha/ha-option.before"
_CURRENT_POLICY = (
    "pvesh get /cluster/options --output-format json"
    " | python3 -c 'import json, sys; print(json.load(sys.stdin).get(\"ha\", {}).get(\"shutdown_policy\", \"\"))'"
)


def shutdown_policy(node: str, policy: str) -> Step:
    """datacenter.cfg's `ha: shutdown_policy=...`, and nothing else of the file, through pvesh."""
    return Step(
        name="ha-shutdown-policy",
        node=node,
        check=f"[ \"$({_CURRENT_POLICY})\" = {shlex.quote(policy)} ]",
        act=(
            f"mkdir -p {SAVED_HA_OPTION.rsplit('/', 1)[0]}\n"
            f"[ -e {SAVED_HA_OPTION} ] || {_CURRENT_POLICY} > {SAVED_HA_OPTION}\n"
            f"pvesh set /cluster/options --ha shutdown_policy={shlex.quote(policy)}"
        ),
        verify=f"[ \"$({_CURRENT_POLICY})\" = {shlex.quote(policy)} ]",
        undo=(
            f"if [ -e {SAVED_HA_OPTION} ]; then\n"
            f"before=$(cat {SAVED_HA_OPTION})\n"
            "if [ -n \"$before\" ]; then pvesh set /cluster/options --ha \"shutdown_policy=$before\"; "
            "else pvesh set /cluster/options --delete ha; fi\n"
            f"rm -f {SAVED_HA_OPTION}\n"
            "fi"
        ),
    )


def groups_migrated(node: str) -> Step:
    """Check-only, after an upgrade to PVE 9: PVE's HA manager has made rules of the groups (Manager.pm
    try_persistent_group_migration, once every node runs PVE 9 with its LRM active) and deleted groups.cfg."""
    none_left = "! grep -qs '^group:' /etc/pve/ha/groups.cfg"
    return Step(
        name="ha-groups-migrated",
        node=node,
        check=none_left,
        act=wait_for(none_left, "PVE 9's HA manager to migrate the HA groups to rules (journalctl -u pve-ha-crm "
                                "says why not yet)", 300),
    )
