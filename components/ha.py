"""HighAvailability: HA groups (PVE 8) or node-affinity rules (PVE 9), HA resources, the shutdown policy.

Across an upgrade from PVE 8 the groups become rules by PVE 9's own hand: once every node runs PVE 9, its HA
manager turns each group into the rule `ha-group-GROUP` and deletes the groups. The state follows over two updates
(`python -m deploy up` runs the second itself), told apart by what the last one exported (`Shape`,
program.last_outputs): the upgrading update keeps the groups as they were (retained: PVE deletes them, never Pulumi)
and waits for that migration; the next imports the rules PVE made. Nothing PVE made is deleted or made again."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_proxmoxve as proxmoxve

from models.base import stack_key
from models.ha import HaConfig
from policies import contract
from remote import ha_steps

from .connection import child_name
from .node import ProxmoxNode


class Shape:
    """What a run left PVE's HA config as (the stack output `haShape`)."""
    GROUPS = "groups"  # PVE 8's groups
    MIGRATED = "migrated"  # PVE 9 made rules of the groups; the state still holds groups
    RULES = "rules"  # PVE 9's rules, in the state


def migrated_rule(group: str) -> str:
    """The rule pve-ha-manager makes of a group (Groups.pm migrate_groups_to_rules)."""
    return f"ha-group-{group}"


@dataclass(frozen=True)
class HighAvailabilityArgs:
    ha: HaConfig
    pve_version: int
    # The cluster's nodes; the guest check and the shutdown policy run on the first: any member sees the whole cluster.
    nodes: list[ProxmoxNode]
    provider: proxmoxve.Provider
    after: pulumi.Resource
    # The last run's `haShape` and `haRules` (group: rule ID); None on a stack's first run.
    shape: str | None = None
    rules: dict[str, str] = field(default_factory=dict)


class HighAvailability(pulumi.ComponentResource):
    # The component itself: its steps and API objects form no single chain.
    ready: pulumi.Resource
    # What this run leaves: the next run's `shape` and `rules`.
    shape: pulumi.Output[str]
    rules: dict[str, str]

    def __init__(self, name: str, args: HighAvailabilityArgs, opts: pulumi.ResourceOptions | None = None):
        ha = args.ha
        facts = contract.facts(
            contract.HA,
            pveVersion=args.pve_version,
            watchdog=ha.watchdog,
            nodes=[n.name for n in args.nodes],
            groups=[{"name": g.name, "nodes": g.nodes} for g in ha.groups],
            resources=[{"id": r.id, "group": r.group, "maxRestart": r.max_restart, "maxRelocate": r.max_relocate} for r in ha.resources],
        )
        super().__init__(contract.HA, name, facts, opts)
        first = args.nodes[0]
        guests = first.run(
            ha_steps.guests_exist(first.name, [(stack_key("ha", "resources", i, "id"), r.id) for i, r in enumerate(ha.resources)]),
            self, depends_on=[args.after],
        ) if ha.resources else args.after
        child = lambda *deps: pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[args.after, *deps])  # noqa: E731
        # Only the HA shutdown policy, through pvesh: bpg's cluster.Options owns the whole datacenter.cfg
        # (it deletes what it does not set). Destroy puts back the value it replaced.
        first.run(ha_steps.shutdown_policy(first.name, ha.shutdown_policy), self, depends_on=[args.after])
        upgrading = args.pve_version == 9 and args.shape == Shape.GROUPS
        self.rules = {}
        if args.pve_version == 8 or upgrading:
            # While upgrading, PVE deletes the groups itself (and refuses to once it has): never Pulumi.
            keep = pulumi.ResourceOptions(retain_on_delete=True) if upgrading else None
            groups = {
                g.name: proxmoxve.Hagroup(child_name(self, g.name), group=g.name, nodes=g.nodes, no_failback=g.nofailback,
                                          restricted=g.restricted, opts=pulumi.ResourceOptions.merge(child(), keep))
                for g in ha.groups
            }
            resources = [
                proxmoxve.Haresource(
                    child_name(self, r.id.replace(":", "-")), resource_id=r.id, state=r.state, group=r.group,
                    max_restart=r.max_restart, max_relocate=r.max_relocate,
                    opts=child(guests, *([groups[r.group]] if r.group else [])),
                )
                for r in ha.resources
            ]
            self.shape = pulumi.Output.from_input(Shape.GROUPS)
            if upgrading:
                migrated = first.run(ha_steps.groups_migrated(first.name), self, depends_on=[args.after, *resources])
                self.shape = migrated.stdout.apply(lambda _: Shape.MIGRATED)
        else:
            # PVE 9 replaced groups with node-affinity rules that list their resources; a group's
            # nofailback became each resource's failback flag.
            nofailback = {g.name: g.nofailback for g in ha.groups}
            resources = [
                proxmoxve.Haresource(
                    child_name(self, r.id.replace(":", "-")), resource_id=r.id, state=r.state, failback=not nofailback.get(r.group, False),
                    max_restart=r.max_restart, max_relocate=r.max_relocate, opts=child(guests),
                )
                for r in ha.resources
            ]
            by_id = {r.id: res for r, res in zip(ha.resources, resources)}
            adopt = args.shape == Shape.MIGRATED
            for g in ha.groups:
                members = ha.members_of(g.name)
                rule = migrated_rule(g.name) if adopt else args.rules.get(g.name, g.name)
                self.rules[g.name] = rule
                proxmoxve.Harule(
                    child_name(self, g.name), rule=rule, type="node-affinity", nodes=g.nodes, strict=g.restricted,
                    resources=[m.id for m in members],
                    comment=f"Generated from HA group '{g.name}'." if rule == migrated_rule(g.name) else None,
                    opts=pulumi.ResourceOptions.merge(child(*(by_id[m.id] for m in members)),
                                                      pulumi.ResourceOptions(import_=rule) if adopt else None),
                )
            self.shape = pulumi.Output.from_input(Shape.RULES)
        self.ready = self
        self.register_outputs(facts)
