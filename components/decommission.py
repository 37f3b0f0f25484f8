"""Decommission: retire the members listed in proxmox-ha:cluster.decommission, one after another (the component
and the stack key keep that name, which is in users' state and stack files; everything else says retire)."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from models.ceph import Pool
from policies import contract
from remote import retire_steps

from .node import ProxmoxNode


@dataclass(frozen=True)
class DecommissionArgs:
    # Names only: a retiring member has no ProxmoxNode.
    retiring: list[str]
    # The cluster's nodes; the first runs every step: it sees the whole cluster and reaches the others as PVE does.
    kept: list[ProxmoxNode]
    # The Ceph pools when the cluster has Ceph (their sizes bound how many OSD hosts must be kept), else None.
    pools: list[Pool] | None
    # The kept members are joined, online and quorate before anything is taken away.
    after: pulumi.Resource


class Decommission(pulumi.ComponentResource):
    # The last step of the last node retired.
    ready: pulumi.Resource

    def __init__(self, name: str, args: DecommissionArgs, opts: pulumi.ResourceOptions | None = None):
        facts = contract.facts(contract.DECOMMISSION, retiring=args.retiring, kept=[n.name for n in args.kept],
                               ceph=args.pools is not None)
        super().__init__(contract.DECOMMISSION, name, facts, opts)
        pools = [(p.name, p.size) for p in args.pools] if args.pools is not None else None
        previous = args.after
        # One node at a time, each step after the last: PGs re-settle and quorum is re-counted between them.
        first = args.kept[0]
        for name in args.retiring:
            for step in retire_steps.retire(first.name, name, pools):
                previous = first.run(step, self, depends_on=[previous])
        self.ready = previous
        self.register_outputs(facts)
