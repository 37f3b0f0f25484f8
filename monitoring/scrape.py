"""Prometheus's view of a proxmox-ha cluster, made from the stack: its scrape targets as file_sd groups (the
same JSON serves a Prometheus the program runs and one a user already has), and the Prometheus and Alertmanager
configs the program installs."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

CEPH_MGR_PORT = 9283  # the mgr prometheus module's default server_port
PROMETHEUS = "127.0.0.1:9090"  # Debian's default listen addresses, all on the one machine
ALERTMANAGER = "127.0.0.1:9093"  # Alertmanager beside Prometheus, Debian's default listen address
BLACKBOX = "127.0.0.1:9115"  # the blackbox exporter beside Prometheus, Debian's default listen address
BLACKBOX_MODULE = "pve_tls"
BLACKBOX_CONFIG = Path(__file__).resolve().parent / "blackbox.yml"  # defines BLACKBOX_MODULE
CONFIG_DIR = "/etc/prometheus"
TARGETS_DIR = f"{CONFIG_DIR}/proxmox-ha"
RULES_DIR = f"{CONFIG_DIR}/proxmox-ha/rules"
HEADER = "# Written by proxmox-ha from the stack; edits are overwritten on the next `pulumi up`.\n"


@dataclass(frozen=True)
class Member:
    """What Prometheus needs of a node: its name and the address its exporters listen on."""
    name: str
    address: str


def targets(members: list[Member], exporter_port: int, node_exporter_port: int, ceph: bool,
            tls: dict[str, str]) -> dict[str, list[dict]]:
    """file_sd groups by job. pve-exporter runs on every node and asks that node's own API with cluster=1, so
    cluster-wide series survive any one node (the rules aggregate with max by id); the path and query parameters
    travel as the target's `__metrics_path__`/`__param_*` labels, so a bare file_sd_configs entry is enough.
    `tls` maps a name to an https URL whose certificate the blackbox exporter beside Prometheus watches."""
    def group(member: Member, port: int, **labels: str) -> dict:
        return {"targets": [f"{member.address}:{port}"], "labels": {"node": member.name, **labels}}

    jobs = {
        "pve": [group(m, exporter_port, __metrics_path__="/pve", __param_target=m.address, __param_module="default",
                      __param_cluster="1", __param_node="1") for m in members],
        "node": [group(m, node_exporter_port) for m in members],
    }
    if ceph:  # a mgr on every node: the active one serves the metrics, standbys an empty page
        jobs["ceph"] = [group(m, CEPH_MGR_PORT) for m in members]
    jobs["blackbox-tls"] = [
        {"targets": [BLACKBOX], "labels": {"node": name, "instance": url, "__metrics_path__": "/probe",
                                          "__param_target": url, "__param_module": BLACKBOX_MODULE}}
        for name, url in tls.items()
    ]
    return jobs


def target_files(jobs: dict[str, list[dict]]) -> dict[str, str]:
    return {f"{TARGETS_DIR}/{job}.json": json.dumps(groups, indent=2) for job, groups in jobs.items()}


def prometheus_yml(jobs: dict[str, list[dict]], scrape_interval: str, evaluation_interval: str) -> str:
    def job(name: str) -> dict:
        # The mgr module labels its series with their daemon (ceph_daemon), which must survive the scrape.
        extra = {"honor_labels": True} if name == "ceph" else {}
        return {"job_name": name, **extra, "file_sd_configs": [{"files": [f"{TARGETS_DIR}/{name}.json"]}]}

    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval},
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [ALERTMANAGER]}]}]},
        "rule_files": [f"{RULES_DIR}/*.rules.yml"],
        "scrape_configs": [job(name) for name in jobs],
    }
    return HEADER + yaml.safe_dump(config, sort_keys=False)


# Where the secret webhook URL goes; the step puts it in on the host (it reaches the host on stdin).
WEBHOOK_PLACEHOLDER = "@ALERT_WEBHOOK_URL@"


def alertmanager_yml(webhook: bool) -> str:
    """One route to one receiver: the webhook when the stack has one (firing and resolved), else no integration,
    the alerts visible in Alertmanager (and its API) only."""
    receiver = {"name": "proxmox-ha"}
    if webhook:
        receiver["webhook_configs"] = [{"url": WEBHOOK_PLACEHOLDER, "send_resolved": True}]
    config = {
        "route": {"receiver": "proxmox-ha", "group_by": ["alertname", "node"], "group_wait": "10s",
                  "group_interval": "1m", "repeat_interval": "4h"},
        "receivers": [receiver],
    }
    return HEADER + yaml.safe_dump(config, sort_keys=False)
