"""ProxmoxNode: one machine made ready to join: repositories, packages, bridges, hosts, watchdog, root key."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_command as command

from models.cluster import Networks, Node
from policies import contract
from remote import node_steps

from remote.step import Step

from .connection import node_host, reported

PACKAGES = ["ifupdown2"]


@dataclass(frozen=True)
class ProxmoxNodeArgs:
    config: Node
    pve_version: int
    networks: Networks
    # (address, name) of every cluster node, for /etc/hosts.
    peers: list[tuple[str, str]]
    watchdog_module: str
    private_key: pulumi.Output[str]
    # Every step of this node waits for it (the preflight checks of every node).
    after: pulumi.Resource
    ipmi_password: pulumi.Output[str] | None = None
    # The cluster has a QDevice: every member runs corosync-qdevice.
    qdevice: bool = False


class ProxmoxNode(pulumi.ComponentResource):
    name: str
    # The node's entry in proxmox-ha:cluster.nodes.
    config: Node
    # The node itself: depending on a component waits for all its steps.
    ready: pulumi.Resource
    root_public_key: pulumi.Output[str]

    def __init__(self, name: str, args: ProxmoxNodeArgs, opts: pulumi.ResourceOptions | None = None):
        node = args.config
        facts = contract.facts(
            contract.NODE,
            nodeName=node.name,
            managementAddress=str(node.management_address),
            storageAddress=str(node.storage_address) if node.storage_address else None,
            osdDisks=node.osd_disks,
            watchdogModule=args.watchdog_module,
            ipmiConfigured=node.ipmi is not None,
        )
        super().__init__(contract.NODE, name, facts, opts)
        self.name, self.config = node.name, node
        self._host = node_host(node, args.private_key)
        run = lambda step, depends_on=(), **kw: self.run(step, self, depends_on=[args.after, *depends_on], **kw)  # noqa: E731

        repos = run(node_steps.repositories(node.name, args.pve_version))
        packages = run(node_steps.packages(node.name, PACKAGES + ["corosync-qdevice"] * args.qdevice), depends_on=[repos])
        management = run(node_steps.management_bridge(node.name, f"{node.management_address}/{args.networks.management.cidr.prefixlen}"))
        storage = args.networks.storage
        if storage is not None and node.storage_address is not None and node.storage_port is not None:
            address = f"{node.storage_address}/{storage.cidr.prefixlen}"
            run(node_steps.storage_bridge(node.name, node.storage_port, address), depends_on=[packages, management])
        run(node_steps.hosts(node.name, args.peers))
        run(node_steps.watchdog(node.name, args.watchdog_module))
        key = run(node_steps.root_ssh_key(node.name))
        if node.ipmi is not None:
            if args.ipmi_password is None:
                pulumi.log.warn(f"{node.name}: IPMI is configured but proxmox-ha:ipmiPassword is not set; the BMC check is skipped", self)
            else:
                run(
                    node_steps.ipmi_reachable(node.name, str(node.ipmi.address), node.ipmi.username),
                    secrets=[args.ipmi_password],
                )
        self.ready = self
        self.root_public_key = reported(key)
        self.register_outputs({**facts, "rootPublicKey": self.root_public_key})

    def run(self, step: Step, parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = (),
            secrets: Sequence[pulumi.Input[str]] = ()) -> command.remote.Command:
        """Run `step` on this node, as a child of `parent`; a step built for another node is refused."""
        return self._host.run(step, parent, depends_on, secrets)

    def run_later(self, name: str, step: pulumi.Output[Step], parent: pulumi.Resource,
                  depends_on: Sequence[pulumi.Resource] = ()) -> command.remote.Command:
        """Run a step built once a value it needs is known (see Host.run_later)."""
        return self._host.run_later(name, step, parent, depends_on)
