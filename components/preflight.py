"""Preflight: read-only checks on every node before anything changes on any of them (each node runs the PVE major
the stack is written for; every cluster member is in the config or listed to be retired; a QDevice that must step
aside can)."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from models.base import stack_key
from models.cluster import ClusterConfig
from policies import contract
from remote import cluster_steps, node_steps

from .connection import node_host
from .upgrade import upgradable


@dataclass(frozen=True)
class PreflightArgs:
    cluster: ClusterConfig
    private_key: pulumi.Output[str]


class Preflight(pulumi.ComponentResource):
    # The last check; every node step waits for it.
    ready: pulumi.Resource

    def __init__(self, name: str, args: PreflightArgs, opts: pulumi.ResourceOptions | None = None):
        cluster = args.cluster
        facts = contract.facts(contract.PREFLIGHT, pveVersion=cluster.pve_version, nodes=[n.name for n in cluster.nodes])
        super().__init__(contract.PREFLIGHT, name, facts, opts)
        key = stack_key("cluster", "pveVersion")
        # Read-only, so before any ProxmoxNode exists: each host is reached from its config alone.
        hosts = [node_host(n, args.private_key) for n in cluster.nodes]
        releases = [h.run(node_steps.pve_release(h.name, cluster.pve_version, key, upgradable(cluster)), self)
                    for h in hosts]
        # The members are read on the first node, which creates the cluster (or is in it already).
        first_host = hosts[0]
        kept = [h.name for h in hosts]
        members = first_host.run(cluster_steps.members_known(first_host.name, kept, cluster.decommission), self,
                                 depends_on=releases)
        self.ready = first_host.run(cluster_steps.qdevice_aside_possible(first_host.name, kept), self, depends_on=[members])
        self.register_outputs(facts)
