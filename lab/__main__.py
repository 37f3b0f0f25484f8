"""python3 -m lab up|down|status [--json]|ssh NODE [CMD...]|install|bootstrap|wait|stack-config"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .common import ALL_HOSTS, DEBIAN_HOSTS, Paths, wait_until


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m lab", description=(
        "Embedded Proxmox VE lab: pve1..pve3 (up to pve5) in network/mount namespaces with real sshd, "
        "corosync and Ceph, driven by PVE command shims. State: $PROXMOX_HA_LAB_DIR "
        "(default /var/tmp/proxmox-ha-lab, or /var/tmp/proxmox-ha-lab-N for $PROXMOX_HA_LAB_SLOT N: a lab beside another)."))
    sub = ap.add_subparsers(dest="cmd", required=True)
    upp = sub.add_parser("up", help="start the hosts (installs packages first if missing); --hosts N grows a running lab")
    upp.add_argument("--hosts", type=int, choices=range(3, len(ALL_HOSTS) + 1), metavar=f"{{3..{len(ALL_HOSTS)}}}",
                     help="how many hosts (pve1..pveN); default: as many as now, 3 for a new lab")
    upp.add_argument("--pve", type=int, choices=(8, 9),
                     help="the PVE major the hosts are installed with (default: the lab's, 9 for a new lab)")
    sub.add_parser("down", help="stop everything and remove namespaces, bridges, loop devices, state")
    st = sub.add_parser("status", help="hosts, corosync quorum, Ceph health, the monitor host and its firing alerts")
    st.add_argument("--json", action="store_true")
    sp = sub.add_parser("ssh", help="ssh into a host (root, lab key, pinned host key)")
    sp.add_argument("node", choices=(*ALL_HOSTS, *DEBIAN_HOSTS))
    sp.add_argument("command", nargs=argparse.REMAINDER)
    ip = sub.add_parser("install", help="install the Debian packages the lab needs (idempotent)")
    ip.add_argument("--force", action="store_true")
    bp = sub.add_parser("bootstrap", help="through the shims: pvecm create/add, pveceph init/mon/mgr/osd, "
                                          "pool vm-storage; then wait for quorum and PGs active+clean")
    bp.add_argument("--no-ceph", action="store_true")
    wp = sub.add_parser("wait", help="wait for 'quorum' (3 votes), 'ceph-clean' (all PGs active+clean), 'ceph-ok' or "
                                     "'targets' (the monitor host's Prometheus has scraped every target, all up)")
    wp.add_argument("what", choices=["quorum", "ceph-clean", "ceph-ok", "targets"])
    wp.add_argument("--timeout", type=float, default=120)
    wp.add_argument("--votes", type=int, default=3)
    sc = sub.add_parser("stack-config", help="write STATE/Pulumi.lab.yaml: the stack file plus host keys and secrets "
                                             "(for python -m deploy --config-file)")
    sc.add_argument("template", nargs="?", default="Pulumi.lab.yaml")
    sc.add_argument("--nodes", type=int, help="the cluster is the lab's first N hosts (default: the template's nodes)")
    sc.add_argument("--retire", default="", help="with --nodes: hosts listed in cluster.decommission, e.g. pve4,pve5")
    sc.add_argument("--qdevice", action="store_true", help="with --nodes: a QDevice on the lab's qnetd host")
    sc.add_argument("--no-ceph", action="store_true", help="with --nodes: no OSD disks and no ceph section")
    args = ap.parse_args(argv)

    paths = Paths()
    if args.cmd == "install":
        from .install import install
        install(force=args.force)
        return 0
    if args.cmd == "up":
        from .hosts import up
        up(paths, args.hosts, args.pve)
        return 0
    if args.cmd == "down":
        from .hosts import down
        down(paths)
        return 0
    if args.cmd == "status":
        from .status import collect, render
        data = collect(paths)
        print(json.dumps(data, indent=2) if args.json else render(data))
        return 0 if all(h["up"] for h in data["hosts"]) and data["monitor"]["up"] else 1
    if args.cmd == "ssh":
        from .common import ssh_base
        cmd = args.command
        if cmd and cmd[0] == "--":
            cmd = cmd[1:]
        argv2 = ssh_base(paths, args.node, tty=not cmd and sys.stdin.isatty())
        if cmd:
            argv2 += [" ".join(cmd) if len(cmd) > 1 else cmd[0]]
        os.execvp(argv2[0], argv2)
    if args.cmd == "stack-config":
        from .stack import write
        if args.nodes is None and (args.retire or args.qdevice or args.no_ceph):
            ap.error("stack-config: --retire, --qdevice and --no-ceph reshape the cluster: give --nodes too")
        print(write(Path(args.template), paths, args.nodes, [n for n in args.retire.split(",") if n], args.qdevice,
                    not args.no_ceph))
        return 0
    if args.cmd == "bootstrap":
        from .bootstrap import bootstrap
        bootstrap(paths, ceph_too=not args.no_ceph)
        return 0
    if args.cmd == "wait":
        from . import bootstrap as b
        if args.what == "quorum":
            b.wait_quorum(paths, args.votes, args.timeout)
        elif args.what == "ceph-clean":
            b.wait_ceph_clean(paths, args.timeout)
        elif args.what == "targets":
            from .status import targets
            if not wait_until(lambda: (t := targets())["running"] and t["total"] and t["up"] == t["total"], args.timeout, 1):
                raise SystemExit(f"lab wait targets: not every target up after {args.timeout:.0f}s: {targets()}")
        else:
            b.wait_ceph_health(paths, "HEALTH_OK", args.timeout)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
