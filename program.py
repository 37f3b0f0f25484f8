"""The program: validated stack config → components → outputs. `__main__.py` only calls `run()`."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pulumi
import pulumi_proxmoxve as proxmoxve

from components.backup import BackupPlan, BackupPlanArgs
from components.ceph import CephCluster, CephClusterArgs, pool_facts
from components.ceph_upgrade import CephUpgrade, CephUpgradeArgs
from components.cluster import ProxmoxCluster, ProxmoxClusterArgs
from components.decommission import Decommission, DecommissionArgs
from components.ha import HighAvailability, HighAvailabilityArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.node import ProxmoxNode, ProxmoxNodeArgs
from components.preflight import Preflight, PreflightArgs
from components.prometheus import Prometheus, PrometheusArgs
from components.qdevice import QDevice, QDeviceArgs
from components.upgrade import Upgrade, UpgradeArgs, upgradable
from models import ConfigError, StackConfig, check_secrets, parse_stack_config, required_secrets
from models.base import NAMESPACE
from models.stack import SECTIONS
from monitoring import scrape


@dataclass(frozen=True)
class Secrets:
    ssh_private_key: pulumi.Output[str]
    api_token: pulumi.Output[str] | None
    pbs_password: pulumi.Output[str] | None
    ipmi_password: pulumi.Output[str] | None
    grafana_token: pulumi.Output[str] | None
    alert_webhook_url: pulumi.Output[str] | None


def load_secrets(config: pulumi.Config, stack: StackConfig) -> Secrets:
    """The secrets as secret Outputs; a missing one the stack needs, or a malformed one, raises ConfigError."""
    needed = required_secrets(stack)
    # Read plainly only to check their form here; they reach resources only as secret Outputs.
    check_secrets(needed, {key: pulumi.runtime.get_config(config.full_key(key)) for key in needed})
    values = {key: config.get_secret(key) for key in needed}
    return Secrets(values["sshPrivateKey"], values["apiToken"], values["pbsPassword"], values["ipmiPassword"],  # type: ignore[arg-type]
                   values["grafanaToken"], values["alertWebhookUrl"])


# The stack's outputs of its last run, as JSON: `python -m deploy` reads them before it runs the engine (with the
# plain CLI: export PROXMOX_HA_LAST_OUTPUTS="$(pulumi stack output --json --show-secrets)"). A reference to the
# stack itself would race the engine writing the same checkpoint ("failed to load checkpoint: EOF").
LAST_OUTPUTS = "PROXMOX_HA_LAST_OUTPUTS"


def last_outputs() -> dict:
    return json.loads(os.environ.get(LAST_OUTPUTS) or "{}")


def build(stack: StackConfig, secrets: Secrets) -> None:
    cluster = stack.cluster
    peers = [(str(n.management_address), n.name) for n in cluster.nodes]
    # Every node's release and the cluster's members are checked before anything changes anywhere.
    preflight = Preflight("preflight", PreflightArgs(cluster=cluster, private_key=secrets.ssh_private_key))
    checked = preflight.ready
    if stack.needs_ceph():
        # Ceph on the stack's release first: PVE 9 installs only over the Ceph it offers (pve8to9).
        checked = CephUpgrade("ceph-upgrade", CephUpgradeArgs(cluster=cluster, release=stack.ceph.release,
                                                              private_key=secrets.ssh_private_key, after=checked)).ready
    if upgradable(cluster):
        # PVE 8 members become PVE 9 ones before any step written for PVE 9 runs on them.
        checked = Upgrade("upgrade", UpgradeArgs(cluster=cluster, ceph=stack.needs_ceph(),
                                                 private_key=secrets.ssh_private_key, after=checked)).ready
    nodes = [ProxmoxNode(n.name, ProxmoxNodeArgs(
        config=n, pve_version=cluster.pve_version, networks=cluster.networks, peers=peers,
        watchdog_module=stack.ha.watchdog, private_key=secrets.ssh_private_key, after=checked,
        ipmi_password=secrets.ipmi_password, qdevice=cluster.qdevice is not None)) for n in cluster.nodes]
    pve = ProxmoxCluster(cluster.name, ProxmoxClusterArgs(config=cluster, nodes=nodes))
    # The membership is final first: joins, then retirements. Ceph's own gate (every PG clean) comes after:
    # a retiring node that died leaves PGs degraded until its OSDs are out.
    membership: pulumi.Resource = pve.ready
    if cluster.decommission:
        membership = Decommission("decommission", DecommissionArgs(
            retiring=cluster.decommission, kept=nodes,
            pools=list(stack.ceph.pools) if stack.needs_ceph() else None, after=pve.ready)).ready
    ready = membership
    if stack.needs_ceph():
        ready = CephCluster("ceph", CephClusterArgs(cluster=cluster, ceph=stack.ceph, nodes=nodes, after=membership)).ready
    if cluster.qdevice is not None:
        QDevice("qdevice", QDeviceArgs(config=cluster.qdevice, nodes=nodes, private_key=secrets.ssh_private_key,
                                       after=membership))

    provider = None
    if secrets.api_token is not None:
        provider = proxmoxve.Provider(
            "pve", endpoint=cluster.endpoint, api_token=secrets.api_token, insecure=cluster.api_insecure,
        )
    if provider is not None and (stack.ha.groups or stack.ha.resources):
        # What the last run left (HA groups, groups PVE 9 migrated, rules): the HA objects follow PVE's upgrade.
        last = last_outputs()
        ha = HighAvailability("ha", HighAvailabilityArgs(
            ha=stack.ha, pve_version=cluster.pve_version, nodes=nodes, provider=provider, after=ready,
            shape=last.get("haShape"), rules=last.get("haRules") or {},
        ))
        pulumi.export("haShape", ha.shape)
        pulumi.export("haRules", ha.rules)
    BackupPlan("backup", BackupPlanArgs(
        backup=stack.backup, nodes=nodes, pbs_password=secrets.pbs_password, after=ready,
    ))
    if provider is not None and stack.monitoring.enabled:
        cfg = stack.monitoring
        monitoring = Monitoring("monitoring", MonitoringArgs(
            monitoring=cfg, nodes=nodes, provider=provider, ceph=stack.needs_ceph(), pve_version=cluster.pve_version,
            after=ready, grafana_token=secrets.grafana_token,
        ))
        members = [scrape.Member(n.name, str(n.config.management_address)) for n in nodes]
        # The certificates PVE (8006) and PBS (8007) serve: a node's lapses on its own after two years.
        tls = {m.name: f"https://{m.address}:8006" for m in members}
        if stack.backup.pbs is not None:
            tls[stack.backup.pbs.id] = f"https://{stack.backup.pbs.server}:8007"
        jobs = scrape.targets(members, cfg.exporter_port, cfg.node_exporter_port,
                              stack.needs_ceph() and cfg.ceph_prometheus, tls)
        # file_sd groups by job, for a Prometheus the user already runs.
        pulumi.export("scrapeTargets", jobs)
        if cfg.prometheus is not None:
            Prometheus("prometheus", PrometheusArgs(
                config=cfg.prometheus, jobs=jobs, private_key=secrets.ssh_private_key, after=monitoring.ready,
                webhook_url=secrets.alert_webhook_url,
            ))

    pulumi.export("clusterName", cluster.name)
    pulumi.export("endpoint", cluster.endpoint)
    pulumi.export("nodes", [n.name for n in nodes])
    pulumi.export("pools", [pool_facts(p) for p in stack.ceph.pools])
    pulumi.export("haResources", [r.id for r in stack.ha.resources])
    pulumi.export("backupJobs", [j.id for j in stack.backup.jobs])


def run() -> None:
    config = pulumi.Config(NAMESPACE)
    try:
        stack = parse_stack_config({section: config.get_object(section) for section in SECTIONS})
        secrets = load_secrets(config, stack)
    except ConfigError as error:
        # RunError ends the program with this message alone, no traceback; nothing has been registered yet.
        raise pulumi.RunError(str(error)) from None
    build(stack, secrets)
