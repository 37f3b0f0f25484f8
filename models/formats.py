"""One home for the formats of what the stack hands PVE and the proxmoxve plugin: PVE's named formats (pve-common
PVE/JSONSchema.pm, as ../shared/pve-api names them per parameter) and, where the released plugin (bpg v0.111.1)
is stricter, its patterns. Each checker returns None, or the rule broken, saying whose rule it is."""
from __future__ import annotations

import ipaddress
import re
import urllib.parse
from typing import Callable

Check = Callable[[str], "str | None"]

# pve-configid: HA group, rule and backup job IDs.
PVE_CONFIGID = re.compile(r"[a-z][a-z0-9_-]+", re.I)
# pve-storage-id (JSONSchema.pm parse_id): storage IDs, and so the RBD pools this program adds as storages.
PVE_STORAGE_ID = re.compile(r"[a-z][a-z0-9\-_.]*[a-z0-9]", re.I)
# pve-node (pve_verify_node_name): node and cluster names.
PVE_NODE = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?")
# pve-userid (verify_username): USER@REALM, 3 to 64 characters.
PVE_REALM = r"[A-Za-z][A-Za-z0-9.\-_]+"
PVE_USERID = re.compile(rf"[^\s:/]+@{PVE_REALM}")
# email-or-username (backup jobs' mailto).
_EMAIL_USER = r"[\w+\-~]+(\.[\w+\-~]+)*"
PVE_EMAIL_OR_USERNAME = re.compile(rf"{_EMAIL_USER}(@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*)?")
PVE_DNS_NAME = re.compile(r"(([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)\.)*([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)")
# The released plugin's patterns (bpg fwprovider/cluster/ha: group and rule names; Go regexp, whole string).
BPG_HA_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]")
# Proxmox Backup Server's SAFE_ID (datastore names, namespace components).
PBS_SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._\-]*")
# A kernel module name: PVE's watchdog-mux runs `modprobe -q $WATCHDOG_MODULE` through a shell.
KERNEL_MODULE = re.compile(r"[A-Za-z0-9_-]+")
# An SSH public key as known_hosts and authorized_keys hold it.
SSH_PUBLIC_KEY = re.compile(r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+={0,3}")


def _full(pattern: re.Pattern, value: str) -> bool:
    return pattern.fullmatch(value) is not None


def configid(value: str) -> str | None:
    if not _full(PVE_CONFIGID, value):
        return "must start with a letter and hold 2 or more letters, digits, '_' or '-' (PVE's pve-configid)"
    return None


def ha_name(value: str) -> str | None:
    """HA group and rule names: PVE's pve-configid, and the plugin's own pattern on top."""
    if (problem := configid(value)):
        return problem
    if not _full(BPG_HA_NAME, value):
        return ("must end with a letter or digit: the proxmoxve plugin refuses it (bpg's HA name pattern), "
                "although PVE's pve-configid would take it")
    return None


def storage_id(value: str) -> str | None:
    if not _full(PVE_STORAGE_ID, value):
        return ("must start with a letter, end with a letter or digit, hold 2 or more letters, digits, '-', '_' or '.' "
                "(PVE's pve-storage-id)")
    return None


def node_name(value: str) -> str | None:
    if len(value) > 63 or not _full(PVE_NODE, value):
        return ("must be a hostname label: letters, digits and '-', neither first nor last (PVE's pve-node), "
                "at most 63 characters")
    return None


def userid(value: str) -> str | None:
    if not 3 <= len(value) <= 64 or not _full(PVE_USERID, value):
        return ("must be USER@REALM: no spaces, ':' or '/' in USER, REALM a letter then letters, digits, '.', '-', '_'; "
                "3-64 characters (PVE's pve-userid)")
    return None


def email_or_username(value: str) -> str | None:
    if not _full(PVE_EMAIL_OR_USERNAME, value):
        return f"{value!r} is neither an email address nor a user name (PVE's email-or-username)"
    return None


def storage_server(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    if not _full(PVE_DNS_NAME, value):
        return "must be an IP address or a DNS name (PVE's pve-storage-server)"
    return None


def pbs_safe_id(value: str) -> str | None:
    if not _full(PBS_SAFE_ID, value):
        return "must hold only letters, digits, '_', '.', '-' and not start with '.' or '-' (Proxmox Backup Server's SAFE_ID)"
    return None


def pbs_namespace(value: str) -> str | None:
    parts = value.split("/")
    if len(parts) > 7 or any(pbs_safe_id(p) for p in parts):
        return ("must be up to 7 '/'-separated parts of letters, digits, '_', '.', '-' "
                "(Proxmox Backup Server's namespace format)")
    return None


def kernel_module(value: str) -> str | None:
    if not _full(KERNEL_MODULE, value):
        return "must be a kernel module name: letters, digits, '_' and '-' (watchdog-mux loads it with `modprobe -q NAME`)"
    return None


def ssh_public_key(value: str) -> str | None:
    if not _full(SSH_PUBLIC_KEY, value):
        return "must be an SSH public key as 'ssh-ed25519 AAAA...' (type and base64, as ssh-keyscan prints it without the host)"
    return None


def absolute_path(value: str) -> str | None:
    if not re.fullmatch(r"/[A-Za-z0-9._/-]*", value) or "/../" in f"{value}/":
        return "must be an absolute path of letters, digits, '.', '_', '-' and '/'"
    return None


def http_url(value: str) -> str | None:
    """An http(s) base URL the steps append API paths to (Grafana's); its credentials are secrets, never in it."""
    parts = urllib.parse.urlsplit(value)
    try:
        parts.port
    except ValueError:
        return "must be an http:// or https:// URL with a valid port"
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"[\s\"'\\<>`]", value):
        return "must be an http:// or https:// URL, e.g. https://grafana.example.com:3000"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials (USER:PASSWORD@): the token is a secret of its own"
    if parts.query or parts.fragment:
        return "must have no ?query or #fragment: API paths are appended to it"
    return None


def validator(check: Check):
    """A pydantic field validator body from a checker (None passes through)."""
    def validate(cls, value):
        if value is not None and (problem := check(value)):
            raise ValueError(problem)
        return value
    return validate
