"""Lab shim for ifupdown2's `ifreload` (the lab's interfaces are veths set up by `lab up`)."""
from __future__ import annotations

from pathlib import Path

from . import pvelib as L

USAGE = """ifreload -a   (proxmox-ha lab shim)

Stands in for ifupdown2's ifreload: checks that /etc/network/interfaces and interfaces.d parse as
stanzas and records the request; the lab's eno1/eno2 are veths that `lab up` addresses directly.
"""


@L.shim_main
def main(argv):
    if "-h" in argv or "--help" in argv or "-a" not in argv:
        print(USAGE)
        return 0 if "-a" not in argv and ("-h" in argv or "--help" in argv) else 1
    files = [Path("/etc/network/interfaces"), *sorted(Path("/etc/network/interfaces.d").glob("*"))]
    for f in files:
        if not f.is_file():
            continue
        for number, line in enumerate(f.read_text().splitlines(), 1):
            word = line.strip().split(" ", 1)[0]
            if word and not word.startswith("#") and word not in ("auto", "iface", "source", "allow-hotplug") and not line[:1].isspace():
                raise L.PVEError(f"error: {f}: line{number}: invalid keyword '{word}'", 1)
    record = Path("/var/lib/lab-apt/ifreload")
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text("\n".join(str(f) for f in files if f.is_file()) + "\n")
    return 0
