"""python -m ops maintenance enter|exit NODE | rolling-update [--dry-run]  (see docs/runbook.md)"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from remote.ssh import Ssh
from models import load_stack_file

from .cluster import ClusterOps, GateFailed

UPGRADE = "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confold dist-upgrade"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops", description="Maintenance mode and rolling updates, one node at a time.")
    # No default: ops must never reach for the lab's stack (and its addresses) when a user forgot the flag.
    parser.add_argument("--stack-file", type=Path, required=True, help="the stack's config file, e.g. Pulumi.homelab.yaml")
    parser.add_argument("--ssh-key", type=Path, required=True)
    parser.add_argument("--known-hosts", type=Path, required=True)
    sub = parser.add_subparsers(dest="command", required=True)
    maintenance = sub.add_parser("maintenance", help="HA node maintenance (services move away, the node stays in quorum)")
    maintenance.add_argument("action", choices=["enter", "exit"])
    maintenance.add_argument("node")
    rolling = sub.add_parser("rolling-update", help="upgrade and reboot every node in turn, behind health gates")
    rolling.add_argument("--dry-run", action="store_true", help="print the plan and check the first gate only")
    rolling.add_argument("--upgrade-command", default=UPGRADE)
    rolling.add_argument("--reboot-command", default="systemctl reboot")
    rolling.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)

    ops = ClusterOps(load_stack_file(args.stack_file), Ssh(args.ssh_key, args.known_hosts))
    try:
        if args.command == "maintenance":
            (ops.maintenance_enter if args.action == "enter" else ops.maintenance_exit)(args.node)
        else:
            ops.rolling_update(args.upgrade_command, args.reboot_command, args.dry_run, args.timeout)
    except GateFailed as failed:
        print(f"ops: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
