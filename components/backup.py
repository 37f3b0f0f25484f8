"""BackupPlan: the PBS storage, vzdump jobs, and a config-backup timer on every node."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_proxmoxve as proxmoxve

from models.backup import BackupConfig
from policies import contract
from remote import ops_steps

from .connection import run_step
from .node import ProxmoxNode

CONFIG_BACKUP_DIR = Path(__file__).resolve().parent.parent / "ops" / "config-backup"


@dataclass(frozen=True)
class BackupPlanArgs:
    backup: BackupConfig
    nodes: list[ProxmoxNode]
    node_names: list[str]
    # Needed only for PBS storage and jobs (load_secrets requires apiToken then).
    provider: proxmoxve.Provider | None
    pbs_password: pulumi.Output[str] | None
    after: pulumi.Resource


class BackupPlan(pulumi.ComponentResource):
    def __init__(self, name: str, args: BackupPlanArgs, opts: pulumi.ResourceOptions | None = None):
        cfg = args.backup
        facts = contract.facts(
            contract.BACKUP,
            storages=[cfg.pbs.id] if cfg.pbs else [],
            jobs=[{"id": j.id, "schedule": j.schedule, "storage": j.storage, "all": j.all, "vmids": j.vmids} for j in cfg.jobs],
            configBackup=cfg.config_backup.enabled,
        )
        super().__init__(contract.BACKUP, name, facts, opts)
        child = lambda *deps: pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[args.after, *deps])  # noqa: E731
        storages: dict[str, pulumi.Resource] = {}
        if cfg.pbs is not None:
            pbs = cfg.pbs
            storages[pbs.id] = proxmoxve.storage.Pbs(
                pbs.id, resource_id=pbs.id, server=pbs.server, datastore=pbs.datastore, username=pbs.username,
                password=pulumi.Output.secret(args.pbs_password), fingerprint=pbs.fingerprint, namespace=pbs.namespace,
                contents=["backup"], opts=child(),
            )
        for job in cfg.jobs:
            proxmoxve.backup.Job(
                job.id, resource_id=job.id, schedule=job.schedule, storage=job.storage, mode=job.mode,
                compress=job.compress, all=job.all or None, vmids=[str(v) for v in job.vmids] or None,
                mailnotification=job.mail_notification, mailtos=job.mail_to or None, enabled=job.enabled,
                opts=child(*([storages[job.storage]] if job.storage in storages else [])),
            )
        if cfg.config_backup.enabled:
            for node_name, node in zip(args.node_names, args.nodes):
                run_step(config_backup_step(node_name, cfg), node.connection, self, depends_on=[args.after])
        self.register_outputs(facts)


def config_backup_step(node: str, cfg: BackupConfig):
    unit = lambda suffix: (CONFIG_BACKUP_DIR / f"proxmox-config-backup.{suffix}").read_text()  # noqa: E731
    return ops_steps.config_backup(node, unit("sh"), unit("service"), unit("timer"), cfg.config_backup.environment())
