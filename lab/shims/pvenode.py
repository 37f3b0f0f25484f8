"""Lab shim for `pvenode` (only `cert info`): the node's pve-ssl.pem under /etc/pve/nodes/NODE/."""
from __future__ import annotations

import json
import sys

from . import pvelib as L

USAGE = """USAGE: pvenode cert info [--output-format text|json|json-pretty]   (proxmox-ha lab shim)

Stands in for Proxmox VE's `pvenode`; only `cert info` is provided (the SHA-256 fingerprint
that `pvecm add --fingerprint` checks, from /etc/pve/nodes/NODE/pve-ssl.pem).
"""


@L.shim_main
def main(argv):
    if argv[:2] != ["cert", "info"]:
        print(USAGE)
        return 0 if not argv or argv[0] in ("help", "-h", "--help") else 255
    _, o = L.parse_args(argv[2:], {"output-format": "str"}, 0, USAGE)
    node = L.nodename()
    pem = L.PVE / "nodes" / node / "pve-ssl.pem"
    fp = L.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(pem)]).stdout.strip().split("=", 1)[1]
    subj = L.run(["openssl", "x509", "-noout", "-subject", "-in", str(pem)]).stdout.strip().split("=", 1)[1].strip()
    info = [{"filename": "pve-ssl.pem", "fingerprint": fp, "subject": subj, "issuer": subj}]
    fmt = o.get("output-format", "text")
    if fmt.startswith("json"):
        print(json.dumps(info, indent=2 if fmt == "json-pretty" else None))
    else:
        print(f"filename    pve-ssl.pem\nfingerprint {fp}\nsubject     {subj}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
