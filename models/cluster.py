"""`proxmox-ha:cluster`: nodes, networks and corosync."""
from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator

from . import formats
from .base import ConfigModel, Problem, stack_key

# pvecm's own rule for cluster names: `clustername` of `pvecm create` (pve-cluster
# PVE/API2/ClusterConfig.pm) has format 'pve-node' (pve-common PVE/JSONSchema.pm pve_verify_node_name:
# letters, digits and '-', neither first nor last) and maxLength 15.
CLUSTER_NAME_MAX = 15
INTERFACE = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")


class Network(ConfigModel):
    cidr: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address | None = None


class Networks(ConfigModel):
    management: Network
    storage: Network | None = None


class Corosync(ConfigModel):
    crypto_cipher: Literal["aes256", "aes192", "aes128", "none"] = "aes256"
    crypto_hash: Literal["sha256", "sha384", "sha512", "sha1", "md5", "none"] = "sha256"


class Ipmi(ConfigModel):
    address: ipaddress.IPv4Address
    username: str = Field(min_length=1)


class Node(ConfigModel):
    name: str
    management_address: ipaddress.IPv4Address
    storage_address: ipaddress.IPv4Address | None = None
    management_port: str = "eno1"
    storage_port: str | None = None
    osd_disks: list[str] = Field(default_factory=list)
    ipmi: Ipmi | None = None
    ssh_port: int = Field(22, ge=1, le=65535)
    # The node's SSH host key ("ssh-ed25519 AAAA..."); when set, every remote step pins it.
    ssh_host_key: str | None = None

    _name = field_validator("name")(classmethod(formats.validator(formats.node_name)))
    _host_key = field_validator("ssh_host_key")(classmethod(formats.validator(formats.ssh_public_key)))

    @field_validator("management_port", "storage_port")
    @classmethod
    def _port(cls, v: str | None) -> str | None:
        if v is not None and not INTERFACE.match(v):
            raise ValueError("must be a Linux interface name (at most 15 characters)")
        return v

    @field_validator("osd_disks")
    @classmethod
    def _disks(cls, v: list[str]) -> list[str]:
        for disk in v:
            if not re.match(r"^/dev/[A-Za-z0-9/_-]+$", disk):
                raise ValueError(f"{disk!r} is not a block device path like /dev/sdb")
        if len(set(v)) != len(v):
            raise ValueError("lists a disk twice")
        return v


class QDeviceConfig(ConfigModel):
    """A corosync-qnetd host outside the cluster: its vote breaks ties for an even node count."""
    # `pvecm qdevice setup ADDRESS`: PVE's schema gives it format 'ip'.
    address: ipaddress.IPv4Address
    ssh_port: int = Field(22, ge=1, le=65535)
    # Its SSH host key ("ssh-ed25519 AAAA..."); when set, the program and the first node pin it.
    ssh_host_key: str | None = None

    _host_key = field_validator("ssh_host_key")(classmethod(formats.validator(formats.ssh_public_key)))


class ClusterConfig(ConfigModel):
    name: str
    pve_version: Literal[8, 9] = 9
    networks: Networks
    corosync: Corosync = Corosync()
    nodes: list[Node] = Field(min_length=1)
    # Members to retire: the explicit opt-in without which a node dropped from `nodes` is refused.
    decommission: list[str] = Field(default_factory=list)
    qdevice: QDeviceConfig | None = None
    # The PVE API the provider talks to; defaults to the first node.
    api_endpoint: str | None = None
    api_insecure: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if len(v) > CLUSTER_NAME_MAX or not formats.PVE_NODE.fullmatch(v):
            raise ValueError("must be 1-15 characters of A-Z, a-z, 0-9 and '-', starting and ending with a letter "
                             "or digit (pvecm create's rule for a cluster name)")
        return v

    @property
    def endpoint(self) -> str:
        return self.api_endpoint or f"https://{self.nodes[0].management_address}:8006/"

    def node_names(self) -> set[str]:
        return {n.name for n in self.nodes}

    def osd_hosts(self) -> list[str]:
        """The nodes that carry OSDs: what a pool's size must fit."""
        return [n.name for n in self.nodes if n.osd_disks]

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        seen_names: dict[str, int] = {}
        seen_addresses: dict[ipaddress.IPv4Address, str] = {}
        storage = self.networks.storage
        for i, node in enumerate(self.nodes):
            key = lambda field: stack_key("cluster", "nodes", i, field)  # noqa: E731
            if node.name in seen_names:
                found.append(Problem(key("name"), f"{node.name!r} is already used by nodes[{seen_names[node.name]}]"))
            seen_names.setdefault(node.name, i)
            checks = [("managementAddress", node.management_address, self.networks.management, "management")]
            if node.storage_address is not None:
                checks.append(("storageAddress", node.storage_address, storage, "storage"))
            elif storage is not None:
                found.append(Problem(key("storageAddress"), "required: networks.storage is set, so every node needs an address there (corosync link1, Ceph public network)"))
            for field, address, network, label in checks:
                if network is None:
                    found.append(Problem(key(field), f"set, but networks.{label} is not"))
                    continue
                if address not in network.cidr:
                    found.append(Problem(key(field), f"{address} is outside the {label} network {network.cidr}"))
                elif address in (network.cidr.network_address, network.cidr.broadcast_address) or address == network.gateway:
                    found.append(Problem(key(field), f"{address} is the network, broadcast or gateway address of {network.cidr}"))
                if address in seen_addresses:
                    found.append(Problem(key(field), f"{address} is already used by {seen_addresses[address]}"))
                seen_addresses.setdefault(address, f"{node.name} ({field})")
            if storage is not None and node.storage_port is None:
                found.append(Problem(key("storagePort"), "required: networks.storage is set, so vmbr1 needs a physical port"))
            if node.storage_port is not None and node.storage_port == node.management_port:
                found.append(Problem(key("storagePort"), "must differ from managementPort: two links need two ports"))
        for i, name in enumerate(self.decommission):
            key = stack_key("cluster", "decommission", i)
            if (problem := formats.node_name(name)):
                found.append(Problem(key, f"{name!r} {problem}"))
            elif name in seen_names:
                found.append(Problem(key, f"{name!r} is also in cluster.nodes; a node is either kept or retired"))
            elif name in self.decommission[:i]:
                found.append(Problem(key, f"{name!r} is listed twice"))
        if self.qdevice is not None:
            key = stack_key("cluster", "qdevice")
            if len(self.nodes) % 2:
                # pvecm qdevice setup refuses it: "Clusters with an odd node count are not officially supported!"
                found.append(Problem(key, f"a QDevice is only for an even node count, and cluster.nodes lists {len(self.nodes)} "
                                          "(PVE refuses it for an odd count: its tie-breaking vote can then split the cluster); "
                                          "remove cluster.qdevice, or add or retire a node"))
            if self.qdevice.address in seen_addresses:
                found.append(Problem(stack_key("cluster", "qdevice", "address"), f"{self.qdevice.address} is already "
                                     f"used by {seen_addresses[self.qdevice.address]}; the QDevice must be a machine outside the cluster"))
        gateway = self.networks.management.gateway
        if gateway is not None and gateway not in self.networks.management.cidr:
            found.append(Problem(stack_key("cluster", "networks", "management", "gateway"), f"{gateway} is outside {self.networks.management.cidr}"))
        if storage is not None and storage.cidr.overlaps(self.networks.management.cidr):
            found.append(Problem(stack_key("cluster", "networks", "storage", "cidr"), "overlaps the management network; corosync's second link must be a separate network"))
        return found
