"""Upgrade: a running PVE 8 cluster to PVE 9, in place, before any node step of PVE 9 runs. Every node is checked
first (`pve8to9 --full`, quorum, HA, Ceph); then one node at a time, in the stack's order, each run from the next
node. On a cluster that runs PVE 9 already every step finds its work done."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from models.cluster import ClusterConfig
from policies import contract
from remote import upgrade_steps

from .connection import node_host


def upgradable(cluster: ClusterConfig) -> bool:
    """A stack for PVE 9 upgrades PVE 8 members in place; a lone node has no peer to wait for its return."""
    return cluster.pve_version == upgrade_steps.NEW and len(cluster.nodes) > 1


@dataclass(frozen=True)
class UpgradeArgs:
    cluster: ClusterConfig
    # Ceph runs on the cluster: `noout` while a node is away, and its OSDs and PGs waited for.
    ceph: bool
    private_key: pulumi.Output[str]
    # The preflight: every node's release and the cluster's members are known first.
    after: pulumi.Resource


class Upgrade(pulumi.ComponentResource):
    # The last node's upgrade: every PVE 9 node step waits for it.
    ready: pulumi.Resource

    def __init__(self, name: str, args: UpgradeArgs, opts: pulumi.ResourceOptions | None = None):
        nodes = args.cluster.nodes
        facts = contract.facts(contract.UPGRADE, pveVersion=upgrade_steps.NEW, order=[n.name for n in nodes], ceph=args.ceph)
        super().__init__(contract.UPGRADE, name, facts, opts)
        hosts = [node_host(n, args.private_key) for n in nodes]
        # The next node in the stack's order drives a node's upgrade and waits for its return.
        peers = [hosts[(i + 1) % len(hosts)] for i in range(len(hosts))]
        checked: list[pulumi.Resource] = [h.run(upgrade_steps.preflight(h.name, peer.name, args.ceph), self,
                                                depends_on=[args.after]) for h, peer in zip(hosts, peers)]
        for n, peer in zip(nodes, peers):
            checked = [peer.run(upgrade_steps.node(n.name, str(n.management_address), peer.name, args.ceph), self,
                                depends_on=checked)]
        self.ready = checked[0]
        self.register_outputs(facts)
