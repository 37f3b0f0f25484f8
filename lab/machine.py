"""One lab host: its namespaces, links, disk and files, and the script that boots it (see lab/README.md).

A PVE host is a network namespace with veths `eno1`/`eno2` on the root-namespace bridges, plus a private
mount/UTS/IPC namespace made by `unshare`, in which /etc, /var/lib and /var/log are copy-on-write overlays, /run
is a tmpfs, /dev is a private tmpfs (with /dev/sdb), /etc/pve is the pmxcfs stand-in (the shared directory, or the
host's own copy once it ran `pmxcfs -l`) and /usr/local/sbin holds the PVE command shims. The Debian hosts (qnetd, monitor)
are the same without PVE: one port, no /etc/pve, Debian's commands.
Its long-lived process is its sshd; everything else is started through it.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

from .common import (ALL_HOSTS, DEBIAN_HOSTS, DOMAIN, MGMT_BRIDGE, MGMT_NET, REPO_ROOT, SLOT, STORAGE_BRIDGE, OSD_DISK_SIZE,
                     Paths, lab_major, mgmt_addr, netns, netns_exists, run, ssh_port, sshd_pid, storage_addr)
from .pve import release


def veth_names(name: str) -> tuple[str, str]:
    return f"phl{2 * SLOT}-{name}", f"phl{2 * SLOT + 1}-{name}"


def link_exists(dev: str, ns: str | None = None) -> bool:
    cmd = ["ip"] + (["-n", ns] if ns else []) + ["link", "show", dev]
    return run(cmd, check=False).returncode == 0


def ensure_host_net(name: str) -> None:
    ns = netns(name)
    if not netns_exists(name):
        run(["ip", "netns", "add", ns])
    v0, v1 = veth_names(name)
    # a PVE host's index, a Debian host's address' last number written in hex (qnetd .40: 0x40, monitor .60: 0x60)
    idx = ALL_HOSTS.index(name) + 1 if name not in DEBIAN_HOSTS else int(mgmt_addr(name).rsplit(".", 1)[1], 16)
    ports = ((v0, "eno1", MGMT_BRIDGE), (v1, "eno2", STORAGE_BRIDGE))[:1 if name in DEBIAN_HOSTS else 2]
    # Only the links: addresses are ifupdown2's job inside the host (its /etc/network/interfaces).
    for n, (root_side, inner, br) in enumerate(ports):
        if not link_exists(root_side):
            if link_exists(inner, ns):
                run(["ip", "-n", ns, "link", "del", inner])
            # fixed MACs: a re-created host keeps its MAC, so no neighbour has a stale ARP entry
            run(["ip", "link", "add", root_side, "type", "veth", "peer", "name", inner,
                 "address", f"02:ba:1a:b{SLOT}:{idx:02x}:{n + 1:02x}", "netns", ns])
        run(["ip", "link", "set", root_side, "master", br, "up"])


# ---------------------------------------------------------------- disks
def ensure_disk(paths: Paths, name: str) -> str:
    """Sparse file + loop device; returns what is bound to /dev/sdb inside the host."""
    paths.disks.mkdir(parents=True, exist_ok=True)
    img = paths.disk(name)
    if not img.exists():
        with open(img, "wb") as f:
            f.truncate(OSD_DISK_SIZE)
    lf = paths.loopfile(name)
    if lf.exists():
        dev = lf.read_text().strip()
        if dev.startswith("/dev/loop"):
            cur = run(["losetup", "-j", str(img)], check=False).stdout
            if cur.startswith(dev + ":"):
                return dev
        elif dev == str(img):
            return dev
    res = run(["losetup", "--find", "--show", str(img)], check=False)
    dev = res.stdout.strip() if res.returncode == 0 else str(img)  # fall back to the plain file
    lf.parent.mkdir(parents=True, exist_ok=True)
    lf.write_text(dev + "\n")
    return dev


INSTALLER_INTERFACES = """auto lo
iface lo inet loopback

iface eno1 inet manual

auto vmbr0
iface vmbr0 inet static
	address {address}
	bridge-ports eno1
	bridge-stp off
	bridge-fd 0

iface eno2 inet manual

source /etc/network/interfaces.d/*
"""

# What Debian's installer writes for a machine with one port (the Debian hosts), again without a gateway.
DEBIAN_INTERFACES = """auto lo
iface lo inet loopback

auto eno1
iface eno1 inet static
	address {address}
"""


# ---------------------------------------------------------------- one host
HOST_SCRIPT = r"""
set -e
H={hdir}
hostname {name}
mount -t overlay overlay -o lowerdir=/etc,upperdir=$H/etc.upper,workdir=$H/etc.work /etc
mount -t overlay overlay -o lowerdir=/var/lib,upperdir=$H/varlib.upper,workdir=$H/varlib.work /var/lib
mount -t overlay overlay -o lowerdir=/var/log,upperdir=$H/varlog.upper,workdir=$H/varlog.work /var/log
# root's home (SSH keys, authorized_keys) and /var/backups are the host's own, empty at first.
mount --bind $H/root /root
mount --bind $H/backups /var/backups
# /opt too: software a step installs there (the exporter's venv) stays on its host.
mount --bind $H/opt /opt
mount -t tmpfs -o mode=0755,size=256m,nosuid,nodev tmpfs /run
mkdir -p /run/sshd /run/lock /run/ceph /run/corosync
{pve_mounts}
D=$H/dev
mount -t tmpfs -o mode=0755,size=16m,nosuid tmpfs $D
for n in null zero full random urandom tty; do touch $D/$n; mount --bind /dev/$n $D/$n; done
mkdir -p $D/pts $D/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts $D/pts
ln -s pts/ptmx $D/ptmx
mount -t tmpfs -o mode=1777,size=1g,nosuid,nodev tmpfs $D/shm
ln -s /proc/self/fd $D/fd
ln -s /proc/self/fd/0 $D/stdin; ln -s /proc/self/fd/1 $D/stdout; ln -s /proc/self/fd/2 $D/stderr
{disk_mount}
mount --move $D /dev
# What networking.service does at boot: Debian's ifupdown2 brings up /etc/network/interfaces (vmbr0 over
# eno1 with the management address; vmbr1 once it is configured). A broken file leaves the host unreachable.
mkdir -p /run/network
/usr/sbin/ifup -a >$H/ifup.log 2>&1 || echo "ifup -a failed: see $H/ifup.log" >&2
exec /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config
"""

SSHD_CONFIG = """# proxmox-ha lab: sshd of host {name}
Port {port}
ListenAddress {mgmt}
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_rsa_key
# One key exchange, the cheapest every client here speaks (OpenSSH, paramiko, Go's x/crypto/ssh): OpenSSH's first
# choice, sntrup761x25519, costs its client about 0.13 CPU-s per connection, curve25519 0.01, and the lab's tests
# open thousands. Stricter than a PVE node's sshd, so no client passes here that a node would refuse.
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AuthorizedKeysFile {authorized_keys} .ssh/authorized_keys
PidFile none
UseDNS no
PrintMotd no
X11Forwarding no
MaxStartups 100:30:200
MaxSessions 100
AcceptEnv LANG LC_*
SetEnv PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
Subsystem sftp /usr/lib/openssh/sftp-server
"""


def etc_hosts(hosts: tuple[str, ...]) -> str:
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback",
             "ff02::1 ip6-allnodes", "ff02::2 ip6-allrouters"]
    for h in hosts:
        lines.append(f"{mgmt_addr(h)} {h}.{DOMAIN} {h}")
    return "\n".join(lines) + "\n"


def host_json(paths: Paths, name: str, hosts: tuple[str, ...]) -> str:
    """/etc/lab-host.json: the host's own facts and the lab's name service (every host's addresses)."""
    return json.dumps({
        "name": name, "domain": DOMAIN, "state_dir": str(paths.root), "host_dir": str(paths.host(name)),
        "management_address": mgmt_addr(name), "storage_address": None if name in DEBIAN_HOSTS else storage_addr(name),
        "repo": str(REPO_ROOT),
        "hosts": {h: {"management_address": mgmt_addr(h), "storage_address": storage_addr(h)} for h in hosts},
        "ssh": {"key": str(paths.client_key), "known_hosts": str(paths.known_hosts)},
    }, indent=1) + "\n"


def prepare_host_dirs(paths: Paths, name: str, hosts: tuple[str, ...]) -> None:
    hd = paths.host(name)
    for d in ("etc.upper", "etc.work", "varlib.upper", "varlib.work", "varlog.upper", "varlog.work",
              "dev", "pids", "services", "logs", "root", "backups", "opt"):
        (hd / d).mkdir(parents=True, exist_ok=True)
    etc = hd / "etc.upper"
    (hd / "varlib.upper" / "vz").mkdir(exist_ok=True)
    (etc / "hostname").write_text(name + "\n")
    (etc / "hosts").write_text(etc_hosts(hosts))
    (etc / "mailname").write_text(f"{name}.{DOMAIN}\n")
    # What the PVE installer writes: vmbr0 on the first port with the management address. The lab's
    # addresses live on the veths themselves; the file is what the program reads and edits.
    (etc / "network").mkdir(exist_ok=True)
    # As the PVE installer writes it, but without its `gateway` line: no lab host may route off this machine.
    interfaces = DEBIAN_INTERFACES if name in DEBIAN_HOSTS else INSTALLER_INTERFACES
    (etc / "network" / "interfaces").write_text(interfaces.format(address=f"{mgmt_addr(name)}/{MGMT_NET.split('/')[1]}"))
    # Hosts have no route out: pip installs from the lab's wheelhouse, as a node with a local mirror would.
    (etc / "pip.conf").write_text(f"[global]\nno-index = true\nfind-links = {paths.wheels}\n")
    (etc / "pve").mkdir(exist_ok=True)
    # Debian's corosync package ships a sample /etc/corosync/corosync.conf; a fresh PVE node has
    # none (pvecm decides "in a cluster?" from it), so hide it with an overlay whiteout.
    wo = etc / "corosync" / "corosync.conf"
    if Path("/etc/corosync/corosync.conf").exists() and not wo.exists():
        wo.parent.mkdir(exist_ok=True)
        os.mknod(wo, 0o600 | stat.S_IFCHR, os.makedev(0, 0))
    sshd = etc / "ssh"
    sshd.mkdir(exist_ok=True)
    for kind in ("ed25519", "rsa"):
        key = sshd / f"ssh_host_{kind}_key"
        shutil.copyfile(paths.host_key(name, kind), key)
        os.chmod(key, 0o600)
        shutil.copyfile(f"{paths.host_key(name, kind)}.pub", f"{key}.pub")
    (sshd / "sshd_config").write_text(SSHD_CONFIG.format(
        name=name, port=ssh_port(name), mgmt=mgmt_addr(name), authorized_keys=paths.authorized_keys))
    (etc / "lab-host.json").write_text(host_json(paths, name, hosts))
    if name not in DEBIAN_HOSTS:
        release.write(release.record_under(hd / "varlib.upper"), lab_major(paths))
        # What pve-cluster does when it starts on a PVE node (Setup.pm setup_rootsshconfig): root gets an RSA key.
        (hd / "root" / ".ssh").mkdir(mode=0o700, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", f"root@{name}", "-f", str(hd / "root" / ".ssh" / "id_rsa")])
    (hd / ".prepared").touch()  # last: a host dir without it was cut short and is prepared again


def wait_port(addr: str, port: int, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((addr, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def pve_mounts(paths: Paths, name: str) -> str:
    """/etc/pve as pve-cluster mounts it at boot (a separated node keeps its own database), and the PVE shims."""
    return f"mount --bind {paths.pve_source(name)} /etc/pve\nmount --bind {paths.bin} /usr/local/sbin"


def start_host(paths: Paths, name: str, hosts: tuple[str, ...]) -> int:
    if name in DEBIAN_HOSTS:  # a plain Debian machine: no /etc/pve, no PVE commands, no OSD disk
        mounts, disk_mount = f"mount --bind {paths.bin_debian} /usr/local/sbin", ""
    else:
        mounts = pve_mounts(paths, name)
        disk_mount = f"touch $D/sdb\nmount --bind {ensure_disk(paths, name)} $D/sdb"
    if not (paths.host(name) / ".prepared").exists():
        prepare_host_dirs(paths, name, hosts)
    ensure_host_net(name)
    paths.logs.mkdir(parents=True, exist_ok=True)
    script = HOST_SCRIPT.format(hdir=paths.host(name), name=name, pve_mounts=mounts, disk_mount=disk_mount)
    logf = open(paths.logs / f"{name}-sshd.log", "ab")
    p = subprocess.Popen(["ip", "netns", "exec", netns(name), "unshare", "--mount", "--uts", "--ipc",
                          "--propagation", "private", "--", "bash", "-c", script],
                         stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                         start_new_session=True, close_fds=True)
    logf.close()
    paths.sshd_pidfile(name).write_text(f"{p.pid}\n")
    return p.pid


def host_is_up(paths: Paths, name: str) -> bool:
    pid = sshd_pid(paths, name)
    if not pid or not netns_exists(name):
        return False
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return comm == "sshd"
