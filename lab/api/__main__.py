"""python3 -m lab.api serve|token|cert"""
from __future__ import annotations

import argparse
import sys

from . import auth
from . import store
from ..pve import release
from .server import make_cert, serve


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m lab.api", description=(
        "PVE REST API emulation of the proxmox-ha lab: /api2/json over HTTPS, state in a PVE config "
        "directory (the lab's shared /etc/pve) in PVE's own formats."))
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("serve", help="serve the API (runs until SIGINT/SIGTERM)")
    sp.add_argument("--pve-dir", required=True)
    sp.add_argument("--listen", action="append", required=True, help="ADDR:PORT (repeatable; PVE uses 8006)")
    sp.add_argument("--cert", required=True)
    sp.add_argument("--key", required=True)
    sp.add_argument("--node", required=True, help="this node's name (pveN)")
    sp.add_argument("--pve-version", type=int, choices=[8, 9],
                    help="major PVE version to emulate (8: HA groups; 9: HA rules); default: the host's own")
    tp = sub.add_parser("token", help="create (idempotently) a privsep=0 API token and print USER!NAME=SECRET")
    tp.add_argument("--pve-dir", required=True)
    tp.add_argument("--user", default="root@pam")
    tp.add_argument("--name", default="pulumi")
    cp = sub.add_parser("cert", help="write a self-signed certificate NAME.pem/NAME.key into DIR")
    cp.add_argument("--dir", required=True)
    cp.add_argument("--name", required=True)
    args = ap.parse_args(argv)

    if args.cmd == "serve":
        if args.pve_version is None and release.host_major() is None:
            ap.error(f"--pve-version is needed outside a lab host (no {release.RECORD})")
        serve(args.pve_dir, args.listen, args.cert, args.key, args.node, args.pve_version)
        return 0
    if args.cmd == "token":
        try:
            print(auth.bootstrap_token(store.Store(args.pve_dir), args.user, args.name))
        except KeyError as e:
            sys.stderr.write(f"{e.args[0]}\n")
            return 255
        return 0
    if args.cmd == "cert":
        cert, key = make_cert(args.dir, args.name)
        print(cert)
        print(key)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
