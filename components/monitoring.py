"""Monitoring: a read-only PVE user and API token, prometheus-pve-exporter and node_exporter on each node, Ceph's
mgr exporter."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_proxmoxve as proxmoxve

from models.monitoring import MonitoringConfig
from monitoring.known_metrics import PVE_EXPORTER_VERSION  # the version the alert rules were checked against
from policies import contract
from remote import monitoring_steps, ops_steps
from remote.grafana_steps import grafana_dashboard

from .connection import child_name
from .node import ProxmoxNode

MONITORING_DIR = Path(__file__).resolve().parent.parent / "monitoring"
DASHBOARD = MONITORING_DIR / "grafana" / "proxmox-ha.json"
COROSYNC_LINKS = [(MONITORING_DIR / "corosync-links" / f"proxmox-ha-corosync-links.{suffix}").read_text()
                 for suffix in ("sh", "service", "timer")]
TOKEN_NAME = "exporter"
AUDITOR = "PVEAuditor"


@dataclass(frozen=True)
class MonitoringArgs:
    monitoring: MonitoringConfig
    nodes: list[ProxmoxNode]
    provider: proxmoxve.Provider
    ceph: bool
    # The nodes' PVE major: the exporter's venv is made again for the Python of another release.
    pve_version: int
    after: pulumi.Resource
    # The secret grafanaToken, when monitoring.grafana names a Grafana.
    grafana_token: pulumi.Output[str] | None = None


class Monitoring(pulumi.ComponentResource):
    # The component itself: its steps and API objects form no single chain.
    ready: pulumi.Resource

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        cfg = args.monitoring
        facts = contract.facts(contract.MONITORING, user=cfg.user, role=AUDITOR, exporterPort=cfg.exporter_port)
        super().__init__(contract.MONITORING, name, facts, opts)
        first = args.nodes[0]
        user = first.run(ops_steps.pve_user(first.name, cfg.user), self, depends_on=[args.after])
        api = lambda *deps: pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(deps))  # noqa: E731
        token = proxmoxve.user.Token(
            child_name(self, "exporter-token"), user_id=cfg.user, token_name=TOKEN_NAME, privileges_separation=True,
            comment="prometheus-pve-exporter (proxmox-ha)", opts=api(user),
        )
        # A privilege-separated token has only what both it and its user have: grant the read-only role to both.
        grants = [
            proxmoxve.Acl(child_name(self, "exporter-user-auditor"), path="/", role_id=AUDITOR, user_id=cfg.user, propagate=True, opts=api(user)),
            proxmoxve.Acl(child_name(self, "exporter-token-auditor"), path="/", role_id=AUDITOR, token_id=token.id, propagate=True, opts=api(token)),
        ]
        for node in args.nodes:
            node.run(ops_steps.pve_exporter(node.name, cfg.exporter_port, PVE_EXPORTER_VERSION, args.pve_version), self,
                     depends_on=grants, secrets=[cfg.user, TOKEN_NAME, token.value.apply(token_secret)])
            exporter = node.run(monitoring_steps.node_exporter(node.name, cfg.node_exporter_port), self, depends_on=[args.after])
            node.run(monitoring_steps.corosync_links(node.name, *COROSYNC_LINKS), self, depends_on=[exporter])
        if args.ceph and cfg.ceph_prometheus:
            first.run(ops_steps.ceph_prometheus(first.name), self, depends_on=[args.after])
        if cfg.grafana is not None:
            # The first node posts the dashboard: the program reaches Grafana through a node, as every other change.
            first.run(grafana_dashboard(first.name, cfg.grafana.url, json.loads(DASHBOARD.read_text())), self,
                      depends_on=[args.after], secrets=[args.grafana_token])
        self.ready = self
        self.register_outputs({**facts, "tokenId": token.id})


def token_secret(value: str) -> str:
    """The UUID the exporter sends: bpg's token `value` is `USER@REALM!TOKENID=UUID`."""
    return value.rpartition("=")[2]
