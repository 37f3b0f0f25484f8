"""Prometheus: Debian's Prometheus and Alertmanager on a machine outside the cluster, scraping every node's
exporters with the repo's alert rules."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from models.monitoring import PrometheusConfig
from monitoring import rules, scrape
from policies import contract
from remote import monitoring_steps

from .connection import Host, ssh_connection


@dataclass(frozen=True)
class PrometheusArgs:
    config: PrometheusConfig
    # The scrape targets by job (monitoring.scrape.targets): the stack's nodes and their exporters.
    jobs: dict[str, list[dict]]
    private_key: pulumi.Output[str]
    # The exporters are installed: Prometheus starts with targets that answer.
    after: pulumi.Resource
    # The secret alertWebhookUrl: Alertmanager's receiver posts there.
    webhook_url: pulumi.Output[str] | None = None


class Prometheus(pulumi.ComponentResource):
    # The prometheus step: Prometheus, Alertmanager and the blackbox exporter answer with this config loaded.
    ready: pulumi.Resource

    def __init__(self, name: str, args: PrometheusArgs, opts: pulumi.ResourceOptions | None = None):
        cfg = args.config
        address = str(cfg.address)
        facts = contract.facts(contract.PROMETHEUS, address=address, jobs=sorted(args.jobs),
                               scrapeInterval=cfg.scrape_interval)
        super().__init__(contract.PROMETHEUS, name, facts, opts)
        server = Host(f"prometheus-{address}", ssh_connection(address, cfg.ssh_port, cfg.ssh_host_key, args.private_key))
        files = {
            f"{scrape.CONFIG_DIR}/prometheus.yml": scrape.prometheus_yml(args.jobs, cfg.scrape_interval, cfg.evaluation_interval),
            f"{scrape.CONFIG_DIR}/blackbox.yml": scrape.BLACKBOX_CONFIG.read_text(),
            **scrape.target_files(args.jobs),
            **{f"{scrape.RULES_DIR}/{file}": text for file, text in rules.with_for(cfg.alert_for).items()},
        }
        alertmanager = {f"{scrape.CONFIG_DIR}/alertmanager.yml": scrape.alertmanager_yml(webhook=args.webhook_url is not None)}
        # With a webhook, the file holds the secret: it is written on the host from stdin, never from the script.
        secret_files, files = (alertmanager, files) if args.webhook_url is not None else ({}, {**files, **alertmanager})
        step = monitoring_steps.prometheus(server.name, files, secret_files)
        self.ready = server.run(step, self, depends_on=[args.after],
                                secrets=[args.webhook_url] if args.webhook_url is not None else [])
        self.register_outputs(facts)
