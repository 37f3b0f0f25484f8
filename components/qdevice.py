"""QDevice: corosync-qnetd on a machine outside the cluster, and its vote in the cluster (`pvecm qdevice setup`)."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from models.cluster import QDeviceConfig
from policies import contract
from remote import cluster_steps, qdevice_steps

from .connection import Host, reported, ssh_connection
from .node import ProxmoxNode


@dataclass(frozen=True)
class QDeviceArgs:
    config: QDeviceConfig
    # The cluster's nodes: the QDevice is set up for exactly these; the first runs `pvecm qdevice setup`, which
    # reaches the others itself.
    nodes: list[ProxmoxNode]
    private_key: pulumi.Output[str]
    # The membership has settled (joins and retirements done); every member has corosync-qdevice (a node package).
    after: pulumi.Resource


class QDevice(pulumi.ComponentResource):
    # `pvecm qdevice setup`: the cluster counts the QDevice's vote.
    ready: pulumi.Resource

    def __init__(self, name: str, args: QDeviceArgs, opts: pulumi.ResourceOptions | None = None):
        cfg, first = args.config, args.nodes[0]
        address = str(cfg.address)
        # PVE's algorithm for an even count (the only one it sets up without --force).
        facts = contract.facts(contract.QDEVICE, address=address, nodeCount=len(args.nodes), algorithm="ffsplit")
        super().__init__(contract.QDEVICE, name, facts, opts)
        server = Host(f"qnetd-{address}", ssh_connection(address, cfg.ssh_port, cfg.ssh_host_key, args.private_key))
        qnetd = server.run(qdevice_steps.qnetd(server.name), self)
        key = first.run(qdevice_steps.root_rsa_key(first.name), self, depends_on=[args.after])
        # `pvecm qdevice setup` logs in to the QDevice machine with that key (ssh-copy-id finds it there).
        trusted = server.run_later(
            f"authorize-{first.name}",
            reported(key).apply(lambda k: cluster_steps.authorize_root_key(server.name, first.name, k)),
            self, depends_on=[qnetd],
        )
        setup = qdevice_steps.setup(first.name, address, cfg.ssh_host_key, [n.name for n in args.nodes], cfg.ssh_port)
        self.ready = first.run(setup, self, depends_on=[args.after, trusted])
        self.register_outputs(facts)
