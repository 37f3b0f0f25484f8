"""pve-ha-crm and pve-ha-lrm of one lab host (lab/pve/ha.py): each second, while pve-cluster has /etc/pve mounted and
this host's corosync is quorate, its LRM reports, and the master (the lowest-named online member) runs the CRM.
Without quorum nothing is written, so this host's timestamps go stale, as a PVE node's do. Runs inside the host's
namespaces (so /etc/pve is the host's: a separated node's is its own copy); logs to stderr."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .common import mounted
from .pve import corosync, ha, release

PVE = Path("/etc/pve")


def log(message: str) -> None:
    print(f"{time.strftime('%b %d %H:%M:%S')} {message}", file=sys.stderr, flush=True)


def round_once(me: str, quorum, pve: Path = PVE) -> None:
    """One round; `quorum(cluster)` gives (quorate, online members), as corosync.QuorumWatch does."""
    major = release.host_major()
    # Without pmxcfs (pve-cluster stopped) /etc/pve is the empty directory beneath: PVE's HA daemons then get
    # nothing from the cluster filesystem, and nothing they write may land in that directory.
    if major is None or not mounted(pve):
        return
    cluster = corosync.read_cluster(pve / "corosync.conf")
    quorate, online = quorum(cluster)
    if not quorate:
        return
    now = time.time()
    if online and online[0] == me:
        ha.crm_round(pve, me, corosync.node_names(cluster), online, major, now,
                     lambda m: log(f"pve-ha-crm: {m}"))
    ha.lrm_round(pve, me, now, lambda m: log(f"pve-ha-lrm: {m}"), release.installed())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m lab.hamanager", description=__doc__.splitlines()[0])
    ap.add_argument("--interval", type=float, default=1.0)
    args = ap.parse_args(argv)
    me = os.uname().nodename.split(".")[0]
    watch = corosync.QuorumWatch()
    while True:
        try:
            round_once(me, watch.quorum)
        except Exception as error:  # one bad round (a file mid-write) must not end the HA stack
            log(f"round failed: {error!r}")
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
