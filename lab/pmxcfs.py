"""The part of pmxcfs the lab needs besides the bind mount of /etc/pve: corosync.conf follows the cluster's copy.

On PVE, pmxcfs writes /etc/corosync/corosync.conf from its database when it starts and the file is missing
(pve-cluster src/pmxcfs/pmxcfs.c main() -> dcdb_sync_corosync_conf(), src/pmxcfs/dcdb.c), and afterwards, on a
member whose local copy has a lower config_version, installs the cluster's copy and runs `corosync-cfgtool -R`.
That is how an edit of /etc/pve/corosync.conf (a new node, the totem crypto) reaches every member. One of these
loops is a lab host's pve-cluster (lab/shims/pmxcfs.py starts it); `--local` is `pmxcfs -l`, which syncs nothing.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from .pve import corosync

CLUSTER_CONF = Path("/etc/pve/corosync.conf")
LOCAL_CONF = Path("/etc/corosync/corosync.conf")
NAME = "pmxcfs"  # the process name `killall pmxcfs` finds (lab/shims/killall.py)
_VERSION = re.compile(r"^\s*config_version:\s*(\d+)\s*$", re.M)


def config_version(path: Path) -> int | None:
    try:
        found = _VERSION.search(path.read_text())
    except OSError:
        return None
    return int(found.group(1)) if found else None


def _install(cluster_conf: Path, local_conf: Path) -> None:
    local_conf.parent.mkdir(parents=True, exist_ok=True)
    tmp = local_conf.with_name(f".{local_conf.name}.pmxcfs")
    tmp.write_text(cluster_conf.read_text())
    tmp.chmod(0o644)
    tmp.replace(local_conf)


def start_sync(node: str, cluster_conf: Path = CLUSTER_CONF, local_conf: Path = LOCAL_CONF) -> bool:
    """pmxcfs's start: write the missing local corosync.conf from the database; True when it did. Only where the
    cluster's copy lists this node: the lab's one shared directory also stands for the database of nodes that never
    joined (on PVE theirs has no corosync.conf), and a node that has not joined must not look like a member."""
    if local_conf.exists() or node not in corosync.node_names(corosync.read_cluster(cluster_conf)):
        return False
    _install(cluster_conf, local_conf)
    return True


def sync_once(cluster_conf: Path = CLUSTER_CONF, local_conf: Path = LOCAL_CONF) -> bool:
    """Install a newer cluster corosync.conf on this member; True when it did (then corosync must reload)."""
    cluster, local = config_version(cluster_conf), config_version(local_conf)
    if cluster is None or local is None or cluster <= local:
        return False  # not a member (no local copy), or nothing newer
    _install(cluster_conf, local_conf)
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m lab.pmxcfs", description=__doc__.splitlines()[0])
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--local", action="store_true", help="pmxcfs -l: hold this host's database, sync nothing")
    args = ap.parse_args(argv)
    if args.local:
        Path("/proc/self/comm").write_text(NAME)
        while True:
            signal.pause()
    if start_sync(os.uname().nodename.split(".")[0]):
        print(f"[main] notice: wrote new corosync config '{LOCAL_CONF}' (version = {config_version(LOCAL_CONF)})",
              file=sys.stderr, flush=True)
    # Named last: `systemctl start pve-cluster` waits for the name, as systemd waits for pmxcfs's fork after its start.
    Path("/proc/self/comm").write_text(NAME)
    while True:
        if sync_once():
            # Fails harmlessly when corosync is not running; it reads the new file when it starts.
            done = subprocess.run(["corosync-cfgtool", "-R"], capture_output=True, text=True, timeout=30)
            print(f"pmxcfs: installed corosync.conf version {config_version(LOCAL_CONF)}; reload: "
                  f"{(done.stdout + done.stderr).strip() or done.returncode}", file=sys.stderr, flush=True)
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
