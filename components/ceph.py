"""CephCluster: pveceph install/init, a mon and a mgr per node, an OSD per listed disk, pools, tuning."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from models.ceph import CephConfig, Pool, Tuning
from models.cluster import ClusterConfig
from policies import contract
from remote import ceph_steps

from .node import ProxmoxNode


def pool_facts(pool: Pool) -> dict[str, str | int]:
    """The pool as the pack's contract names it (contract.POOL_FACTS), for facts and outputs."""
    return dict(zip(contract.POOL_FACTS, (pool.name, pool.size, pool.min_size, pool.pg_num)))


@dataclass(frozen=True)
class CephClusterArgs:
    cluster: ClusterConfig
    ceph: CephConfig
    nodes: list[ProxmoxNode]
    # Ceph needs a quorate PVE cluster (its config lives in /etc/pve).
    after: pulumi.Resource


class CephCluster(pulumi.ComponentResource):
    # The check that every PG is active+clean, after the pools and the tuning.
    ready: pulumi.Resource

    def __init__(self, name: str, args: CephClusterArgs, opts: pulumi.ResourceOptions | None = None):
        cfg, cluster = args.ceph, args.cluster
        facts = contract.facts(
            contract.CEPH,
            release=cfg.release,
            pveVersion=cluster.pve_version,
            nodeCount=len(cluster.nodes),
            osdHosts=cluster.osd_hosts(),
            osdCount=sum(len(n.osd_disks) for n in cluster.nodes),
            pools=[pool_facts(p) for p in cfg.pools],
            wipeDisks=cfg.wipe_disks,
        )
        super().__init__(contract.CEPH, name, facts, opts)
        network = str((cluster.networks.storage or cluster.networks.management).cidr)
        first = args.nodes[0]
        installs = [
            node.run(ceph_steps.install(node.name, cfg.release, cfg.repository, cluster.pve_version), self, depends_on=[args.after])
            for node in args.nodes
        ]
        previous: pulumi.Resource = first.run(ceph_steps.init(first.name, network), self, depends_on=installs)
        # Monitors one at a time: each must join the monmap before the next changes it.
        for node in args.nodes:
            previous = node.run(ceph_steps.monitor(node.name), self, depends_on=[previous])
        monitors_done = previous
        # Each node's OSDs wait for its own manager only: a node-to-node mesh of edges grows quadratically.
        osds = []
        for node in args.nodes:
            manager = node.run(ceph_steps.manager(node.name), self, depends_on=[monitors_done])
            osds += [node.run(ceph_steps.osd(node.name, disk, cfg.wipe_disks), self, depends_on=[manager])
                     for disk in node.config.osd_disks]
        pools = [
            first.run(ceph_steps.pool(first.name, p.name, p.size, p.min_size, p.pg_num, p.content), self, depends_on=osds)
            for p in cfg.pools
        ]
        tuning = first.run(ceph_steps.tuning(first.name, tuning_settings(cfg.tuning)), self, depends_on=[monitors_done])
        self.ready = first.run(ceph_steps.healthy(first.name), self, depends_on=[*pools, tuning])
        self.register_outputs(facts)


def tuning_settings(t: Tuning) -> list[tuple[str, str, str]]:
    """The seed's tuning as `ceph config set WHO KEY VALUE` triples."""
    return [
        ("client", "rbd_cache", str(t.rbd_cache).lower()),
        ("client", "rbd_cache_size", str(t.rbd_cache_size)),
        ("osd", "osd_scrub_begin_hour", str(t.scrub_begin_hour)),
        ("osd", "osd_scrub_end_hour", str(t.scrub_end_hour)),
    ]
