"""Lab shim for `reboot` inside a PVE lab host: what a reboot does to the host's services, without touching the
machine (the hosts share its kernel).

It returns at once, as `systemctl reboot` does, and a second later, in the background: stops the host's running
daemons (corosync-qdevice, the OSDs, managers and monitors, corosync, the rest), empties /run as a boot does (the
lab's own sshd directory kept), and starts every enabled daemon again in boot order. So a host upgraded by apt
comes back running what it installed (`pveversion`'s running kernel is the installed release's again).

What it does not do: restart sshd (SSH sessions survive), pve-cluster (/etc/pve stays mounted), or the lab's API
and HA stand-ins (they read the host's release on each request and round).
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from . import pvelib as L

USAGE = "reboot (proxmox-ha lab shim): restarts this host's services in the background; no options"
# systemd's order on a PVE node: corosync before corosync-qdevice; Ceph's monitors, then managers, then OSDs.
BOOT_ORDER = ("corosync", "corosync-qdevice", "ceph-mon", "ceph-mgr", "ceph-osd")
RUN = Path("/run")
# Kept across the lab's reboot: sshd does not restart, and its privilege-separation directory must stay.
RUN_KEPT = {"sshd"}
RUN_DIRS = ("lock", "ceph", "corosync", "network")


def _rank(unit: str) -> tuple[int, str]:
    base = unit.partition("@")[0]
    return (BOOT_ORDER.index(base) if base in BOOT_ORDER else len(BOOT_ORDER), unit)


def daemons() -> list[str]:
    """The host's units that run a process (running now, or enabled to run at boot), in boot order."""
    names = set()
    for folder, suffix in ((L.host_dir() / "pids", ".pid"), (L.host_dir() / "services", ".enabled")):
        if folder.is_dir():
            names.update(p.name[: -len(suffix)] for p in folder.glob(f"*{suffix}"))
    return sorted((u for u in names if u != L.CFS_UNIT and L.unit_argv(u) is not None), key=_rank)


def empty_run() -> None:
    for entry in RUN.iterdir():
        if entry.name in RUN_KEPT:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    for name in RUN_DIRS:
        (RUN / name).mkdir(exist_ok=True)


def boot() -> None:
    units = daemons()
    for unit in reversed(units):
        if L.unit_pid(unit):
            L.unit_stop(unit)
    empty_run()
    for unit in units:
        if L.unit_enabled(unit):
            try:
                L.unit_start(unit)
            except L.PVEError as error:  # a unit that fails at boot leaves the others booting, as systemd does
                L.warn(f"reboot: {unit} failed to start: {error.msg}")


@L.shim_main
def main(argv):
    if any(a in ("-h", "--help", "help") for a in argv):
        print(USAGE)
        return 0
    logs = L.host_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    if os.fork():
        return 0
    os.setsid()
    with open(os.devnull) as null, open(logs / "reboot.log", "a") as log:
        for fd, f in ((0, null), (1, log), (2, log)):
            os.dup2(f.fileno(), fd)
    time.sleep(1)
    print(f"{time.strftime('%b %d %H:%M:%S')} reboot: restarting {', '.join(daemons())}", flush=True)
    boot()
    print(f"{time.strftime('%b %d %H:%M:%S')} reboot: booted", flush=True)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
