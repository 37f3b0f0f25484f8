"""`proxmox-ha:backup`: the PBS storage, vzdump jobs and the config-backup timer."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from . import formats
from .base import ConfigModel, Problem, stack_key
from .pve_calendar import calendar_problem

FINGERPRINT = re.compile(r"^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$")


class Pbs(ConfigModel):
    id: str
    server: str = Field(min_length=1)
    datastore: str = Field(min_length=1)
    username: str
    # The PBS certificate's SHA-256 fingerprint; without it PVE trusts only a CA-signed certificate.
    fingerprint: str | None = None
    namespace: str | None = None

    _id = field_validator("id")(classmethod(formats.validator(formats.storage_id)))
    _server = field_validator("server")(classmethod(formats.validator(formats.storage_server)))
    _datastore = field_validator("datastore")(classmethod(formats.validator(formats.pbs_safe_id)))
    _namespace = field_validator("namespace")(classmethod(formats.validator(formats.pbs_namespace)))

    @field_validator("username")
    @classmethod
    def _user(cls, v: str) -> str:
        if not re.match(r"^[^@\s]+@[A-Za-z0-9_.-]+(![A-Za-z0-9_.-]+)?$", v):
            raise ValueError("must be USER@REALM (or USER@REALM!TOKEN), e.g. backup@pbs")
        return v

    @field_validator("fingerprint")
    @classmethod
    def _fingerprint(cls, v: str | None) -> str | None:
        if v is not None and not FINGERPRINT.match(v):
            raise ValueError("must be the 32-byte SHA-256 fingerprint as AA:BB:... (see `proxmox-backup-manager cert info`)")
        return v


class Job(ConfigModel):
    id: str
    schedule: str
    storage: str
    mode: Literal["snapshot", "suspend", "stop"] = "snapshot"
    compress: Literal["0", "1", "gzip", "lzo", "zstd"] = "zstd"
    all: bool = False
    vmids: list[int] = Field(default_factory=list)
    # Only with mailTo: without it PVE (8.1+, notification-mode auto) notifies through its notification system
    # and ignores mailnotification (VZDump.pm); the policy pack refuses that combination.
    mail_notification: Literal["always", "failure"] | None = None
    mail_to: list[str] = Field(default_factory=list)
    enabled: bool = True

    def settings(self) -> dict[str, str | int]:
        """The job as PVE's /cluster/backup parameters (what `pvesh get` reads back)."""
        found: dict[str, str | int] = {"schedule": self.schedule, "storage": self.storage, "mode": self.mode,
                                       "compress": self.compress, "enabled": int(self.enabled)}
        if self.mail_notification:
            found["mailnotification"] = self.mail_notification
        if self.all:
            found["all"] = 1
        else:
            found["vmid"] = ",".join(str(v) for v in self.vmids)
        if self.mail_to:
            found["mailto"] = ",".join(self.mail_to)
        return found

    _id = field_validator("id")(classmethod(formats.validator(formats.configid)))

    @field_validator("vmids")
    @classmethod
    def _vmids(cls, v: list[int]) -> list[int]:
        wrong = [vmid for vmid in v if not 100 <= vmid <= 999_999_999]
        if wrong:
            raise ValueError(f"{wrong[0]} is not a VM ID: PVE's pve-vmid is 100 to 999999999")
        return v

    @field_validator("mail_to")
    @classmethod
    def _mail_to(cls, v: list[str]) -> list[str]:
        for address in v:
            if (problem := formats.email_or_username(address)):
                raise ValueError(problem)
        return v

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str) -> str:
        problem = calendar_problem(v)
        if problem:
            raise ValueError(problem)
        return v.strip()


class ConfigBackup(ConfigModel):
    """The tar of /etc/pve, /etc/corosync and /etc/ceph that each node keeps."""

    enabled: bool = True
    retention_days: int = Field(14, ge=1, le=3650)
    directory: str = "/var/backups/proxmox-ha"
    # An rclone remote such as `offsite:proxmox-config`; empty keeps archives local only.
    rclone_remote: str | None = Field(None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_. -]*:[A-Za-z0-9_./-]*$")

    _directory = field_validator("directory")(classmethod(formats.validator(formats.absolute_path)))

    def environment(self) -> dict[str, str]:
        """/etc/default/proxmox-config-backup, read by the script's systemd unit."""
        settings = {"BACKUP_DIR": self.directory, "RETENTION_DAYS": str(self.retention_days)}
        if self.rclone_remote:
            settings["RCLONE_REMOTE"] = self.rclone_remote
        return settings


class BackupConfig(ConfigModel):
    pbs: Pbs | None = None
    jobs: list[Job] = Field(default_factory=list)
    config_backup: ConfigBackup = ConfigBackup()

    def problems(self, storages: set[str]) -> list[Problem]:
        found: list[Problem] = []
        known = set(storages) | ({self.pbs.id} if self.pbs else set())
        seen: set[str] = set()
        for i, job in enumerate(self.jobs):
            if job.id in seen:
                found.append(Problem(stack_key("backup", "jobs", i, "id"), f"{job.id!r} is listed twice"))
            seen.add(job.id)
            if job.storage not in known:
                found.append(Problem(stack_key("backup", "jobs", i, "storage"), f"{job.storage!r} is not a storage this stack creates ({', '.join(sorted(known)) or 'none'})"))
            elif self.pbs is None or job.storage != self.pbs.id:
                found.append(Problem(stack_key("backup", "jobs", i, "storage"), f"{job.storage!r} is an RBD pool storage, which cannot hold backups; use the PBS storage"))
            if job.all and job.vmids:
                found.append(Problem(stack_key("backup", "jobs", i, "vmids"), "set together with all: true; choose one"))
            if not job.all and not job.vmids:
                found.append(Problem(stack_key("backup", "jobs", i), "backs up nothing: set all: true or list vmids"))
        return found
