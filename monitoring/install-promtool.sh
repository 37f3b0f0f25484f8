#!/usr/bin/env bash
# Install promtool (from Debian's "prometheus" package) without starting the
# Prometheus daemon. Idempotent: does nothing when promtool is already there.
# Usage: sudo monitoring/install-promtool.sh
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
    echo "promtool already installed: $(command -v promtool)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "ERROR: installing promtool needs root (apt-get). Re-run with sudo." >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ERROR: apt-get not found; install promtool from your distribution's prometheus package by hand." >&2
    exit 1
fi

# One install at a time: pytest-xdist's workers each run the tests' promtool fixture, and two concurrent runs
# would race on apt's locks and on the policy-rc.d below. The one that waited finds promtool installed.
if command -v flock >/dev/null 2>&1; then
    exec 9>/var/lock/proxmox-ha-install-promtool.lock
    flock 9
    if command -v promtool >/dev/null 2>&1; then
        echo "promtool already installed: $(command -v promtool)"
        exit 0
    fi
fi

# Keep the package's maintainer scripts from starting prometheus: a
# policy-rc.d that answers 101 ("action forbidden"). Only one we created is removed.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
fi
cleanup() {
    if [ "$created_policy" -eq 1 ]; then
        rm -f /usr/sbin/policy-rc.d
    fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when they are missing.
if ! apt-cache show prometheus >/dev/null 2>&1; then
    apt-get update
fi
# Wait for a concurrently running apt/dpkg instead of failing at once.
if ! apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends prometheus; then
    echo "ERROR: 'apt-get install prometheus' failed; see the output above (network? apt lock?)." >&2
    exit 1
fi

if ! command -v promtool >/dev/null 2>&1; then
    echo "ERROR: the prometheus package is installed but promtool is not on PATH." >&2
    exit 1
fi
echo "promtool installed: $(promtool --version 2>&1 | head -n1)"
