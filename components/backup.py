"""BackupPlan: the PBS storage, vzdump jobs, and a config-backup timer on every node."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from models.backup import BackupConfig
from models.base import stack_key
from policies import contract
from remote import backup_steps, ops_steps

from .node import ProxmoxNode

CONFIG_BACKUP_DIR = Path(__file__).resolve().parent.parent / "ops" / "config-backup"


@dataclass(frozen=True)
class BackupPlanArgs:
    backup: BackupConfig
    nodes: list[ProxmoxNode]
    pbs_password: pulumi.Output[str] | None
    after: pulumi.Resource


class BackupPlan(pulumi.ComponentResource):
    # The component itself: its steps and API objects form no single chain.
    ready: pulumi.Resource

    def __init__(self, name: str, args: BackupPlanArgs, opts: pulumi.ResourceOptions | None = None):
        cfg = args.backup
        facts = contract.facts(
            contract.BACKUP,
            storages=[cfg.pbs.id] if cfg.pbs else [],
            jobs=[{"id": j.id, "schedule": j.schedule, "storage": j.storage, "all": j.all, "vmids": j.vmids,
                   "mailNotification": j.mail_notification, "mailTo": j.mail_to} for j in cfg.jobs],
            configBackup=cfg.config_backup.enabled,
        )
        super().__init__(contract.BACKUP, name, facts, opts)
        # PBS storage and jobs are cluster-wide: the first node makes them, through PVE's own CLI.
        first = args.nodes[0]
        storages: dict[str, pulumi.Resource] = {}
        if cfg.pbs is not None:
            pbs = cfg.pbs
            storages[pbs.id] = first.run(
                backup_steps.pbs_storage(first.name, pbs.id, pbs.server, pbs.datastore, pbs.username, pbs.fingerprint,
                                         pbs.namespace, stack_key("backup", "pbs")),
                self, depends_on=[args.after], secrets=[args.pbs_password],
            )
        for job in cfg.jobs:
            first.run(backup_steps.backup_job(first.name, job.id, job.settings()), self,
                      depends_on=[args.after, *([storages[job.storage]] if job.storage in storages else [])])
        if cfg.config_backup.enabled:
            for node in args.nodes:
                node.run(config_backup_step(node.name, cfg), self, depends_on=[args.after])
        self.ready = self
        self.register_outputs(facts)


def config_backup_step(node: str, cfg: BackupConfig):
    unit = lambda suffix: (CONFIG_BACKUP_DIR / f"proxmox-config-backup.{suffix}").read_text()  # noqa: E731
    return ops_steps.config_backup(node, unit("sh"), unit("service"), unit("timer"), cfg.config_backup.environment())
