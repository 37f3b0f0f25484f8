"""Parameter schema of every endpoint the lab's PVE API emulation serves, and PVE-style validation.

Written by hand from the PVE API (pve-manager, pve-ha-manager, pve-storage, pve-access-control,
pve-guest-common, pve-cluster JSON schemas). Only the endpoints in ENDPOINTS exist; a parameter that
is not listed fails with PVE's "property is not defined in schema and the schema does not allow
additional properties". Error texts follow PVE::JSONSchema (the message goes into
`{"errors": {param: message}}` of a 400 "Parameter verification failed.").
"""
from __future__ import annotations

import ipaddress
import re

# ---------------------------------------------------------------- errors


class ParamError(Exception):
    """400 Parameter verification failed. errors: {param: message}"""

    def __init__(self, errors: dict):
        super().__init__("Parameter verification failed.")
        self.errors = errors


# ---------------------------------------------------------------- basic helpers
def split_list(value: str) -> list[str]:
    """PVE::Tools::split_list: separators are , ; whitespace and NUL."""
    return [v for v in re.split(r"[,;\s\0]+", value or "") if v]


def parse_boolean(value) -> int | None:
    s = str(value).lower()
    if s in ("1", "on", "yes", "true"):
        return 1
    if s in ("0", "off", "no", "false"):
        return 0
    return None


# ---------------------------------------------------------------- calendar events (proxmox-time's CalendarEvent)
# PVE::CalendarEvent (pve-common) trims the event, refuses an empty one, then hands it to proxmox-time's
# parser (proxmox-rs proxmox-time/src/calendar_event.rs): `[WEEKDAYS] [[Y-]M-D] [[H:]M[:S]] [UTC]` or a
# keyword, with that parser's corners (wrapping weekday ranges, lower-case keywords only, an hour >= 24
# read as the minute: `24:00` is minute 24, second 0) and its error texts.
CALENDAR_KEYWORDS = {"minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually", "quarterly",
                     "semiannually", "semi-annually"}
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
            "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
_CAL_ALPHA = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class _CalMiss(Exception):
    """An optional part of the grammar does not match at this position (the parser backtracks)."""


def _cal_error(rest: str, kind: str) -> ValueError:
    return ValueError(f"unable to parse calendar event at '{rest}' - {kind}")


def _cal_num(t: str, pos: int, limit: int) -> tuple[int, int]:
    """Digits at pos whose value is below limit -> (value, next position)."""
    end = pos
    while end < len(t) and "0" <= t[end] <= "9":
        end += 1
    if end == pos or int(t[pos:end]) >= limit:
        raise _CalMiss()
    return int(t[pos:end]), end


def _cal_component(t: str, pos: int, limit: int) -> int:
    """One of N, N/R, A..B, A..B/R."""
    start, pos = _cal_num(t, pos, limit)
    if t.startswith("..", pos):
        try:
            end, after = _cal_num(t, pos + 2, limit)
        except _CalMiss:
            return pos
        if start > end:
            raise _CalMiss()  # "range start is bigger than end"
        pos = after
    if t.startswith("/", pos):
        pos = _cal_num(t, pos + 1, limit)[1]
    return pos


def _cal_list(t: str, pos: int, limit: int) -> int:
    """`*`, `*/R` or components separated by `,` (a `,` not followed by one is left unparsed)."""
    if t.startswith("*", pos):
        if t.startswith("/", pos + 1):
            rep, after = _cal_num(t, pos + 2, limit)
            if rep:
                return after
        return pos + 1
    pos = _cal_component(t, pos, limit)
    while t.startswith(",", pos):
        try:
            pos = _cal_component(t, pos + 1, limit)
        except _CalMiss:
            break
    return pos


def _cal_date(t: str, pos: int) -> int:
    """YEAR-MONTH-DAY, else MONTH-DAY (limits are exclusive: year < 2200, month < 13, day < 32)."""
    for limits in ((2200, 13, 32), (13, 32)):
        try:
            p = _cal_list(t, pos, limits[0])
            for limit in limits[1:]:
                if not t.startswith("-", p):
                    raise _CalMiss()
                p = _cal_list(t, p + 1, limit)
            return p
        except _CalMiss:
            continue
    raise _CalMiss()


def _cal_time(t: str, pos: int) -> int:
    """[HOUR:]MINUTE[:SECOND]; an HOUR that does not parse (e.g. 24) makes the first number the minute."""
    try:
        p = _cal_list(t, pos, 24)
        if t.startswith(":", p):
            pos = p + 1
    except _CalMiss:
        pass
    pos = _cal_list(t, pos, 60)
    if t.startswith(":", pos):
        try:
            pos = _cal_list(t, pos + 1, 60)
        except _CalMiss:
            pass
    return pos


def _cal_weekday(t: str, pos: int) -> int:
    end = pos
    while end < len(t) and t[end] in _CAL_ALPHA:
        end += 1
    if t[pos:end].lower() not in WEEKDAYS:
        raise _CalMiss(t[pos:end])
    return end


def _cal_weekdays(t: str) -> int:
    """DAY or DAY..DAY (wrapping past sunday), separated by `,`; returns where they end."""
    pos = 0
    while True:
        try:
            pos = _cal_weekday(t, pos)
        except _CalMiss as miss:
            if pos == 0:
                raise _cal_error(miss.args[0], 'Context("weekday")')
            return pos - 1  # the `,` is left unparsed
        if t.startswith("..", pos):
            try:
                pos = _cal_weekday(t, pos + 2)
            except _CalMiss:
                pass
        if not t.startswith(",", pos):
            return pos
        pos += 1


def parse_calendar_event(event: str) -> None:
    """Refuse (ValueError with PVE's message) what PVE::CalendarEvent::parse_calendar_event refuses."""
    t = (event or "").strip(" \t\n\r\f\v")
    if not t:
        raise ValueError("unable to parse calendar event - event is empty")
    if t.endswith("UTC"):
        t = t[:-3].rstrip(" ")
    pos, spec = 0, False
    if t[:1] in _CAL_ALPHA:
        if t in CALENDAR_KEYWORDS:
            return
        pos, spec = _cal_weekdays(t), True
        while t[pos:pos + 1] in (" ", "\t") and pos < len(t):
            pos += 1
    try:
        pos, spec = _cal_date(t, pos), True
        while t[pos:pos + 1] in (" ", "\t") and pos < len(t):
            pos += 1
    except _CalMiss:
        pass
    try:
        pos, spec = _cal_time(t, pos), True
    except _CalMiss:
        pass
    if not spec:
        raise _cal_error(t[pos:], 'Context("date or time specification")')
    if pos < len(t):
        raise _cal_error(t[pos:], "Nom(Eof)")


# ---------------------------------------------------------------- formats
CONFIGID_RE = re.compile(r"^[a-z][a-z0-9_-]+$", re.I)
NODE_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$")
STORAGE_ID_RE = re.compile(r"^[a-z][a-z0-9\-_.]*[a-z0-9]$", re.I)
REALM_RE = r"[A-Za-z][A-Za-z0-9.\-_]+"
USER_RE = r"[^\s:/]+"
USERID_RE = re.compile(rf"^({USER_RE})@({REALM_RE})$")
TOKENID_RE = re.compile(rf"^(({USER_RE})@({REALM_RE}))!({REALM_RE})$")
TOKEN_SUBID_RE = re.compile(rf"^{REALM_RE}$")
GROUPID_RE = re.compile(r"^[A-Za-z0-9.\-_]+$")
ROLEID_RE = re.compile(r"^[A-Za-z0-9.\-_]+$")
EMAIL_RE = re.compile(r"^[\w+\-~]+(\.[\w+\-~]+)*@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*$")
HA_GROUP_NODE_RE = re.compile(r"^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)(:\d+)?$")
STORAGE_CONTENT = ("images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import", "none")


def f_configid(v):
    if not CONFIGID_RE.match(v):
        raise ValueError(f"invalid configuration ID '{v}'")


def f_node(v):
    if not NODE_RE.match(v):
        raise ValueError("value does not look like a valid node name")


def f_storage_id(v):
    if len(v) < 2:
        raise ValueError(f"storage ID '{v}' cannot be shorter than 2 characters")
    if not STORAGE_ID_RE.match(v):
        raise ValueError(f"storage ID '{v}' contains illegal characters")


def f_vmid(v):
    if not re.match(r"^[1-9][0-9]{2,8}$", v):
        raise ValueError("value does not look like a valid VM ID")


def f_ha_resource_or_vm_id(v):
    if not re.match(r"^([a-z]+:\S+|\d+)$", v):
        raise ValueError("value does not look like a valid ha resource id")


def f_ha_resource_id(v):
    if not re.match(r"^[a-z]+:\S+$", v):
        raise ValueError("value does not look like a valid ha resource id")


def f_ha_group_node(v):
    if not HA_GROUP_NODE_RE.match(v):
        raise ValueError("value does not look like a valid ha group node")


def f_ha_node(v):
    if not HA_GROUP_NODE_RE.match(v):
        raise ValueError("value does not look like a valid ha node")


def f_calendar(v):
    try:
        parse_calendar_event(v)
    except ValueError as e:
        raise ValueError(f"invalid calendar event '{v}' - {e}")


def f_userid(v):
    if len(v) < 3:
        raise ValueError(f"user name '{v}' is too short")
    if len(v) > 64:
        raise ValueError(f"user name '{v}' is too long ({len(v)} > 64)")
    if not USERID_RE.match(v):
        raise ValueError(f"value '{v}' does not look like a valid user name")


def f_tokenid(v):
    if not TOKENID_RE.match(v):
        raise ValueError(f"value '{v}' does not look like a valid token ID")


def f_groupid(v):
    if not GROUPID_RE.match(v):
        raise ValueError("group name contains invalid characters")


def f_roleid(v):
    if not ROLEID_RE.match(v):
        raise ValueError("role name contains invalid characters")


def f_email(v):
    if not EMAIL_RE.match(v):
        raise ValueError("value does not look like a valid email address")


def f_email_or_username(v):
    if not (EMAIL_RE.match(v) or USERID_RE.match(v)):
        raise ValueError("value does not look like a valid email address or user name")


def f_storage_content(v):
    if v not in STORAGE_CONTENT:
        raise ValueError(f"invalid content type '{v}'")


def f_storage_server(v):
    try:
        ipaddress.ip_address(v.strip("[]"))
        return
    except ValueError:
        pass
    if not re.match(r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)*$", v):
        raise ValueError(f"invalid address '{v}'")


def f_storage_path(v):
    if not v.startswith("/") or re.search(r"[\s,;:]", v):
        raise ValueError(f"invalid path '{v}'")


def f_cidr(v):
    try:
        ipaddress.ip_network(v, strict=False)
        if "/" not in v:
            raise ValueError
    except ValueError:
        raise ValueError(f"value does not look like a valid CIDR network")


def f_mac_prefix(v):
    if not re.match(r"^[a-f0-9][02468ace](?::[a-f0-9]{2}){0,2}:?$", v, re.I):
        raise ValueError("value does not look like a valid MAC address prefix")


def f_acl_path(v):
    if not re.match(r"^/[\w.\-/]*$", v):
        raise ValueError(f"invalid ACL path '{v}'")


def _listof(fn):
    def check(v):
        for item in split_list(v):
            fn(item)
    return check


FORMATS = {
    "pve-configid": f_configid,
    "pve-configid-list": _listof(f_configid),
    "pve-node": f_node,
    "pve-node-list": _listof(f_node),
    "pve-storage-id": f_storage_id,
    "pve-vmid": f_vmid,
    "pve-vmid-list": _listof(f_vmid),
    "pve-ha-resource-or-vm-id": f_ha_resource_or_vm_id,
    "pve-ha-resource-id": f_ha_resource_id,
    "pve-ha-resource-id-list": _listof(f_ha_resource_id),
    "pve-ha-group-node-list": _listof(f_ha_group_node),
    "pve-ha-node-list": _listof(f_ha_node),
    "pve-calendar-event": f_calendar,
    "pve-userid": f_userid,
    "pve-userid-list": _listof(f_userid),
    "pve-tokenid": f_tokenid,
    "pve-tokenid-list": _listof(f_tokenid),
    "pve-groupid": f_groupid,
    "pve-groupid-list": _listof(f_groupid),
    "pve-roleid-list": _listof(f_roleid),
    "email": f_email,
    "email-opt": f_email,
    "email-or-username-list": _listof(f_email_or_username),
    "pve-storage-content-list": _listof(f_storage_content),
    "pve-storage-server": f_storage_server,
    "pve-storage-path": f_storage_path,
    "CIDR": f_cidr,
    "mac-prefix": f_mac_prefix,
    "acl-path": f_acl_path,
}

# ---------------------------------------------------------------- property-string formats (key=value,...)
PRUNE_BACKUPS = {k: {"type": "integer", "minimum": 1, "optional": True}
                 for k in ("keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly")}
PRUNE_BACKUPS["keep-all"] = {"type": "boolean", "optional": True}
BACKUP_FLEECING = {"enabled": {"type": "boolean", "optional": True, "default_key": True},
                   "storage": {"type": "string", "format": "pve-storage-id", "optional": True}}
BACKUP_PERFORMANCE = {"max-workers": {"type": "integer", "minimum": 1, "maximum": 256, "optional": True},
                      "pbs-entries-max": {"type": "integer", "minimum": 1, "optional": True}}
BWLIMIT = {k: {"type": "number", "minimum": 0, "optional": True}
           for k in ("default", "restore", "migration", "clone", "move")}
HA_OPTIONS = {"shutdown_policy": {"type": "string", "enum": ["freeze", "failover", "conditional", "migrate"],
                                  "optional": True}}
CRS = {"ha": {"type": "string", "enum": ["basic", "static", "dynamic"], "optional": True},
       "ha-rebalance-on-start": {"type": "boolean", "optional": True},
       "ha-auto-rebalance": {"type": "boolean", "optional": True},
       "ha-auto-rebalance-threshold": {"type": "number", "optional": True},
       "ha-auto-rebalance-method": {"type": "string", "enum": ["bruteforce", "topsis"], "optional": True},
       "ha-auto-rebalance-hold-duration": {"type": "number", "optional": True},
       "ha-auto-rebalance-margin": {"type": "number", "optional": True}}
MIGRATION = {"type": {"type": "string", "enum": ["secure", "insecure"], "optional": True, "default_key": True},
             "network": {"type": "string", "format": "CIDR", "optional": True}}
NEXT_ID = {"lower": {"type": "integer", "optional": True}, "upper": {"type": "integer", "optional": True}}
NOTIFY = {"package-updates": {"type": "string", "enum": ["auto", "always", "never"], "optional": True},
          "target-package-updates": {"type": "string", "optional": True},
          "fencing": {"type": "string", "enum": ["always", "never"], "optional": True},
          "target-fencing": {"type": "string", "optional": True},
          "replication": {"type": "string", "enum": ["always", "never"], "optional": True},
          "target-replication": {"type": "string", "optional": True}}
WEBAUTHN = {"rp": {"type": "string", "optional": True}, "origin": {"type": "string", "optional": True},
            "id": {"type": "string", "optional": True}, "allow-subdomains": {"type": "boolean", "optional": True}}
U2F = {"appid": {"type": "string", "optional": True}, "origin": {"type": "string", "optional": True}}
TAG_STYLE = {"shape": {"type": "string", "enum": ["full", "circle", "dense", "none"], "optional": True},
             "color-map": {"type": "string", "optional": True},
             "ordering": {"type": "string", "enum": ["config", "alphabetical"], "optional": True},
             "case-sensitive": {"type": "boolean", "optional": True}}
USER_TAG_ACCESS = {"user-allow": {"type": "string", "enum": ["none", "list", "existing", "free"], "optional": True},
                   "user-allow-list": {"type": "string", "optional": True}}

PROPERTY_STRING_FORMATS = {
    "prune-backups": PRUNE_BACKUPS, "backup-fleecing": BACKUP_FLEECING, "backup-performance": BACKUP_PERFORMANCE,
    "bwlimit": BWLIMIT, "ha": HA_OPTIONS, "crs": CRS, "migration": MIGRATION, "replication": MIGRATION,
    "next-id": NEXT_ID, "notify": NOTIFY, "webauthn": WEBAUTHN, "u2f": U2F, "tag-style": TAG_STYLE,
    "user-tag-access": USER_TAG_ACCESS,
}


def parse_property_string(fmt: dict, value: str) -> dict:
    """PVE::JSONSchema::parse_property_string: `k=v,k=v` (a default key may omit `k=`)."""
    out = {}
    for part in value.split(","):
        if part == "":
            continue
        if "=" in part:
            k, v = part.split("=", 1)
        else:
            dk = next((k for k, s in fmt.items() if s.get("default_key")), None)
            if dk is None:
                raise ValueError("value without key, but schema does not define a default key")
            k, v = dk, part
        if k not in fmt:
            raise ValueError(f"{k}: property is not defined in schema and the schema does not allow additional properties")
        if k in out:
            raise ValueError(f"duplicate key in comma-separated list property: {k}")
        err = check_value(v, fmt[k])
        if err:
            raise ValueError(f"{k}: {err}")
        out[k] = typed(v, fmt[k])
    return out


def print_property_string(d: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in d.items())


def typed(value, spec: dict):
    """The JSON value PVE returns for a config value of this type."""
    t = spec.get("type", "string")
    if t == "boolean":
        b = parse_boolean(value)
        return 1 if value == "" else (b if b is not None else value)
    if t == "integer":
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    if t == "number":
        try:
            f = float(value)
            return int(f) if f.is_integer() and "." not in str(value) else f
        except (TypeError, ValueError):
            return value
    return value


# ---------------------------------------------------------------- value checks (PVE::JSONSchema::check_prop)
def check_value(value: str, spec: dict) -> str | None:
    """None if ok, else PVE's error message for this value."""
    t = spec.get("type", "string")
    if t == "boolean":
        if value not in ("0", "1"):
            return f"type check ('boolean') failed - got '{value}'"
        return None
    if t == "integer":
        if not re.match(r"^[+-]?\d+$", value):
            return f"type check ('integer') failed - got '{value}'"
    if t == "number":
        if not re.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", value):
            return f"type check ('number') failed - got '{value}'"
    if "enum" in spec and value not in spec["enum"]:
        return f"value '{value}' does not have a value in the enumeration '{', '.join(spec['enum'])}'"
    fmt = spec.get("format")
    if isinstance(fmt, dict):
        try:
            parse_property_string(fmt, value)
        except ValueError as e:
            return f"invalid format - {e}"
    elif fmt:
        fn = PROPERTY_STRING_FORMATS.get(fmt)
        try:
            if fn is not None:
                parse_property_string(fn, value)
            elif fmt in FORMATS:
                FORMATS[fmt](value)
        except ValueError as e:
            return f"invalid format - {e}"
    if "pattern" in spec and not re.fullmatch(spec["pattern"], value):
        return "value does not match the regex pattern"
    if "maxLength" in spec and len(value) > spec["maxLength"]:
        return f"value may only be {spec['maxLength']} characters long"
    if "minLength" in spec and len(value) < spec["minLength"]:
        return f"value must be at least {spec['minLength']} characters long"
    if t in ("integer", "number"):
        num = float(value)
        if "maximum" in spec and num > spec["maximum"]:
            return f"value must have a maximum value of {spec['maximum']}"
        if "minimum" in spec and num < spec["minimum"]:
            return f"value must have a minimum value of {spec['minimum']}"
    return None


def validate(schema: dict, params: dict) -> dict:
    """Check params (strings) against an endpoint's parameter schema. Raises ParamError."""
    errors = {}
    props = schema
    for k, v in params.items():
        spec = props.get(k)
        if spec is None:
            errors[k] = "property is not defined in schema and the schema does not allow additional properties"
            continue
        err = check_value(v, spec)
        if err:
            errors[k] = err
    for k, spec in props.items():
        if not spec.get("optional") and k not in params:
            errors.setdefault(k, "property is missing and it is not optional")
    for k, spec in props.items():
        req = spec.get("requires")
        if req and k in params and req not in params:
            errors.setdefault(req, f"missing property - '{k}' requires this property")
    if errors:
        raise ParamError(errors)
    return params


# ---------------------------------------------------------------- parameter definitions
def S(**kw):
    kw.setdefault("type", "string")
    return kw


def O(**kw):
    kw.setdefault("type", "string")
    kw["optional"] = True
    return kw


BOOL = O(type="boolean")
DIGEST = O(maxLength=64)
DELETE = O(format="pve-configid-list", maxLength=4096)
NODE = S(format="pve-node")
STORAGE_ID = S(format="pve-storage-id")
HA_SID = S(format="pve-ha-resource-or-vm-id")
HA_STATE = O(enum=["started", "stopped", "enabled", "disabled", "ignored"])
COMMENT_4096 = O(maxLength=4096)
USERID = S(format="pve-userid")
TOKEN_SUBID = S(pattern=REALM_RE)

# HA groups (pve-ha-manager PVE::HA::Groups)
HA_GROUP_PROPS = {
    "comment": COMMENT_4096,
    "nodes": S(format="pve-ha-group-node-list"),
    "nofailback": BOOL,
    "restricted": BOOL,
}
HA_GROUP_CREATE = {"group": S(format="pve-configid"), "type": O(enum=["group"]), **HA_GROUP_PROPS}
HA_GROUP_UPDATE = {"group": S(format="pve-configid"), "delete": DELETE, "digest": DIGEST,
                   **{k: dict(v, optional=True) for k, v in HA_GROUP_PROPS.items()}}

# HA resources (PVE::HA::Resources); `failback` exists from PVE 9 on
HA_RESOURCE_PROPS = {
    "comment": COMMENT_4096,
    "group": O(format="pve-configid"),
    "max_relocate": O(type="integer", minimum=0),
    "max_restart": O(type="integer", minimum=0),
    "state": HA_STATE,
}
HA_RESOURCE_PROPS_9 = {**HA_RESOURCE_PROPS, "failback": BOOL}

# HA rules (PVE 9, PVE::HA::Rules)
HA_RULE_TYPES = ["node-affinity", "resource-affinity"]
HA_RULE_PROPS = {
    "comment": COMMENT_4096,
    "disable": BOOL,
    "resources": S(format="pve-ha-resource-id-list"),
    "nodes": O(format="pve-ha-group-node-list"),
    "strict": BOOL,
    "affinity": O(enum=["positive", "negative"]),
}

# datacenter.cfg (PVE::DataCenterConfig)
KEYBOARDS = ["de", "de-ch", "da", "en-gb", "en-us", "es", "fi", "fr", "fr-be", "fr-ca", "fr-ch", "hu", "is",
             "it", "ja", "lt", "mk", "nl", "no", "pl", "pt", "pt-br", "sv", "sl", "tr"]
LANGUAGES = ["ar", "ca", "da", "de", "en", "es", "eu", "fa", "fr", "hr", "he", "it", "ja", "ka", "kr", "nb", "nl",
             "nn", "pl", "pt_BR", "ru", "sl", "sv", "tr", "ukr", "zh_CN", "zh_TW"]
DATACENTER_PROPS = {
    "keyboard": O(enum=KEYBOARDS),
    "language": O(enum=LANGUAGES),
    "http_proxy": O(pattern=r"http://.*"),
    "migration_unsecure": BOOL,
    "console": O(enum=["applet", "vv", "html5", "xtermjs"]),
    "email_from": O(format="email-opt"),
    "max_workers": O(type="integer", minimum=1),
    "fencing": O(enum=["watchdog", "hardware", "both"]),
    "mac_prefix": O(format="mac-prefix"),
    "description": O(maxLength=64 * 1024),
    "consent-text": O(maxLength=64 * 1024),
    "registered-tags": O(pattern=r"(?:[a-z0-9_][a-z0-9_\-+.]*;)*[a-z0-9_][a-z0-9_\-+.]*"),
    "location": O(),
    **{k: O(format=k) for k in ("crs", "next-id", "migration", "replication", "ha", "notify", "bwlimit",
                                "u2f", "webauthn", "tag-style", "user-tag-access")},
}
# keys whose value datacenter.cfg holds as a property string and GET returns as an object
DATACENTER_OBJECT_KEYS = ("crs", "next-id", "migration", "replication", "ha", "notify", "bwlimit", "u2f",
                          "webauthn", "tag-style", "user-tag-access")

# storage.cfg (PVE::Storage::Plugin and its dir/rbd/pbs/... plugins)
STORAGE_TYPES = ["btrfs", "cephfs", "cifs", "dir", "esxi", "glusterfs", "iscsi", "iscsidirect", "lvm", "lvmthin",
                 "nfs", "pbs", "rbd", "zfs", "zfspool"]
STORAGE_PROPS = {
    "content": O(format="pve-storage-content-list"),
    "nodes": O(format="pve-node-list"),
    "disable": BOOL,
    "shared": BOOL,
    "prune-backups": O(format="prune-backups"),
    "max-protected-backups": O(type="integer", minimum=-1),
    "path": O(format="pve-storage-path"),
    "content-dirs": O(),
    "format": O(enum=["raw", "qcow2", "subvol", "vmdk"]),
    "mkdir": BOOL,
    "create-base-path": BOOL,
    "create-subdirs": BOOL,
    "is_mountpoint": O(),
    "bwlimit": O(format="bwlimit"),
    "preallocation": O(enum=["off", "metadata", "falloc", "full"]),
    "snapshot-as-volume-chain": BOOL,
    # pbs
    "server": O(format="pve-storage-server"),
    "port": O(type="integer", minimum=1, maximum=65535),
    "datastore": O(),
    "namespace": O(),
    "username": O(),
    "password": O(),
    "fingerprint": O(pattern=r"([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}"),
    "encryption-key": O(),
    "master-pubkey": O(),
    # rbd
    "pool": O(),
    "data-pool": O(),
    "monhost": O(),
    "krbd": BOOL,
    "keyring": O(),
    # nfs/cifs (accepted by the schema; the lab never mounts them)
    "export": O(),
    "options": O(),
    "share": O(),
    "domain": O(),
    "subdir": O(),
    "smbversion": O(enum=["default", "2.0", "2.1", "3", "3.0", "3.11"]),
    # lvm/zfs
    "vgname": O(),
    "thinpool": O(),
    "base": O(),
    "saferemove": BOOL,
    "sparse": BOOL,
    "blocksize": O(),
}
# options each type accepts (PVE plugins' options()); 'fixed' ones cannot be changed by PUT
STORAGE_TYPE_OPTIONS = {
    "dir": {"path": "fixed", "content-dirs": "", "nodes": "", "shared": "", "disable": "", "prune-backups": "",
            "max-protected-backups": "", "content": "", "format": "", "mkdir": "", "create-base-path": "",
            "create-subdirs": "", "is_mountpoint": "", "bwlimit": "", "preallocation": "",
            "snapshot-as-volume-chain": "fixed-optional"},
    "pbs": {"server": "fixed", "datastore": "fixed", "namespace": "", "port": "", "nodes": "", "disable": "",
            "content": "", "username": "", "password": "", "encryption-key": "", "master-pubkey": "",
            "prune-backups": "", "max-protected-backups": "", "fingerprint": ""},
    "rbd": {"nodes": "", "disable": "", "monhost": "", "pool": "", "data-pool": "", "namespace": "",
            "username": "", "content": "", "krbd": "", "keyring": "", "bwlimit": ""},
    "nfs": {"path": "fixed", "server": "fixed", "export": "fixed", "nodes": "", "disable": "", "content": "",
            "options": "", "prune-backups": "", "max-protected-backups": "", "format": "", "mkdir": "",
            "create-base-path": "", "create-subdirs": "", "bwlimit": "", "preallocation": "",
            "content-dirs": "", "snapshot-as-volume-chain": "fixed-optional"},
    "cifs": {"path": "fixed", "server": "fixed", "share": "fixed", "subdir": "", "nodes": "", "disable": "",
             "content": "", "username": "", "password": "", "domain": "", "smbversion": "", "options": "",
             "prune-backups": "", "max-protected-backups": "", "format": "", "mkdir": "", "create-base-path": "",
             "create-subdirs": "", "bwlimit": "", "preallocation": "", "content-dirs": "",
             "snapshot-as-volume-chain": "fixed-optional"},
    "lvm": {"vgname": "fixed", "base": "fixed", "nodes": "", "shared": "", "disable": "", "saferemove": "",
            "content": "", "bwlimit": "", "snapshot-as-volume-chain": "fixed-optional"},
    "lvmthin": {"thinpool": "fixed", "vgname": "fixed", "nodes": "", "disable": "", "content": "", "bwlimit": ""},
    "zfspool": {"pool": "fixed", "blocksize": "", "sparse": "", "nodes": "", "disable": "", "content": "",
                "bwlimit": "", "mountpoint": ""},
}
STORAGE_DEFAULT_CONTENT = {"dir": "images,rootdir", "pbs": "backup", "rbd": "images", "nfs": "images",
                           "cifs": "images", "lvm": "images,rootdir", "lvmthin": "images,rootdir",
                           "zfspool": "images,rootdir"}
STORAGE_SHARED_TYPES = ("nfs", "cifs", "glusterfs", "iscsi", "iscsidirect", "rbd", "cephfs", "pbs", "esxi")
STORAGE_SENSITIVE = {"pbs": ("password", "encryption-key", "master-pubkey"), "cifs": ("password",),
                     "rbd": ("keyring",), "cephfs": ("keyring",)}

# vzdump jobs (pve-guest-common PVE::VZDump::Common + pve-manager PVE::API2::Backup)
VZDUMP_PROPS = {
    "vmid": O(format="pve-vmid-list"),
    "node": O(format="pve-node"),
    "all": BOOL,
    "stdexcludes": BOOL,
    "compress": O(enum=["0", "1", "gzip", "lzo", "zstd"]),
    "pigz": O(type="integer"),
    "zstd": O(type="integer"),
    "mode": O(enum=["snapshot", "suspend", "stop"]),
    "exclude": O(format="pve-vmid-list"),
    "exclude-path": O(),
    "mailto": O(format="email-or-username-list"),
    "mailnotification": O(enum=["always", "failure"]),
    "notification-mode": O(enum=["auto", "legacy-sendmail", "notification-system"]),
    "tmpdir": O(),
    "dumpdir": O(),
    "script": O(),
    "storage": O(format="pve-storage-id"),
    "stop": BOOL,
    "bwlimit": O(type="integer", minimum=0),
    "ionice": O(type="integer", minimum=0, maximum=8),
    "performance": O(format="backup-performance"),
    "fleecing": O(format="backup-fleecing"),
    "lockwait": O(type="integer", minimum=0),
    "stopwait": O(type="integer", minimum=0),
    "prune-backups": O(format="prune-backups"),
    "remove": BOOL,
    "pool": O(),
    "notes-template": O(maxLength=1024),
    "protected": BOOL,
    "pbs-change-detection-mode": O(enum=["legacy", "data", "metadata"]),
    "schedule": O(format="pve-calendar-event", maxLength=128),
    "starttime": O(pattern=r"\d{1,2}:\d{1,2}"),
    "dow": O(pattern=r"((mon|tue|wed|thu|fri|sat|sun)[,;\s]*)+", requires="starttime"),
    "enabled": BOOL,
    "repeat-missed": BOOL,
    "comment": O(maxLength=512),
}
VZDUMP_ROOT_ONLY = ("tmpdir", "dumpdir", "script")
VZDUMP_JOB_KEYS = set(VZDUMP_PROPS) - {"starttime", "dow"}

# users and tokens (pve-access-control PVE::API2::User)
USER_PROPS = {
    "enable": BOOL,
    "expire": O(type="integer", minimum=0),
    "firstname": O(maxLength=1024),
    "lastname": O(maxLength=1024),
    "email": O(format="email-opt", maxLength=254),
    "comment": O(maxLength=2048),
    "keys": O(pattern=r"[0-9a-zA-Z!=]{0,4096}"),
    "groups": O(format="pve-groupid-list"),
}
TOKEN_PROPS = {"expire": O(type="integer", minimum=0), "privsep": BOOL, "comment": O()}

# ---------------------------------------------------------------- the endpoints
# (method, path template under /api2/json) -> parameter schema (path parameters included, as PVE does)
ENDPOINTS: dict[tuple[str, str], dict] = {
    ("GET", "/version"): {},
    ("GET", "/nodes"): {},
    ("GET", "/nodes/{node}/status"): {"node": NODE},
    ("GET", "/nodes/{node}/version"): {"node": NODE},
    ("GET", "/nodes/{node}/subscription"): {"node": NODE},
    ("GET", "/nodes/{node}/qemu"): {"node": NODE, "full": BOOL},
    ("GET", "/nodes/{node}/lxc"): {"node": NODE},
    ("GET", "/nodes/{node}/replication"): {"node": NODE, "guest": O(format="pve-vmid")},
    ("GET", "/cluster/status"): {},
    ("GET", "/cluster/resources"): {"type": O(enum=["vm", "storage", "node", "sdn"])},
    ("GET", "/cluster/config/qdevice"): {},
    ("GET", "/cluster/ha/groups"): {},
    ("POST", "/cluster/ha/groups"): HA_GROUP_CREATE,
    ("GET", "/cluster/ha/groups/{group}"): {"group": S(format="pve-configid")},
    ("PUT", "/cluster/ha/groups/{group}"): HA_GROUP_UPDATE,
    ("DELETE", "/cluster/ha/groups/{group}"): {"group": S(format="pve-configid")},
    ("GET", "/cluster/ha/resources"): {"type": O(enum=["ct", "vm"])},
    ("POST", "/cluster/ha/resources"): {"sid": HA_SID, "type": O(enum=["ct", "vm"]), **HA_RESOURCE_PROPS},
    ("GET", "/cluster/ha/resources/{sid}"): {"sid": HA_SID},
    ("PUT", "/cluster/ha/resources/{sid}"): {"sid": HA_SID, "delete": DELETE, "digest": DIGEST,
                                             "type": O(enum=["ct", "vm"]), **HA_RESOURCE_PROPS},
    ("DELETE", "/cluster/ha/resources/{sid}"): {"sid": HA_SID, "purge": BOOL},
    ("GET", "/cluster/ha/rules"): {"type": O(enum=HA_RULE_TYPES), "resource": O(format="pve-ha-resource-id")},
    ("POST", "/cluster/ha/rules"): {"rule": S(format="pve-configid"), "type": S(enum=HA_RULE_TYPES),
                                    **HA_RULE_PROPS},
    ("GET", "/cluster/ha/rules/{rule}"): {"rule": S(format="pve-configid")},
    ("PUT", "/cluster/ha/rules/{rule}"): {"rule": S(format="pve-configid"), "type": S(enum=HA_RULE_TYPES),
                                          "delete": DELETE, "digest": DIGEST,
                                          **{k: dict(v, optional=True) for k, v in HA_RULE_PROPS.items()}},
    ("DELETE", "/cluster/ha/rules/{rule}"): {"rule": S(format="pve-configid")},
    ("GET", "/cluster/ha/status/current"): {},
    ("GET", "/cluster/options"): {},
    ("PUT", "/cluster/options"): {"delete": O(format="pve-configid-list"), **DATACENTER_PROPS},
    ("GET", "/storage"): {"type": O(enum=STORAGE_TYPES)},
    ("POST", "/storage"): {"storage": STORAGE_ID, "type": S(enum=STORAGE_TYPES), **STORAGE_PROPS},
    ("GET", "/storage/{storage}"): {"storage": STORAGE_ID},
    ("PUT", "/storage/{storage}"): {"storage": STORAGE_ID, "delete": DELETE, "digest": DIGEST,
                                    **STORAGE_PROPS},
    ("DELETE", "/storage/{storage}"): {"storage": STORAGE_ID},
    ("GET", "/cluster/backup"): {},
    ("POST", "/cluster/backup"): {"id": O(format="pve-configid"), **VZDUMP_PROPS},
    ("GET", "/cluster/backup/{id}"): {"id": S(maxLength=50)},
    ("PUT", "/cluster/backup/{id}"): {"id": S(maxLength=50), "delete": DELETE,
                                      **{k: v for k, v in VZDUMP_PROPS.items() if k != "dow"},
                                      "dow": O(pattern=r"((mon|tue|wed|thu|fri|sat|sun)[,;\s]*)+",
                                               requires="starttime")},
    ("DELETE", "/cluster/backup/{id}"): {"id": S(maxLength=50)},
    ("GET", "/cluster/backup-info/not-backed-up"): {},
    ("POST", "/access/ticket"): {"username": S(maxLength=64), "password": S(), "realm": O(),
                                 "otp": O(), "path": O(maxLength=64), "privs": O(maxLength=64),
                                 "tfa-challenge": O(), "new-format": BOOL},
    ("GET", "/access/users"): {"enabled": BOOL, "full": BOOL},
    ("POST", "/access/users"): {"userid": USERID, "password": O(minLength=8, maxLength=64), **USER_PROPS},
    ("GET", "/access/users/{userid}"): {"userid": USERID},
    ("PUT", "/access/users/{userid}"): {"userid": USERID, "append": O(type="boolean", requires="groups"),
                                        **USER_PROPS},
    ("DELETE", "/access/users/{userid}"): {"userid": USERID},
    ("GET", "/access/users/{userid}/token"): {"userid": USERID},
    ("GET", "/access/users/{userid}/token/{tokenid}"): {"userid": USERID, "tokenid": TOKEN_SUBID},
    ("POST", "/access/users/{userid}/token/{tokenid}"): {"userid": USERID, "tokenid": TOKEN_SUBID, **TOKEN_PROPS},
    ("PUT", "/access/users/{userid}/token/{tokenid}"): {"userid": USERID, "tokenid": TOKEN_SUBID, **TOKEN_PROPS,
                                                       "regenerate": BOOL,
                                                       "delete": O(format="pve-configid-list")},
    ("DELETE", "/access/users/{userid}/token/{tokenid}"): {"userid": USERID, "tokenid": TOKEN_SUBID},
    ("GET", "/access/acl"): {},
    ("PUT", "/access/acl"): {"path": S(format="acl-path"), "roles": S(format="pve-roleid-list"),
                             "users": O(format="pve-userid-list"), "groups": O(format="pve-groupid-list"),
                             "tokens": O(format="pve-tokenid-list"), "propagate": BOOL, "delete": BOOL},
}

# version-specific schema differences
ENDPOINTS_9_ONLY = {("GET", "/cluster/ha/rules"), ("POST", "/cluster/ha/rules"), ("GET", "/cluster/ha/rules/{rule}"),
                    ("PUT", "/cluster/ha/rules/{rule}"), ("DELETE", "/cluster/ha/rules/{rule}")}


def endpoint_schema(method: str, template: str, pve_major: int) -> dict | None:
    key = (method, template)
    if key not in ENDPOINTS or (pve_major < 9 and key in ENDPOINTS_9_ONLY):
        return None
    schema = ENDPOINTS[key]
    if pve_major >= 9 and template.startswith("/cluster/ha/resources") and method in ("POST", "PUT"):
        schema = {**schema, "failback": BOOL}
    return schema


def path_templates() -> list[str]:
    return sorted({t for _, t in ENDPOINTS})
