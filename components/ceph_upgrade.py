"""CephUpgrade: a running Ceph to the stack's release before anything else changes (PVE 9 wants squid before it is
installed): packages on every node, then, from the first node, monitors one node at a time, managers, each node's
OSDs, and last `require-osd-release`. On a cluster that runs the release, or has no Ceph yet, every step finds its
work done."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from models.cluster import ClusterConfig
from policies import contract
from remote import ceph_upgrade_steps as steps

from .connection import node_host


@dataclass(frozen=True)
class CephUpgradeArgs:
    cluster: ClusterConfig
    # proxmox-ha:ceph.release
    release: str
    private_key: pulumi.Output[str]
    # The preflight: every node's release and the cluster's members are known first.
    after: pulumi.Resource


class CephUpgrade(pulumi.ComponentResource):
    # Every daemon restarted onto the release, and `require-osd-release`.
    ready: pulumi.Resource

    def __init__(self, name: str, args: CephUpgradeArgs, opts: pulumi.ResourceOptions | None = None):
        nodes = args.cluster.nodes
        facts = contract.facts(contract.CEPH_UPGRADE, release=args.release, order=[n.name for n in nodes])
        super().__init__(contract.CEPH_UPGRADE, name, facts, opts)
        hosts = [node_host(n, args.private_key) for n in nodes]
        # Packages everywhere first: no daemon restarts onto a release another node cannot run yet.
        packages = [h.run(steps.packages(h.name, args.release), self, depends_on=[args.after]) for h in hosts]
        # Then one daemon at a time, driven from the first node: one step, so a cluster on the release pays one check.
        members = [(n.name, str(n.management_address)) for n in nodes]
        self.ready = hosts[0].run(steps.daemons(hosts[0].name, members, args.release), self, depends_on=packages)
        self.register_outputs(facts)
