"""Lab shim for `systemctl` (stands in for systemd's systemctl inside a lab host).

Real daemons (corosync, corosync-qdevice, corosync-qnetd, prometheus, prometheus-alertmanager, prometheus-node-exporter,
ceph-mon@ID, ceph-mgr@ID, ceph-osd@ID) are
started in the foreground as children detached into their own session, with a pidfile in the lab state dir
(STATE/hosts/HOST/pids/UNIT.pid). pve-cluster is the lab's pmxcfs (lab/shims/pmxcfs.py: /etc/pve's mount and
the lab.pmxcfs loop). PVE's other services (pve-ha-lrm, pve-ha-crm, watchdog-mux, pveproxy, ...) are records only.
`reload` of a Debian unit runs its ExecReload= (SIGHUP to the main PID for Prometheus' units), never a restart. Exit
codes follow systemctl: is-active 0/3, unknown unit 4 (status) / 5 (start).
"""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from . import pmxcfs as P
from . import pvelib as L

HELP = """systemctl [OPTIONS...] COMMAND UNIT...   (proxmox-ha lab shim)

Stands in for systemd's systemctl inside a lab host (there is no systemd in the lab).
Real daemons: corosync, corosync-qdevice, corosync-qnetd, prometheus, prometheus-alertmanager,
prometheus-node-exporter (as Debian's unit files run them: ExecStart with their /etc/default file,
User=, RuntimeDirectory=; reload runs ExecReload=), ceph-mon@ID, ceph-mgr@ID,
ceph-osd@ID (started as detached processes with pidfiles in the lab state directory); pve-cluster (the lab's
pmxcfs: stop unmounts /etc/pve, start mounts this host's database and syncs corosync.conf).
Record-only units: pve-ha-lrm, pve-ha-crm, watchdog-mux, pveproxy, pvedaemon, ...
Targets: ceph.target, ceph-mon.target, ceph-mgr.target, ceph-osd.target.

Commands: start stop restart try-restart reload reload-or-restart status is-active
          is-enabled is-failed enable disable daemon-reload list-units
"""

TARGETS = {"ceph.target": ("ceph-mon", "ceph-mgr", "ceph-osd"), "ceph-mon.target": ("ceph-mon",),
           "ceph-mgr.target": ("ceph-mgr",), "ceph-osd.target": ("ceph-osd",)}


# pve-cluster is the lab's pmxcfs (lab/shims/pmxcfs.py, which builds on pvelib); pvelib runs every other unit.
def unit_pid(unit: str) -> int | None:
    return P.pid(P.SERVICE) if unit == L.CFS_UNIT else L.unit_pid(unit)


def unit_active(unit: str) -> bool:
    return unit_pid(unit) is not None if unit == L.CFS_UNIT else L.unit_active(unit)


def unit_start(unit: str) -> None:
    return P.service_start() if unit == L.CFS_UNIT else L.unit_start(unit)


def unit_stop(unit: str) -> None:
    return P.service_stop() if unit == L.CFS_UNIT else L.unit_stop(unit)


def expand(units):
    out = []
    for u in units:
        u = L.unit_name(u)
        if u in TARGETS:
            for base in TARGETS[u]:
                out += L.units_of(base)
        else:
            out.append(u)
    return out


def status_text(unit: str) -> str:
    base = unit.partition("@")[0]
    desc = (L.packaged_service(unit) or {}).get("description") or L.DESCRIPTIONS.get(base, unit)
    active = unit_active(unit)
    pid = unit_pid(unit) if L.unit_argv(unit) else None
    en = "enabled" if L.unit_enabled(unit) else "disabled"
    lines = [f"{'●' if active else '○'} {unit}.service - {desc}",
             f"     Loaded: loaded (/lib/systemd/system/{base}{'@' if '@' in unit else ''}.service; {en}; preset: enabled)"]
    if active:
        since = ""
        if pid:
            since = datetime.fromtimestamp(Path(f"/proc/{pid}").stat().st_mtime).strftime("%a %Y-%m-%d %H:%M:%S %Z")
        lines.append(f"     Active: active (running) since {since}".rstrip())
        if pid:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            lines.append(f"   Main PID: {pid} ({comm})")
    else:
        lines.append("     Active: inactive (dead)")
    return "\n".join(lines)


@L.shim_main
def main(argv):
    opts = [a for a in argv if a.startswith("-")]
    args = [a for a in argv if not a.startswith("-")]
    quiet = "-q" in opts or "--quiet" in opts
    if "-h" in opts or "--help" in opts or not args:
        print(HELP)
        return 0 if args or "-h" in opts or "--help" in opts else 1
    cmd, units = args[0], expand(args[1:])
    L.host_info()
    if cmd == "daemon-reload":
        return 0
    if cmd == "list-units":
        for u in sorted(set(L.units_of("ceph-mon") + L.units_of("ceph-mgr") + L.units_of("ceph-osd") + ["corosync"]
                            + list(L.PACKAGED_UNITS))):
            if unit_active(u):
                print(f"  {u}.service loaded active running {L.DESCRIPTIONS.get(u.partition('@')[0], u)}")
        return 0
    if not units and cmd not in ("list-units",):
        raise L.PVEError("Too few arguments.", 1)
    rc = 0
    for u in units:
        known = L.known_unit(u)
        if cmd in ("start", "restart", "reload", "try-restart", "reload-or-restart", "stop", "enable", "disable") and not known:
            raise L.PVEError(f"Failed to {cmd} {u}.service: Unit {u}.service not found.", 5)
        if cmd == "start":
            unit_start(u)
        elif cmd == "stop":
            unit_stop(u)
        elif cmd in ("restart", "reload-or-restart"):
            if cmd == "reload-or-restart" and u == "corosync" and unit_pid(u):
                L.run(["corosync-cfgtool", "-R"], check=False)
                continue
            if cmd == "reload-or-restart" and (L.packaged_service(u) or {}).get("reload"):
                if unit_active(u):
                    L.unit_reload(u)
                else:
                    unit_start(u)
                continue
            unit_stop(u)
            unit_start(u)
        elif cmd == "try-restart":
            if unit_active(u):
                unit_stop(u)
                unit_start(u)
        elif cmd == "reload":
            if not unit_active(u):
                raise L.PVEError(f"Job for {u}.service failed.\n{u}.service is not active, cannot reload.", 1)
            if u == "corosync":
                L.run(["corosync-cfgtool", "-R"], check=False)
            elif L.packaged_service(u):
                L.unit_reload(u)
        elif cmd == "enable":
            L.unit_enable(u, True)
            if "--now" in opts:
                unit_start(u)
        elif cmd == "disable":
            L.unit_enable(u, False)
            if "--now" in opts:
                unit_stop(u)
        elif cmd == "is-active":
            a = unit_active(u) if known else False
            if not quiet:
                print("active" if a else ("inactive" if known else "inactive"))
            rc = rc or (0 if a else 3)
        elif cmd == "is-failed":
            a = unit_active(u)
            if not quiet:
                print("active" if a else "inactive")
            rc = rc or (1 if True else 0)
        elif cmd == "is-enabled":
            e = L.unit_enabled(u)
            if not quiet:
                print("enabled" if e else "disabled")
            rc = rc or (0 if e else 1)
        elif cmd == "status":
            if not known:
                print(f"Unit {u}.service could not be found.", file=sys.stderr)
                rc = rc or 4
                continue
            print(status_text(u))
            rc = rc or (0 if unit_active(u) else 3)
        else:
            raise L.PVEError(f"Unknown command verb {cmd}.", 1)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
