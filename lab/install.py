"""`python3 -m lab install`: the Debian packages the lab runs (idempotent)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .common import log

PACKAGES = ["openssh-server", "openssh-client", "corosync", "ceph-mon", "ceph-mgr", "ceph-osd",
            "ceph-common", "nftables", "iproute2", "util-linux", "procps", "openssl", "ifupdown2", "bridge-utils",
            # `pvecm qdevice setup`: the QDevice daemon and certutil on the members, QNetd on the arbiter host
            "corosync-qdevice", "corosync-qnetd",
            # the monitoring host's Prometheus, Alertmanager and blackbox exporter, each node's node_exporter (Debian's own)
            "prometheus", "prometheus-alertmanager", "prometheus-node-exporter",
            "prometheus-blackbox-exporter"]
# Binaries the lab needs; if all exist the install step is skipped without calling apt.
BINARIES = ["/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen", "/usr/sbin/corosync",
            "/usr/sbin/corosync-quorumtool", "/usr/bin/ceph-mon", "/usr/bin/ceph-mgr",
            "/usr/bin/ceph-osd", "/usr/bin/ceph", "/usr/bin/monmaptool", "/usr/bin/ceph-authtool",
            "/usr/sbin/nft", "/usr/bin/nsenter", "/usr/bin/unshare", "/usr/sbin/losetup",
            "/usr/bin/openssl", "/usr/sbin/ifreload", "/usr/sbin/brctl", "/usr/bin/ssh-copy-id", "/usr/bin/scp",
            "/usr/sbin/corosync-qdevice", "/usr/sbin/corosync-qdevice-net-certutil", "/usr/bin/corosync-qnetd",
            "/usr/bin/corosync-qnetd-certutil", "/usr/bin/corosync-qnetd-tool", "/usr/bin/certutil", "/usr/bin/pk12util",
            "/usr/bin/prometheus", "/usr/bin/promtool", "/usr/bin/prometheus-alertmanager", "/usr/bin/amtool",
            "/usr/bin/prometheus-node-exporter", "/usr/bin/prometheus-blackbox-exporter"]

POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


def missing() -> list[str]:
    return [b for b in BINARIES if not (os.path.exists(b) or shutil.which(os.path.basename(b)))]


def _dpkg_installed(pkg: str) -> bool:
    res = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return res.returncode == 0 and "install ok installed" in res.stdout


def install(force: bool = False) -> None:
    todo = [p for p in PACKAGES if force or not _dpkg_installed(p)]
    if not todo and not missing():
        log("install: all packages present")
        return
    if os.geteuid() != 0:
        raise SystemExit("lab install: must run as root (apt-get)")
    created = False
    if not POLICY_RC_D.exists():
        # No daemon may start in the root namespace while installing.
        POLICY_RC_D.write_text("#!/bin/sh\n# written by proxmox-ha lab install; removed afterwards\nexit 101\n")
        POLICY_RC_D.chmod(0o755)
        created = True
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        lists = Path("/var/lib/apt/lists")
        if not any(lists.glob("*Packages*")):
            log("install: apt-get update")
            subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        log("install: apt-get install " + " ".join(todo))
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends"] + todo,
                       check=True, env=env)
    finally:
        if created:
            POLICY_RC_D.unlink(missing_ok=True)
    still = missing()
    if still:
        raise SystemExit("lab install: still missing after apt-get: " + ", ".join(still))
