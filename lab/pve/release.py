"""The PVE release a lab host runs, as its package database would say: `pve-manager`'s version, kept in the host's
own /var/lib (so each host has its own, and an upgrade of one host changes only that host).

Outside a host (the lab's tooling, the tests) the same record is read through the host's /var/lib overlay.
"""
from __future__ import annotations

import os
from pathlib import Path

# pve-manager as each major's lab host reports it (`pveversion`, GET /version): 8.4 and 9.1.3 are the
# releases whose published API schema the lab validates with (../shared/pve-api).
RELEASES = {
    8: {"version": "8.4.1", "release": "8.4", "repoid": "2a5fa54a8503f96d", "kernel": "6.8.12-9-pve",
        "debian": "12", "suite": "bookworm"},
    9: {"version": "9.1.3", "release": "9.1", "repoid": "f1c4dbb0a6ad0d45", "kernel": "6.17.2-1-pve",
        "debian": "13", "suite": "trixie"},
}
DEFAULT_MAJOR = 9
# Inside a host: what its package database records of pve-manager.
RECORD = Path("/var/lib/lab-pve/pve-manager")
# Inside a host: the kernel it booted, kept from an upgrade until the next boot (a reboot empties /run).
BOOTED_KERNEL = Path("/run/lab-pve/running-kernel")


def record_under(varlib: Path) -> Path:
    """The record as seen from outside a host, through its /var/lib (e.g. STATE/hosts/pve1/varlib.upper)."""
    return varlib / RECORD.relative_to("/var/lib")


def write(path: Path, major: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RELEASES[major]["version"] + "\n")


def installed(path: Path = RECORD) -> str | None:
    """pve-manager's version on this host, None where PVE is not installed."""
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def major_of(version: str) -> int:
    return int(version.split(".")[0])


def host_major(path: Path = RECORD) -> int | None:
    """The major this host runs: $PROXMOX_HA_LAB_PVE_MAJOR (shim unit tests), else its record."""
    forced = os.environ.get("PROXMOX_HA_LAB_PVE_MAJOR")
    if forced:
        return int(forced)
    version = installed(path)
    return major_of(version) if version else None


def running_kernel(record: Path = RECORD) -> str | None:
    """The kernel the host runs: the one it booted before an upgrade installed another, else its release's."""
    try:
        return BOOTED_KERNEL.read_text().strip()
    except OSError:
        version = installed(record)
        return RELEASES[major_of(version)]["kernel"] if version else None


def upgrade(record: Path, major: int) -> None:
    """What installing pve-manager of `major` changes: the record, while the booted kernel keeps running."""
    kernel = running_kernel(record)
    if kernel and not BOOTED_KERNEL.exists():
        BOOTED_KERNEL.parent.mkdir(parents=True, exist_ok=True)
        BOOTED_KERNEL.write_text(kernel + "\n")
    write(record, major)
