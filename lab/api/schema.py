"""PVE-style parameter validation for the lab's PVE API emulation, by PVE's own published API schema.

The parameters of every method come from lab/api/pve-schema/pve-8.4.json and pve-9.1.3.json, an extract
of PVE's API schema (pve-docs apidata.js) made by `python -m lab.api.extract_schema`; the lab's PVE major
picks the file (8 -> 8.4, 9 -> 9.1.3). Only the methods in ENDPOINTS are served. Validation follows
PVE::JSONSchema (pve-common src/PVE/JSONSchema.pm: check_object/check_prop/check_type/check_format,
parse_property_string) and words its errors as PVE does; they go into `{"errors": {param: message}}`
of a 400 "Parameter verification failed.". What the schema cannot give is here or in lab/api/formats.py:
the checkers of named formats, and per-storage-type options (pve-storage plugins' options()).
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from . import calendar_event, formats

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


# ---------------------------------------------------------------- formats (most checkers: lab/api/formats.py)
def f_calendar(v):
    try:
        calendar_event.parse_calendar_event(v)
    except ValueError as e:
        raise ValueError(f"invalid calendar event '{v}' - {e}")


FORMATS = {**formats.FORMATS, "pve-calendar-event": f_calendar}  # named formats -> checker (base names)
PROPERTY_STRING_FORMATS = formats.PROPERTY_STRING_FORMATS  # named key=value formats the schema gives by name only


# ---------------------------------------------------------------- property strings (key=value,...)
def format_of(spec: dict) -> dict | None:
    """The key=value schema of a property-string parameter: given inline (a dict) or by a registered name."""
    fmt = spec.get("format")
    if isinstance(fmt, dict):
        return fmt
    return PROPERTY_STRING_FORMATS.get(fmt) if fmt else None


def parse_property_string(fmt: dict, value: str, path: str = "", major: int = 9) -> dict:
    """PVE::JSONSchema::parse_property_string, then check_object over the keys -> {key: typed value}."""
    res, default_key = {}, None
    for part in value.split(","):
        if part.strip() == "":
            continue
        kv = re.fullmatch(r"([^=]+)=(.+)", part, re.S)
        if kv:
            k, v = kv.groups()
            if k in res:
                raise ValueError(f"duplicate key in comma-separated list property: {k}")
            if k not in fmt:
                raise ValueError(f"invalid key in comma-separated list property: {k}")
        elif "=" not in part:
            if default_key:
                raise ValueError(f"duplicate key in comma-separated list property: {default_key}")
            default_key = next((k for k, s in fmt.items() if s.get("default_key")), None)
            if default_key is None:
                raise ValueError("value without key, but schema does not define a default key")
            if default_key in res:
                raise ValueError(f"duplicate key in comma-separated list property: {default_key}")
            k, v = default_key, part
        else:
            raise ValueError("missing key in comma-separated list property")
        if fmt[k].get("type") == "boolean" and parse_boolean(v) is not None:
            v = str(parse_boolean(v))
        res[k] = v
    errors = check_object(Schema(fmt, major, 0), res, path)
    if errors:
        raise ValueError("format error\n" + "\n".join(f"{k}: {m}" for k, m in errors.items()))
    return {k: typed(v, fmt[k]) for k, v in res.items()}


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


# ---------------------------------------------------------------- value checks (PVE::JSONSchema)
def perl_regex(pattern: str) -> str:
    """A schema pattern as Python's re reads it: Perl's stringified qr// `(?^i:...)` -> `(?i:...)`."""
    return re.sub(r"\(\?\^([a-z]*):", lambda m: f"(?{m.group(1)}:" if m.group(1) else "(?:", pattern)


def is_number(value: str) -> bool:
    return re.fullmatch(r"[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?", value) is not None


def check_format(fmt, value: str, path: str = "", major: int = 9) -> None:
    """PVE::JSONSchema::check_format: a dict is a property string; NAME-list checks each item of
    split_list(value), NAME-opt accepts ''. Raises ValueError(message)."""
    if isinstance(fmt, dict):
        parse_property_string(fmt, value, path, major)
        return
    if fmt == "regex":
        return
    name, kind = re.fullmatch(r"(.*?)(?:-(list|opt))?", fmt).groups()
    if kind is None and name in PROPERTY_STRING_FORMATS:
        parse_property_string(PROPERTY_STRING_FORMATS[name], value, path, major)
        return
    check = FORMATS.get(name)
    if check is None:
        if name in formats.UNCHECKED_FORMATS:
            return
        raise ValueError(f"undefined format '{fmt}'")
    if kind == "list":
        for item in split_list(value):
            check(item)
    elif kind != "opt" or value:
        check(value)


def check_value(value, spec: dict, path: str = "", major: int = 9) -> str | None:
    """PVE::JSONSchema::check_prop for a present value: None if ok, else PVE's message (its first error)."""
    t = spec.get("type")
    if isinstance(value, list):
        if t != "array":
            return f"type check ('{t}') failed - got ARRAY"
        for item in value:
            err = check_value(item, spec["items"], path, major) if spec.get("items") else None
            if err:
                return err
        return None
    if t in ("array", "object"):
        return f"type check ('{t}') failed"
    if t == "boolean" and value not in ("0", "1"):
        return f"type check ('boolean') failed - got '{value}'"
    if t == "integer" and not re.fullmatch(r"[+-]?\d+", value):
        return f"type check ('integer') failed - got '{value}'"
    if t == "number" and not is_number(value):
        return f"type check ('number') failed - got '{value}'"
    if spec.get("format"):
        try:
            check_format(spec["format"], value, path, major)
        except ValueError as e:
            return f"invalid format - {e}"
    if spec.get("pattern") and not re.search("^" + perl_regex(spec["pattern"]) + "$", value):
        return "value does not match the regex pattern"
    if "maxLength" in spec and len(value) > int(spec["maxLength"]):
        return f"value may only be {spec['maxLength']} characters long"
    if "minLength" in spec and len(value) < int(spec["minLength"]):
        return f"value must be at least {spec['minLength']} characters long"
    if is_number(value):
        if "maximum" in spec and float(value) > float(spec["maximum"]):
            return f"value must have a maximum value of {spec['maximum']}"
        if "minimum" in spec and float(value) < float(spec["minimum"]):
            return f"value must have a minimum value of {spec['minimum']}"
    if "enum" in spec and value not in spec["enum"]:
        return f"value '{value}' does not have a value in the enumeration '{', '.join(spec['enum'])}'"
    return None


def _add_error(errors: dict, path: str, msg: str) -> None:
    """PVE::JSONSchema::add_error: a second error on one path is joined with a literal backslash-n."""
    errors[path] = errors[path] + "\\n" + msg if path in errors else msg


def check_object(schema: "Schema", values: dict, path: str = "") -> dict:
    """PVE::JSONSchema::check_object -> {path: message}."""
    errors: dict = {}
    sub = (lambda k: f"{path}.{k}") if path else (lambda k: k)
    for k, spec in schema.items():
        itype = values.get(spec["type-property"]) if spec.get("type-property") else None
        # a property whose 'instance-types' exclude the type at hand may be absent
        optional_for_type = bool(itype) and itype not in spec.get("instance-types", [itype])
        if k not in values:
            if not spec.get("optional") and not optional_for_type:
                _add_error(errors, sub(k), "property is missing and it is not optional")
            continue
        err = check_value(values[k], spec, sub(k), schema.major)
        if err:
            _add_error(errors, sub(k), err)
    for k in values:
        spec = schema.get(k)
        if spec is None:
            if schema.additional is not None and not schema.additional:
                _add_error(errors, sub(k), "property is not defined in schema and the schema does not allow "
                                           "additional properties")
            continue
        req = spec.get("requires")
        if isinstance(req, str) and req not in values:
            # pve-common 9.0.8 reworded it (0f0e791 "schema: clarify error on missing property dependency")
            _add_error(errors, sub(req), f"missing property required by '{sub(k)}'" if schema.major >= 9
                       else f"missing property - '{sub(k)}' requires this property")
    return errors


def validate(schema: "Schema", params: dict) -> dict:
    """Check an API call's parameters (strings; path parameters included) as PVE's RESTHandler does:
    legacy normalization (a scalar for an array parameter is a one-element list, a list for a `-list`
    format is joined), then PVE::JSONSchema::validate. Raises ParamError; returns params unchanged."""
    values = {}
    for k, v in params.items():
        spec = schema.get(k) or {}
        if isinstance(v, list) and spec.get("type") == "string" and str(spec.get("format", "")).endswith("-list"):
            v = ",".join(v)
        elif not isinstance(v, list) and spec.get("type") == "array" and v:
            v = [v]
        values[k] = v
    errors = check_object(schema, values)
    if errors:
        raise ParamError(errors)
    return params


# ---------------------------------------------------------------- PVE's API schema (the committed extract)
PVE_SCHEMA_VERSIONS = {8: "8.4", 9: "9.1.3"}  # the lab's PVE major -> the schema it validates by
SCHEMA_DIR = Path(__file__).resolve().parent / "pve-schema"


class Schema(dict):
    """An API method's parameters (name -> JSON schema), path parameters included, as PVE declares them;
    `major` is the PVE major it is from, `additional` the method's additionalProperties (0: refused)."""

    def __init__(self, props: dict, major: int, additional=0):
        super().__init__(props)
        self.major, self.additional = major, additional


def schema_version(pve_major: int) -> str:
    return PVE_SCHEMA_VERSIONS[9 if int(pve_major) >= 9 else 8]


@lru_cache(maxsize=None)
def pve_methods(version: str) -> dict:
    """'METHOD /path' -> {"parameters": {"properties": ..., "additionalProperties": ...}, "permissions": ...}"""
    return json.loads((SCHEMA_DIR / f"pve-{version}.json").read_text())["methods"]


@lru_cache(maxsize=None)
def method_schema(method: str, template: str, pve_major: int) -> Schema | None:
    """The parameters of any method in the extract (served, or one a CLI shim parses); None if PVE of that
    major has no such method."""
    version = schema_version(pve_major)
    entry = pve_methods(version).get(f"{method} {template}")
    if entry is None:
        return None
    params = entry["parameters"]
    return Schema(params["properties"], int(version.split(".")[0]), params.get("additionalProperties"))


def endpoint_schema(method: str, template: str, pve_major: int) -> Schema | None:
    """The parameter schema of a served endpoint on this PVE major; None if the lab does not serve it or
    that PVE has no such method (e.g. /cluster/ha/rules before PVE 9)."""
    if (method, template) not in ENDPOINTS:
        return None
    return method_schema(method, template, pve_major)


def path_params(template: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", template)


def config_props(method: str, template: str, pve_major: int) -> dict:
    """The settable options of an update/create method (its parameters without path parameters,
    `delete` and `digest`): what a config section may hold, for typing values and checking `delete`."""
    schema = method_schema(method, template, pve_major) or {}
    skip = set(path_params(template)) | {"delete", "digest"}
    return {k: v for k, v in schema.items() if k not in skip}


def path_templates() -> list[str]:
    return sorted({t for _, t in ENDPOINTS})


# ---------------------------------------------------------------- what the schema cannot give
# storage types' options, content and secrets: lab/pve/storage_plugins.py (pve-storage plugins)
STORAGE_SHARED_TYPES = ("nfs", "cifs", "glusterfs", "iscsi", "iscsidirect", "rbd", "cephfs", "pbs", "esxi")

# vzdump jobs: options only root@pam may set (pve-manager PVE::API2::Backup assert_param_permission_common)
VZDUMP_ROOT_ONLY = ("tmpdir", "dumpdir", "script")


def vzdump_job_keys(pve_major: int) -> set:
    """Options a backup job (jobs.cfg `vzdump:` section) may hold: POST /cluster/backup's parameters
    without `id` and the legacy `starttime`/`dow` (converted to `schedule`)."""
    return set(config_props("POST", "/cluster/backup", pve_major)) - {"id", "starttime", "dow"}


# ---------------------------------------------------------------- the endpoints
# (method, path template under /api2/json) the lab API serves; their parameters are PVE's (endpoint_schema)
ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("GET", "/version"), ("GET", "/nodes"), ("GET", "/nodes/{node}/status"), ("GET", "/nodes/{node}/version"),
    ("GET", "/nodes/{node}/subscription"), ("GET", "/nodes/{node}/qemu"), ("GET", "/nodes/{node}/lxc"),
    ("GET", "/nodes/{node}/qemu/{vmid}/config"), ("GET", "/nodes/{node}/lxc/{vmid}/config"),
    ("GET", "/nodes/{node}/replication"), ("GET", "/cluster/status"), ("GET", "/cluster/resources"),
    ("GET", "/cluster/config/qdevice"),
    ("GET", "/cluster/ha/groups"), ("POST", "/cluster/ha/groups"), ("GET", "/cluster/ha/groups/{group}"),
    ("PUT", "/cluster/ha/groups/{group}"), ("DELETE", "/cluster/ha/groups/{group}"),
    ("GET", "/cluster/ha/resources"), ("POST", "/cluster/ha/resources"), ("GET", "/cluster/ha/resources/{sid}"),
    ("PUT", "/cluster/ha/resources/{sid}"), ("DELETE", "/cluster/ha/resources/{sid}"),
    ("GET", "/cluster/ha/rules"), ("POST", "/cluster/ha/rules"), ("GET", "/cluster/ha/rules/{rule}"),
    ("PUT", "/cluster/ha/rules/{rule}"), ("DELETE", "/cluster/ha/rules/{rule}"),
    ("GET", "/cluster/ha/status/current"), ("GET", "/cluster/options"), ("PUT", "/cluster/options"),
    ("GET", "/storage"), ("POST", "/storage"), ("GET", "/storage/{storage}"), ("PUT", "/storage/{storage}"),
    ("DELETE", "/storage/{storage}"),
    ("GET", "/cluster/backup"), ("POST", "/cluster/backup"), ("GET", "/cluster/backup/{id}"),
    ("PUT", "/cluster/backup/{id}"), ("DELETE", "/cluster/backup/{id}"), ("GET", "/cluster/backup-info/not-backed-up"),
    ("POST", "/access/ticket"), ("GET", "/access/users"), ("POST", "/access/users"),
    ("GET", "/access/users/{userid}"), ("PUT", "/access/users/{userid}"), ("DELETE", "/access/users/{userid}"),
    ("GET", "/access/users/{userid}/token"), ("GET", "/access/users/{userid}/token/{tokenid}"),
    ("POST", "/access/users/{userid}/token/{tokenid}"), ("PUT", "/access/users/{userid}/token/{tokenid}"),
    ("DELETE", "/access/users/{userid}/token/{tokenid}"), ("GET", "/access/acl"), ("PUT", "/access/acl"),
)
# methods behind the PVE CLIs the lab's shims stand in for (pvecm, pveceph, pvesm; /work/shared/pve-api's
# README maps commands to methods): the shims take their options from these
CLI_ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("POST", "/cluster/config"), ("POST", "/nodes/{node}/ceph/init"), ("POST", "/nodes/{node}/ceph/mon/{monid}"),
    ("POST", "/nodes/{node}/ceph/mgr/{id}"), ("POST", "/nodes/{node}/ceph/osd"),
    ("DELETE", "/nodes/{node}/ceph/osd/{osdid}"), ("POST", "/nodes/{node}/ceph/pool"),
    ("PUT", "/nodes/{node}/ceph/pool/{name}"), ("DELETE", "/nodes/{node}/ceph/pool/{name}"),
    ("GET", "/nodes/{node}/storage"),
)
