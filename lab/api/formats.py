"""Checkers of PVE's named string formats (`format: 'pve-node'` etc. in the API schema).

PVE's published schema names a format but does not define it: each is a Perl function registered with
PVE::JSONSchema::register_format in the package that owns it. These are those functions, read against
their source (messages verbatim, without the trailing newline):
pve-common src/PVE/JSONSchema.pm, PVE/ParseUtils.pm, PVE/Tools.pm; pve-storage src/PVE/Storage/Plugin.pm;
pve-access-control src/PVE/AccessControl.pm, src/PVE/Auth/Plugin.pm; pve-ha-manager src/PVE/HA/Tools.pm
(and PVE/HA/Groups.pm for PVE 8's pve-ha-group-node); pve-cluster src/PVE/DataCenterConfig.pm;
pve-manager PVE/API2/Backup.pm. `pve-calendar-event` is in lab/api/schema.py.

Keys are base names: PVE::JSONSchema::check_format applies NAME to every item of a `NAME-list` value
(split_list) and skips an empty `NAME-opt` value; lab/api/schema.py does the same.
A checker raises ValueError(PVE's message).
"""
from __future__ import annotations

import ipaddress
import re

from .auth import ALL_PRIVS

CONFIGID_RE = re.compile(r"[a-z][a-z0-9_-]+", re.I)
NODE_RE = re.compile(r"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)")
REALM_RE = r"[A-Za-z][A-Za-z0-9.\-_]+"
USER_RE = r"[^\s:/]+"
USERID_RE = re.compile(rf"({USER_RE})@({REALM_RE})")
TOKENID_RE = re.compile(rf"(({USER_RE})@({REALM_RE}))!({REALM_RE})")
GROUPID_RE = re.compile(r"[A-Za-z0-9.\-_]+")
EMAIL_USER_RE = r"[\w+\-~]+(\.[\w+\-~]+)*"
EMAIL_RE = re.compile(rf"{EMAIL_USER_RE}@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*")
HA_NODE_RE = re.compile(r"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)(:\d+)?")
DNS_LABEL = r"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)"
DNS_NAME_RE = re.compile(rf"({DNS_LABEL}\.)*{DNS_LABEL}")
# PVE::Storage::Plugin::valid_content_types('dir') (dir has every type) plus 'import'
STORAGE_CONTENT = ("images", "rootdir", "vztmpl", "iso", "backup", "snippets", "none", "import")


def _full(rx, value) -> bool:
    return (rx.fullmatch(value) if isinstance(rx, re.Pattern) else re.fullmatch(rx, value)) is not None


def f_configid(v):
    if not _full(CONFIGID_RE, v):
        raise ValueError(f"invalid configuration ID '{v}'")


def f_node(v):
    if not _full(NODE_RE, v):
        raise ValueError("value does not look like a valid node name")


def _parse_id(v, what):
    if len(v) < 2:
        raise ValueError(f"{what} ID '{v}' cannot be shorter than 2 characters")
    if not _full(r"(?i)[a-z][a-z0-9\-_.]*[a-z0-9]", v):
        raise ValueError(f"{what} ID '{v}' contains illegal characters")


def f_storage_id(v):
    _parse_id(v, "storage")


def f_vmid(v):
    if not _full(r"[1-9][0-9]{2,8}", v):
        raise ValueError("value does not look like a valid VM ID")


def f_ha_resource_or_vm_id(v):
    if not _full(r"[a-z]+:\S+|\d+", v):
        raise ValueError("value does not look like a valid ha resource id")


def f_ha_resource_id(v):
    if not _full(r"[a-z]+:\S+", v):
        raise ValueError("value does not look like a valid ha resource id")


def f_ha_group_node(v):  # PVE 8: pve-ha-manager PVE/HA/Groups.pm
    if not _full(HA_NODE_RE, v):
        raise ValueError("value does not look like a valid ha group node")


def f_ha_node(v):  # PVE 9: src/PVE/HA/Tools.pm
    if not _full(HA_NODE_RE, v):
        raise ValueError("value does not look like a valid ha node")


def f_userid(v):
    if len(v) < 3:
        raise ValueError(f"user name '{v}' is too short")
    if len(v) > 64:
        raise ValueError(f"user name '{v}' is too long ({len(v)} > 64)")
    if not _full(USERID_RE, v):
        raise ValueError(f"value '{v}' does not look like a valid user name")


def f_tokenid(v):
    if not _full(TOKENID_RE, v):
        raise ValueError(f"value '{v}' does not look like a valid token ID")


def f_groupid(v):
    if not _full(GROUPID_RE, v):
        raise ValueError(f"group name '{v}' contains invalid characters")


def f_roleid(v):
    if not _full(r"[A-Za-z0-9.\-_]+", v):
        raise ValueError(f"role name '{v}' contains invalid characters")


def f_realm(v):
    if not _full(REALM_RE, v):
        raise ValueError("value does not look like a valid realm")


def f_priv(v):
    if v not in ALL_PRIVS:
        raise ValueError(f"invalid privilege '{v}'")


def f_email(v):
    if not _full(EMAIL_RE, v):
        raise ValueError("value does not look like a valid email address")


def f_email_or_username(v):
    if not (_full(EMAIL_RE, v) or _full(EMAIL_USER_RE, v)):
        raise ValueError("value does not look like a valid email address or user name")


def _is_ip(v) -> bool:
    try:
        ipaddress.ip_address(v)
        return True
    except ValueError:
        return False


def f_storage_server(v):
    if not (_is_ip(v) or _full(DNS_NAME_RE, v)):
        raise ValueError("value does not look like a valid server name or IP address")


def f_storage_path(v):
    if not re.match(r"/[^;()]+", v):
        raise ValueError("value does not look like a valid absolute path")


def f_storage_vgname(v):
    if not _full(r"(?i)[a-z0-9][a-z0-9\-_.]*[a-z0-9]", v):
        raise ValueError(f"lvm name '{v}' contains illegal characters")


def _is_ipv6(v) -> bool:
    try:
        return ipaddress.ip_address(v).version == 6
    except ValueError:
        return False


def f_storage_portal_dns(v):
    """PVE::Tools::parse_host_and_port: IPv4 or host with optional :port, [IPv6|IPv4|host] with optional
    :port, IPv6 with optional .port."""
    bracket = re.fullmatch(r"\[([^\]]+)\](?::\d+)?", v)
    ipv6_dot = re.fullmatch(r"(.+?)(?:\.\d+)?", v)
    ok = (_full(r"[A-Za-z0-9\-.]+(?::\d+)?", v)
          or (bracket is not None and (_is_ipv6(bracket.group(1)) or _full(r"[A-Za-z0-9\-.]+", bracket.group(1))))
          or _is_ipv6(v) or (ipv6_dot is not None and _is_ipv6(v.rsplit(".", 1)[0])))
    if not ok:
        raise ValueError("value does not look like a valid portal address")


def f_storage_content(v):
    if v not in STORAGE_CONTENT:
        raise ValueError(f"invalid content type '{v}'")


def f_storage_options(v):
    if not _full(r"\S+", v):
        raise ValueError(f"invalid options '{v}'")


def f_volume_id(v):
    if not _full(r"(?is)[a-z][a-z0-9\-_.]*[a-z0-9]:(.+)", v):
        raise ValueError(f"unable to parse volume ID '{v}'")


def f_dir_override(v):
    m = re.fullmatch(r"([a-z]+)=([^.]*(?:\.?[^.]+)+)", v)
    if m and m.group(1) in STORAGE_CONTENT and len(m.group(2)) < 1023 \
            and not any(len(part) >= 255 for part in m.group(2).split("/")):
        return
    raise ValueError(f"invalid override '{v}'")


def f_cidr(v):
    try:
        net = ipaddress.ip_network(v, strict=False)
    except ValueError:
        net = None
    if "/" not in v or net is None or (net.version == 4 and net.prefixlen <= 7):
        raise ValueError("value does not look like a valid CIDR network")


def f_mac_prefix(v):
    if not _full(r"(?i)[a-f0-9][02468ace](?::[a-f0-9]{2}){0,2}(?::[a-f0-9]?)?", v):
        raise ValueError("value is not a valid unicast MAC address prefix")


def f_day_of_week(v):
    if not _full(r"mon|tue|wed|thu|fri|sat|sun", v):
        raise ValueError(f"invalid day '{v}'")


FORMATS = {
    "pve-configid": f_configid,
    "pve-node": f_node,
    "pve-storage-id": f_storage_id,
    "pve-vmid": f_vmid,
    "pve-ha-resource-or-vm-id": f_ha_resource_or_vm_id,
    "pve-ha-resource-id": f_ha_resource_id,
    "pve-ha-group-node": f_ha_group_node,
    "pve-ha-node": f_ha_node,
    "pve-userid": f_userid,
    "pve-tokenid": f_tokenid,
    "pve-groupid": f_groupid,
    "pve-roleid": f_roleid,
    "pve-realm": f_realm,
    "pve-priv": f_priv,
    "email": f_email,
    "email-or-username": f_email_or_username,
    "pve-storage-content": f_storage_content,
    "pve-storage-server": f_storage_server,
    "pve-storage-path": f_storage_path,
    "pve-storage-vgname": f_storage_vgname,
    "pve-storage-portal-dns": f_storage_portal_dns,
    "pve-storage-options": f_storage_options,
    "pve-volume-id": f_volume_id,
    "pve-dir-override": f_dir_override,
    "CIDR": f_cidr,
    "mac-prefix": f_mac_prefix,
    "pve-day-of-week": f_day_of_week,
}

# Named property-string formats (register_format NAME => {key => schema}); the API schema gives only the
# name and a typetext. From pve-storage Plugin.pm ($prune_backups_format) and pve-guest-common
# PVE/VZDump/Common.pm (backup-fleecing, backup-performance).
PRUNE_BACKUPS = {k: {"type": "integer", "minimum": 1, "optional": 1}
                 for k in ("keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly")}
PRUNE_BACKUPS["keep-all"] = {"type": "boolean", "optional": 1}
BACKUP_FLEECING = {"enabled": {"type": "boolean", "optional": 1, "default_key": 1, "default": 0},
                   "storage": {"type": "string", "format": "pve-storage-id", "optional": 1}}
BACKUP_PERFORMANCE = {"max-workers": {"type": "integer", "minimum": 1, "maximum": 256, "optional": 1},
                      "pbs-entries-max": {"type": "integer", "minimum": 1, "optional": 1}}
PROPERTY_STRING_FORMATS = {"prune-backups": PRUNE_BACKUPS, "backup-fleecing": BACKUP_FLEECING,
                           "backup-performance": BACKUP_PERFORMANCE}

# Named formats a served parameter uses that the lab accepts unchecked, with the reason.
UNCHECKED_FORMATS: dict[str, str] = {}
