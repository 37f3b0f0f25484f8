"""Run a stack's remote steps over SSH in the order the components chain them, without the Pulumi engine.

This is how `make up` converges the lab while the engine cannot run here: the Go proxy serves the
Pulumi CLI but not pulumi-language-python, pulumi-resource-command or pulumi-resource-proxmoxve
(README, "Toolchain"). The steps are the very ones the components register, so a green run here proves
the shell that `pulumi up` would send. Steps owned by the PVE API (HA, PBS, jobs, token) need the engine.

    python -m tools.converge STACK_FILE --ssh-key KEY --known-hosts FILE
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Iterator

import yaml

from components.backup import config_backup_step
from components.ceph import tuning_settings
from components.node import PACKAGES, bridge_stanzas
from models import StackConfig, parse_stack_config
from models.base import NAMESPACE
from models.stack import SECTIONS
from models.cluster import Node
from remote import ceph_steps, cluster_steps, node_steps, ops_steps
from remote.ssh import Ssh, StepFailed
from remote.step import Step


def phases(stack: StackConfig, ssh: Ssh) -> Iterator[tuple[str, list[tuple[Node, Step]]]]:
    """(phase, steps) in the components' dependency order; later phases may read what earlier ones reported."""
    cluster = stack.cluster
    nodes, first = cluster.nodes, cluster.first_node
    peers = [(str(n.management_address), n.name) for n in nodes]
    keys: dict[str, str] = {}
    prepare = []
    for n in nodes:
        prepare += [
            (n, node_steps.repositories(n.name, cluster.pve_version)),
            (n, node_steps.packages(n.name, PACKAGES)),
            (n, node_steps.bridges(n.name, node_steps.interfaces_fragment(bridge_stanzas(n, cluster.networks)))),
            (n, node_steps.hosts(n.name, peers)),
            (n, node_steps.watchdog(n.name, stack.ha.watchdog)),
        ]
    yield "prepare nodes", prepare
    for n in nodes:
        keys[n.name] = ssh.run_step(n, node_steps.root_ssh_key(n.name)).strip().splitlines()[-1]
    link1 = lambda n: str(n.storage_address) if n.storage_address else None  # noqa: E731
    formation = [
        (first, cluster_steps.create(first.name, cluster.name, str(first.management_address), link1(first))),
        (first, cluster_steps.totem_crypto(first.name, cluster.corosync.crypto_cipher, cluster.corosync.crypto_hash)),
    ]
    for n in nodes[1:]:
        formation += [
            (first, cluster_steps.authorize_joiner(first.name, n.name, keys[n.name])),
            (n, cluster_steps.join(n.name, cluster.name, str(first.management_address), first.ssh_host_key,
                                   str(n.management_address), link1(n))),
        ]
    formation.append((first, cluster_steps.quorum(first.name, len(nodes))))
    yield "form the cluster", formation
    if stack.osd_hosts():
        network = str((cluster.networks.storage or cluster.networks.management).cidr)
        ceph = [(n, ceph_steps.install(n.name, stack.ceph.release, stack.ceph.repository)) for n in nodes]
        ceph.append((first, ceph_steps.init(first.name, network)))
        ceph += [(n, ceph_steps.monitor(n.name)) for n in nodes]
        ceph += [(n, ceph_steps.manager(n.name)) for n in nodes]
        ceph += [(n, ceph_steps.osd(n.name, d, stack.ceph.wipe_disks)) for n in nodes for d in n.osd_disks]
        ceph.append((first, ceph_steps.tuning(first.name, tuning_settings(stack.ceph.tuning))))
        ceph += [(first, ceph_steps.pool(first.name, p.name, p.size, p.min_size, p.pg_num, p.content)) for p in stack.ceph.pools]
        ceph.append((first, ceph_steps.healthy(first.name)))
        if stack.monitoring.enabled and stack.monitoring.ceph_prometheus:
            ceph.append((first, ops_steps.ceph_prometheus(first.name)))
        yield "Ceph", ceph
    if stack.backup.config_backup.enabled:
        yield "config backup", [(n, config_backup_step(n.name, stack.backup)) for n in nodes]


def converge(stack: StackConfig, ssh: Ssh) -> dict[str, float]:
    """Run every phase; return the seconds each took."""
    timings = {}
    for phase, steps in phases(stack, ssh):
        started = time.monotonic()
        print(f"== {phase}", file=sys.stderr)
        for node, step in steps:
            ssh.run_step(node, step)
        timings[phase] = time.monotonic() - started
    return timings


def summary(stack: StackConfig, ssh: Ssh) -> list[str]:
    """What an operator checks after `make up`, read from the first node."""
    first = stack.cluster.first_node
    ask = lambda command: ssh.command(first, command, timeout=60).stdout.strip()  # noqa: E731
    status = ask("pvecm status")
    votes = next((line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("Total votes")), "?")
    quorate = next((line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("Quorate")), "?")
    lines = [f"cluster {stack.cluster.name}: quorate {quorate}, {votes}/{len(stack.cluster.nodes)} votes"]
    if stack.osd_hosts():
        lines.append(f"ceph: {ask('ceph health')}; {ask('ceph pg stat')}")
        for pool in stack.ceph.pools:
            size, min_size = ask(f"ceph osd pool get {pool.name} size"), ask(f"ceph osd pool get {pool.name} min_size")
            storage = "yes" if ask(f"grep -x 'rbd: {pool.name}' /etc/pve/storage.cfg") else "no"
            lines.append(f"pool {pool.name}: {size}, {min_size}, RBD storage {storage}")
    lines.append(f"HA resources {len(stack.ha.resources)}, backup jobs {len(stack.backup.jobs)}: applied through the PVE API by `pulumi up` (README, Toolchain)")
    return lines


def load_stack_file(path: Path) -> StackConfig:
    config = yaml.safe_load(path.read_text())["config"]
    sections = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith(f"{NAMESPACE}:")}
    return parse_stack_config({key: value for key, value in sections.items() if key in SECTIONS})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.converge", description=__doc__.splitlines()[0])
    parser.add_argument("stack_file", type=Path)
    parser.add_argument("--ssh-key", type=Path, required=True)
    parser.add_argument("--known-hosts", type=Path, required=True)
    args = parser.parse_args(argv)
    stack = load_stack_file(args.stack_file)
    ssh = Ssh(args.ssh_key, args.known_hosts)
    try:
        timings = converge(stack, ssh)
    except StepFailed as failure:
        print(f"converge: {failure}", file=sys.stderr)
        return 1
    print("\n".join(summary(stack, ssh)))
    print("converge: done; " + ", ".join(f"{phase} {seconds:.1f}s" for phase, seconds in timings.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
