"""HighAvailability: HA groups (PVE 8) or node-affinity rules (PVE 9), HA resources, the shutdown policy."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_proxmoxve as proxmoxve

from models.base import stack_key
from models.ha import HaConfig
from policies import contract
from remote import ha_steps

from .connection import child_name
from .node import ProxmoxNode


@dataclass(frozen=True)
class HighAvailabilityArgs:
    ha: HaConfig
    pve_version: int
    # The cluster's nodes; the guest check and the shutdown policy run on the first: any member sees the whole cluster.
    nodes: list[ProxmoxNode]
    provider: proxmoxve.Provider
    after: pulumi.Resource


class HighAvailability(pulumi.ComponentResource):
    # The component itself: its steps and API objects form no single chain.
    ready: pulumi.Resource

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
        if args.pve_version == 8:
            groups = {
                g.name: proxmoxve.Hagroup(child_name(self, g.name), group=g.name, nodes=g.nodes, no_failback=g.nofailback, restricted=g.restricted, opts=child())
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
            for g in ha.groups:
                members = ha.members_of(g.name)
                proxmoxve.Harule(
                    child_name(self, g.name), rule=g.name, type="node-affinity", nodes=g.nodes, strict=g.restricted,
                    resources=[m.id for m in members], opts=child(*(by_id[m.id] for m in members)),
                )
        self.ready = self
        self.register_outputs(facts)
