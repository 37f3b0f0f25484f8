"""The part of pmxcfs the lab needs besides the shared /etc/pve: corosync.conf follows the cluster's copy.

On PVE, pve-cluster watches /etc/pve/corosync.conf. On a member (a node with a local
/etc/corosync/corosync.conf) whose local copy has a lower config_version, it installs the cluster's
copy and runs `corosync-cfgtool -R`. That is how an edit of /etc/pve/corosync.conf (a new node, the
totem crypto) reaches every member. One of these loops runs inside each lab host's namespaces.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

CLUSTER_CONF = Path("/etc/pve/corosync.conf")
LOCAL_CONF = Path("/etc/corosync/corosync.conf")
_VERSION = re.compile(r"^\s*config_version:\s*(\d+)\s*$", re.M)


def config_version(path: Path) -> int | None:
    try:
        found = _VERSION.search(path.read_text())
    except OSError:
        return None
    return int(found.group(1)) if found else None


def sync_once(cluster_conf: Path = CLUSTER_CONF, local_conf: Path = LOCAL_CONF) -> bool:
    """Install a newer cluster corosync.conf on this member; True when it did (then corosync must reload)."""
    cluster, local = config_version(cluster_conf), config_version(local_conf)
    if cluster is None or local is None or cluster <= local:
        return False  # not a member (no local copy), or nothing newer
    tmp = local_conf.with_name(f".{local_conf.name}.pmxcfs")
    tmp.write_text(cluster_conf.read_text())
    tmp.replace(local_conf)
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m lab.pmxcfs", description=__doc__.splitlines()[0])
    ap.add_argument("--interval", type=float, default=1.0)
    args = ap.parse_args(argv)
    while True:
        if sync_once():
            # Fails harmlessly when corosync is not running; it reads the new file when it starts.
            done = subprocess.run(["corosync-cfgtool", "-R"], capture_output=True, text=True, timeout=30)
            print(f"pmxcfs: installed corosync.conf version {config_version(LOCAL_CONF)}; reload: "
                  f"{(done.stdout + done.stderr).strip() or done.returncode}", file=sys.stderr, flush=True)
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
