"""Cluster-wide root SSH as PVE sets it up: pve-cluster src/PVE/Cluster/Setup.pm (setup_sshd_config,
setup_rootsshconfig, setup_ssh_keys, ssh_merge_keys, ssh_unmerge_known_hosts, ssh_create_node_known_hosts,
ssh_merge_known_hosts, updatecerts_and_ssh), run for real inside a lab host.

/etc/pve is one directory shared by every lab host, so /etc/pve/priv/authorized_keys and known_hosts are the
cluster's files, as pmxcfs makes them on PVE. The paths are module globals so unit tests can point them at a
temporary directory.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import subprocess
from pathlib import Path

from . import pvelib as L

PVE = L.PVE
SSH_HOST_RSA_ID = Path("/etc/ssh/ssh_host_rsa_key.pub")
# The lab's hosts have had only an ed25519 host key (lab/hosts.py writes ssh_host_ed25519_key and sshd's
# HostKey line for it). PVE parses only the RSA key (`m/^(ssh-rsa\s\S+)(\s.*)?$/m`); without one, PVE's
# Setup.pm dies ("can't parse ..."). The lab falls back to the ed25519 key so that members can still pin
# each other's real host key; with an RSA host key in the host (and a HostKey line for it), the RSA one is used.
SSH_HOST_ED25519_ID = Path("/etc/ssh/ssh_host_ed25519_key.pub")
SSH_SYSTEM_KNOWN_HOSTS = Path("/etc/ssh/ssh_known_hosts")
SSH_SYSTEM_SERVER_CONFIG = Path("/etc/ssh/sshd_config")
SSH_ROOT_RSA_KEY_PRIVATE = Path("/root/.ssh/id_rsa")
SSH_ROOT_RSA_KEY_PUBLIC = Path("/root/.ssh/id_rsa.pub")
SSH_ROOT_AUTHORIZED_KEYS = Path("/root/.ssh/authorized_keys")
SSH_ROOT_CLIENT_CONFIG = Path("/root/.ssh/config")


def auth_dir() -> Path:
    return PVE / "priv"


def cluster_known_hosts() -> Path:
    return auth_dir() / "known_hosts"


def cluster_authorized_keys() -> Path:
    return auth_dir() / "authorized_keys"


def backup_authorized_keys() -> Path:
    return SSH_ROOT_AUTHORIZED_KEYS.with_name(SSH_ROOT_AUTHORIZED_KEYS.name + ".org")


def _get(path: Path) -> str:
    return path.read_text()


def _set(path: Path, data: str, mode: int | None = None) -> None:
    # PVE::Tools::file_set_contents: a temp file renamed over the target (0644 unless told otherwise)
    L.write_file_atomic(path, data, 0o644 if mode is None else mode)


def _isfile(path: Path) -> bool:  # perl's -f follows symlinks
    return path.is_file()


# ---------------------------------------------------------------- Setup.pm:141 setup_sshd_config
def setup_sshd_config() -> None:
    conf = _get(SSH_SYSTEM_SERVER_CONFIG)
    if re.search(r"^PermitRootLogin\s+yes\s*$", conf, re.M):
        return
    conf, n = re.subn(r"^#?PermitRootLogin.*$", "PermitRootLogin yes", conf, count=1, flags=re.M)
    if not n:
        conf = conf.rstrip("\n") + "\nPermitRootLogin yes\n"
    _set(SSH_SYSTEM_SERVER_CONFIG, conf)
    # The lab's sshd is a record-only unit for systemctl (it is the host's long-lived process); its config
    # allows no password anyway, so `prohibit-password` and `yes` admit the same logins.
    L.run(["systemctl", "reload-or-restart", "sshd"])


# ---------------------------------------------------------------- Setup.pm:158 setup_rootsshconfig
def setup_rootsshconfig() -> None:
    if not _isfile(SSH_ROOT_RSA_KEY_PUBLIC):
        SSH_ROOT_RSA_KEY_PRIVATE.parent.mkdir(exist_ok=True)
        # system("echo|ssh-keygen -t rsa -N '' -b 4096 -f ${ssh_root_rsa_key_private}")
        subprocess.run(["ssh-keygen", "-t", "rsa", "-N", "", "-b", "4096", "-f", str(SSH_ROOT_RSA_KEY_PRIVATE)],
                       input="\n", text=True)
    if not _isfile(SSH_ROOT_CLIENT_CONFIG):
        SSH_ROOT_CLIENT_CONFIG.parent.mkdir(exist_ok=True)
        try:
            fd = os.open(SSH_ROOT_CLIENT_CONFIG, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o640)
        except OSError:
            return
        with os.fdopen(fd, "w") as fh:
            fh.write("Ciphers aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,"
                     "chacha20-poly1305@openssh.com\n")


# ---------------------------------------------------------------- Setup.pm:179 setup_ssh_keys
def setup_ssh_keys() -> None:
    auth_dir().mkdir(exist_ok=True)
    import_ok = False
    shared = cluster_authorized_keys()
    if not _isfile(shared):
        old = _get(SSH_ROOT_AUTHORIZED_KEYS) if _isfile(SSH_ROOT_AUTHORIZED_KEYS) else None
        try:
            fd = os.open(shared, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o400)
        except OSError:
            fd = None
        if fd is not None:
            with os.fdopen(fd, "w") as fh:
                if old:
                    fh.write(old)
            import_ok = True
    if not _isfile(shared):
        L.warn(f"can't create shared ssh key database '{shared}'")
    root_keys = SSH_ROOT_AUTHORIZED_KEYS
    if _isfile(root_keys) and not root_keys.is_symlink():
        try:
            root_keys.rename(backup_authorized_keys())
        except OSError as e:
            L.warn(f"rename {root_keys} failed - {e.strerror}")
    if not root_keys.is_symlink():
        try:
            root_keys.parent.mkdir(exist_ok=True)
            root_keys.symlink_to(shared)
        except OSError:
            pass
    if not root_keys.is_symlink():
        L.warn(f"can't create symlink for ssh keys '{root_keys}' -> '{shared}'")
    elif import_ok:
        backup_authorized_keys().unlink(missing_ok=True)


# ---------------------------------------------------------------- Setup.pm:98 ssh_merge_keys
def ssh_merge_keys() -> None:
    shared = cluster_authorized_keys()
    data = _get(shared).rstrip("\n") if _isfile(shared) else ""
    found_backup = False
    if _isfile(backup_authorized_keys()):
        data = (data + "\n" + _get(backup_authorized_keys())).rstrip("\n")
        found_backup = True
    if _isfile(SSH_ROOT_RSA_KEY_PUBLIC):  # always add ourself
        data += "\n" + _get(SSH_ROOT_RSA_KEY_PUBLIC).rstrip("\n") + "\n"
    seen, out = set(), ""
    lines = data.split("\n")
    while lines and lines[-1] == "":  # perl's split drops trailing empty fields
        lines.pop()
    for line in lines:
        m = re.search(r"(^|\s)ssh-(rsa|dsa)\s+(\S+)\s+\S+$", line)
        if not line.startswith("#") and m:
            if m.group(3) in seen:
                continue
            seen.add(m.group(3))
        out += line + "\n"
    _set(shared, out, 0o600)
    if found_backup and SSH_ROOT_AUTHORIZED_KEYS.is_symlink():
        backup_authorized_keys().unlink(missing_ok=True)


# ---------------------------------------------------------------- Setup.pm:220 ssh_unmerge_known_hosts
def ssh_unmerge_known_hosts() -> None:
    if not SSH_SYSTEM_KNOWN_HOSTS.is_symlink():
        return
    old = _get(cluster_known_hosts()) if _isfile(cluster_known_hosts()) else ""
    SSH_SYSTEM_KNOWN_HOSTS.unlink()  # file_set_contents renames over the link: a regular file afterwards
    _set(SSH_SYSTEM_KNOWN_HOSTS, old)


def host_key() -> tuple[str, str]:
    """(key type, "TYPE BASE64") of this host: the RSA host key as PVE reads it, else (lab) the ed25519 one."""
    path, typ = SSH_HOST_RSA_ID, "ssh-rsa"
    if not path.exists():
        path, typ = SSH_HOST_ED25519_ID, "ssh-ed25519"  # lab fallback, see SSH_HOST_ED25519_ID
    text = _get(path)
    m = re.search(rf"^({re.escape(typ)}\s\S+)(\s.*)?$", text, re.M)
    if not m:
        raise L.PVEError(f"can't parse {path}", 255)
    return typ, m.group(1)


# ---------------------------------------------------------------- Setup.pm:230 ssh_create_node_known_hosts
def ssh_create_node_known_hosts(nodename: str) -> None:
    _, hostkey = host_key()
    _set(PVE / "nodes" / nodename / "ssh_known_hosts", f"{nodename} {hostkey}")


# ---------------------------------------------------------------- Setup.pm:244 ssh_merge_known_hosts
def _hashed_is(salt_b64: str, digest: str, name: str) -> bool:
    mac = hmac.new(base64.b64decode(salt_b64), name.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode() == digest


def ssh_merge_known_hosts(nodename: str, ip_address: str, create_link: bool) -> None:
    if not nodename:
        raise L.PVEError("no node name specified", 255)
    if not ip_address:
        raise L.PVEError("no ip address specified", 255)
    nodename, ip_address = nodename.lower(), ip_address.lower()
    auth_dir().mkdir(exist_ok=True)
    shared = cluster_known_hosts()
    if not _isfile(shared):
        try:
            os.close(os.open(shared, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
        except OSError:
            pass
    old = _get(shared)
    new = ""
    if not SSH_SYSTEM_KNOWN_HOSTS.is_symlink() and _isfile(SSH_SYSTEM_KNOWN_HOSTS):
        new = _get(SSH_SYSTEM_KNOWN_HOSTS)
    keytype, hostkey = host_key()
    state = {"data": "", "nodename": False, "ip": False}
    seen = set()
    line_re = re.compile(rf"^(\S+)\s({re.escape(keytype)}\s\S+)(\s.*)?$")

    def merge_line(line: str, keep_all: bool) -> None:
        if re.match(r"^\s*$", line) or line.startswith("#"):
            return
        m = line_re.match(line.rstrip("\n"))
        if not m:
            if keep_all:
                state["data"] += line
            return
        key, rsakey = m.group(1), m.group(2)
        if key in seen:
            return
        seen.add(key)
        hashed = re.search(r"\|1\|([^|\s]+)\|([^|\s]+)$", key)
        if hashed:
            for name, flag in ((nodename, "nodename"), (ip_address, "ip")):
                if _hashed_is(hashed.group(1), hashed.group(2), name):
                    if rsakey == hostkey:
                        state[flag] = True
                        state["data"] += line
                    return
        else:
            key = key.lower()
            if key == ip_address:
                state["ip"] = state["ip"] or rsakey == hostkey
            elif key == nodename:
                state["nodename"] = state["nodename"] or rsakey == hostkey
        state["data"] += line

    for text, keep_all in ((old, True), (new, False)):
        for line in text.splitlines():
            merge_line(line + "\n", keep_all)
    data = state["data"]
    if not state["nodename"]:
        data += f"{nodename} {hostkey}\n"
    if not state["ip"]:
        data += f"{ip_address} {hostkey}\n"
    _set(shared, data)
    if not create_link:
        return
    SSH_SYSTEM_KNOWN_HOSTS.unlink(missing_ok=True)
    try:
        SSH_SYSTEM_KNOWN_HOSTS.symlink_to(shared)
    except OSError:
        pass
    if not SSH_SYSTEM_KNOWN_HOSTS.is_symlink():
        L.warn(f"can't create symlink for ssh known hosts '{SSH_SYSTEM_KNOWN_HOSTS}' -> '{shared}'")


# ---------------------------------------------------------------- Setup.pm:827 updatecerts_and_ssh
def updatecerts_and_ssh(force_new_cert: bool = False, silent: bool = False, unmerge_ssh: bool = False) -> None:
    def p(msg):
        if not silent:
            print(msg, flush=True)

    if L.quorate() is False:  # check_cfs_quorum(1); a node outside a cluster is quorate on PVE
        if silent:
            return
        raise L.PVEError("no quorum - unable to update files", 255)
    setup_ssh_keys()
    nodename = L.nodename()
    p("(re)generate node files")
    if force_new_cert:
        p("generate new node certificate")
    # gen_pve_node_files: the lab's node certificates are made by `lab up` (their fingerprints are in lab.json)
    p("merge authorized SSH keys")
    ssh_merge_keys()
    if unmerge_ssh:
        p("unmerge SSH known hosts")
        ssh_unmerge_known_hosts()
    ssh_create_node_known_hosts(nodename)


def generate_local_files() -> None:
    """Setup.pm generate_local_files (the vzdump.cron symlink is not part of the lab)."""
    setup_rootsshconfig()
