"""The pack's contract: which resources it reads, and where the engine puts what it reads.

Under the engine, a resource policy gets a resource's *inputs*; a stack policy gets every resource's final
*outputs*. For a custom resource those are the provider's outputs (inputs echoed plus computed values);
for one of our ComponentResources they are what it passed to `register_outputs`. So every component
registers the same facts as outputs that it takes as inputs: the keys listed here, camelCase, plain
values. The program builds these maps through `facts()`; the rules read them by these names.

This module imports nothing, so the program can use it (`policies.contract`) and the pack can run from
its own folder (`contract`).
"""
from __future__ import annotations

from typing import Any

# Our components: the type token is `proxmox-ha:<module>:<Class>`.
CLUSTER = "proxmox-ha:cluster:ProxmoxCluster"
NODE = "proxmox-ha:node:ProxmoxNode"
CEPH = "proxmox-ha:ceph:CephCluster"
HA = "proxmox-ha:ha:HighAvailability"
BACKUP = "proxmox-ha:backup:BackupPlan"
MONITORING = "proxmox-ha:monitoring:Monitoring"
DECOMMISSION = "proxmox-ha:decommission:Decommission"
QDEVICE = "proxmox-ha:qdevice:QDevice"
PREFLIGHT = "proxmox-ha:preflight:Preflight"
PROMETHEUS = "proxmox-ha:prometheus:Prometheus"
UPGRADE = "proxmox-ha:upgrade:Upgrade"
CEPH_UPGRADE = "proxmox-ha:ceph_upgrade:CephUpgrade"

# Provider resources (pulumi-proxmoxve 8.6.0 and pulumi-command 1.2.1 type tokens).
PVE_POOL = "proxmoxve:ceph/pool:Pool"
HAGROUP = "proxmoxve:index/hagroup:Hagroup"
HARULE = "proxmoxve:index/harule:Harule"
HARESOURCE = "proxmoxve:index/haresource:Haresource"
COMMAND = "command:remote:Command"
PROVIDER = "pulumi:providers:proxmoxve"

# The facts each component registers (inputs and outputs alike).
FACTS: dict[str, tuple[str, ...]] = {
    CLUSTER: ("clusterName", "pveVersion", "nodeCount", "nodes", "links", "storageNetwork", "cryptoCipher",
              "cryptoHash", "qdevice"),
    NODE: ("nodeName", "managementAddress", "storageAddress", "osdDisks", "watchdogModule", "ipmiConfigured"),
    CEPH: ("release", "pveVersion", "nodeCount", "osdHosts", "osdCount", "pools", "wipeDisks"),
    HA: ("pveVersion", "watchdog", "nodes", "groups", "resources"),
    BACKUP: ("storages", "jobs", "configBackup"),
    MONITORING: ("user", "role", "exporterPort"),
    DECOMMISSION: ("retiring", "kept", "ceph"),
    QDEVICE: ("address", "nodeCount", "algorithm"),
    PREFLIGHT: ("pveVersion", "nodes"),
    PROMETHEUS: ("address", "jobs", "scrapeInterval"),
    UPGRADE: ("pveVersion", "order", "ceph"),
    CEPH_UPGRADE: ("release", "order"),
}
# A pool inside CEPH's `pools`: {name, size, minSize, pgNum}.
POOL_FACTS = ("name", "size", "minSize", "pgNum")


def facts(token: str, **values: Any) -> dict[str, Any]:
    """A component's fact map, refusing a key the contract does not list (or one it misses)."""
    wanted = FACTS[token]
    if set(values) != set(wanted):
        raise KeyError(f"{token}: facts {sorted(values)} do not match the contract {sorted(wanted)}")
    return dict(values)
