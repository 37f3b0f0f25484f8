"""ProxmoxCluster: `pvecm create` on the first node, then each other node joins, one at a time."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from models.cluster import ClusterConfig, Node
from policies import contract
from remote import cluster_steps

from .node import ProxmoxNode


@dataclass(frozen=True)
class ProxmoxClusterArgs:
    config: ClusterConfig
    # The cluster's nodes in config order; the first one creates the cluster.
    nodes: list[ProxmoxNode]


class ProxmoxCluster(pulumi.ComponentResource):
    # The quorum check after the last join.
    ready: pulumi.Resource

    def __init__(self, name: str, args: ProxmoxClusterArgs, opts: pulumi.ResourceOptions | None = None):
        cfg = args.config
        links = 2 if cfg.networks.storage is not None else 1
        facts = contract.facts(
            contract.CLUSTER,
            clusterName=cfg.name,
            pveVersion=cfg.pve_version,
            nodeCount=len(cfg.nodes),
            nodes=[n.name for n in cfg.nodes],
            links=links,
            storageNetwork=cfg.networks.storage is not None,
            cryptoCipher=cfg.corosync.crypto_cipher,
            cryptoHash=cfg.corosync.crypto_hash,
            qdevice=cfg.qdevice is not None,
        )
        super().__init__(contract.CLUSTER, name, facts, opts)
        first = args.nodes[0]
        names = [n.name for n in args.nodes]
        address = str(first.config.management_address)
        create = first.run(
            cluster_steps.create(first.name, cfg.name, address, _link1(first.config)), self, depends_on=[first.ready],
        )
        crypto = first.run(
            cluster_steps.totem_crypto(first.name, cfg.corosync.crypto_cipher, cfg.corosync.crypto_hash),
            self, depends_on=[create],
        )
        # A QDevice steps aside while members join or leave (the QDevice component brings it back).
        previous: pulumi.Resource = first.run(cluster_steps.qdevice_aside(first.name, names), self, depends_on=[crypto])
        # Joins are serial: corosync must settle on each new member before the next one is added.
        for node in args.nodes[1:]:
            # The joiner's key is known only once its node reports it.
            authorize = first.run_later(
                f"authorize-{node.name}",
                node.root_public_key.apply(lambda key, m=node.name: cluster_steps.authorize_root_key(first.name, m, key)),
                self, depends_on=[previous],
            )
            previous = node.run(
                cluster_steps.join(node.name, cfg.name, address, first.config.ssh_host_key,
                                   str(node.config.management_address), _link1(node.config)),
                self, depends_on=[authorize, node.ready],
            )
        self.ready = first.run(cluster_steps.quorum(first.name, names), self, depends_on=[previous])
        self.register_outputs(facts)


def _link1(node: Node) -> str | None:
    return str(node.storage_address) if node.storage_address else None
