"""/cluster/ha: groups (PVE 8; refused on PVE 9 once migrated), resources, rules (PVE 9) and status/current,
in ha/groups.cfg, ha/resources.cfg and ha/rules.cfg (pve-ha-manager's PVE/API2/HA/*.pm)."""
from __future__ import annotations

import re
import time

from . import schema
from . import store
from ..pve import files, ha
from .core import APIError, check_digest, existing_section, fail, typed

# ---------------------------------------------------------------- common
HA_LOCK = "domain-ha"


def _parse_sid(api, sid: str) -> tuple[str, str]:
    if sid.isdigit():
        guest = files.vmlist(api.store.dir).get(sid)
        if guest is None:
            fail(f"unable to detect SID from VMID - VM/CT {sid} does not exist")
        return ("vm" if guest["type"] == "qemu" else "ct"), sid
    m = re.match(r"^(\S+):(\S+)$", sid)
    if not m:
        fail(f"unable to parse service id '{sid}'")
    typ, name = m.groups()
    if typ not in ("vm", "ct"):
        fail(f"unknown resource type '{typ}'")
    if not re.match(r"^[1-9][0-9]{2,8}$", name):
        fail(f"invalid VMID '{name}'")
    return typ, name


# ---------------------------------------------------------------- groups
def _group_entry(api, name, opts, digest):
    e = typed(opts, schema.config_props("PUT", "/cluster/ha/groups/{group}", api.major))
    e.update(group=name, type="group", digest=digest)
    return e


def list_groups(api, ident, p):
    ha.refuse_groups_once_migrated(api.store.dir, api.major, "index groups")
    digest = api.store.digest("ha/groups.cfg")
    return [_group_entry(api, i, o, digest) for t, i, o in api.store.sections("ha/groups.cfg") if t == "group"]


def get_group(api, ident, p):
    ha.refuse_groups_once_migrated(api.store.dir, api.major, "read group")
    for t, i, o in api.store.sections("ha/groups.cfg"):
        if i == p["group"]:
            return _group_entry(api, i, o, api.store.digest("ha/groups.cfg"))
    fail(f"no such ha group '{p['group']}'")


def create_group(api, ident, p):
    ha.refuse_groups_once_migrated(api.store.dir, api.major, "create group")
    if p.get("type", "group") != "group":
        fail("types does not match")
    name = p["group"]
    opts = {k: p[k] for k in ("comment", "nodes", "nofailback", "restricted") if k in p}
    with api.store.lock(HA_LOCK):
        secs = api.store.sections("ha/groups.cfg")
        if any(i == name for _, i, _ in secs):
            fail(f"create ha group failed: ha group ID '{name}' already defined")
        secs.append(["group", name, store.order_options(opts, ("nodes",))])
        api.store.write_sections("ha/groups.cfg", secs)


def _apply_delete(opts: dict, delete: str | None, allowed: dict, required=(), set_keys=()):
    for k in schema.split_list(delete or ""):
        if k not in allowed:
            fail(f"no such option '{k}'")
        if k in required:
            fail(f"unable to delete required option '{k}'")
        if k in set_keys:
            fail(f"cannot set and delete property '{k}' at the same time!")
        opts.pop(k, None)


def update_group(api, ident, p):
    ha.refuse_groups_once_migrated(api.store.dir, api.major, "update group")
    name = p["group"]
    with api.store.lock(HA_LOCK):
        secs, sec = existing_section(api.store, "ha/groups.cfg", name, p.get("digest"),
                                           f"update ha group failed: no such ha group '{name}'")
        opts = dict(sec[2])
        sets = {k: p[k] for k in ("comment", "nodes", "nofailback", "restricted") if k in p}
        _apply_delete(opts, p.get("delete"), schema.config_props("PUT", "/cluster/ha/groups/{group}", api.major),
                           ("nodes",), sets)
        opts.update(sets)
        sec[2] = store.order_options(opts, ("nodes",))
        api.store.write_sections("ha/groups.cfg", secs)


def delete_group(api, ident, p):
    ha.refuse_groups_once_migrated(api.store.dir, api.major, "delete group")
    name = p["group"]
    with api.store.lock(HA_LOCK):
        secs = api.store.sections("ha/groups.cfg")
        if not any(s[1] == name for s in secs):
            fail(f"delete ha group failed: no such ha group '{name}'")
        for t, i, o in api.store.sections("ha/resources.cfg"):
            if o.get("group") == name:
                fail(f"delete ha group failed: ha group is used by service '{t}:{i}'")
        api.store.write_sections("ha/groups.cfg", [s for s in secs if s[1] != name])


# ---------------------------------------------------------------- resources
def _res_props(api):
    return schema.config_props("PUT", "/cluster/ha/resources/{sid}", api.major)


def _resource_entry(api, typ, vmid, opts, digest, exclude_group=False):
    e = typed(opts, _res_props(api))
    if exclude_group:
        e.pop("group", None)
    e.update(sid=f"{typ}:{vmid}", type=typ, digest=digest)
    e.setdefault("state", "started")
    return e


def list_resources(api, ident, p):
    digest = api.store.digest("ha/resources.cfg")
    excl = api.major >= 9 and ha.groups_migrated(api.store.dir)
    groups = {i for _, i, _ in api.store.sections("ha/groups.cfg")}
    out = []
    for t, i, o in api.store.sections("ha/resources.cfg"):
        if p.get("type") and p["type"] != t:
            continue
        e = _resource_entry(api, t, i, o, digest, excl)
        if e.get("group") and e["group"] not in groups:
            e["errors"] = {"group": f"group '{e['group']}' does not exist"}
        out.append(e)
    return out


def get_resource(api, ident, p):
    typ, vmid = _parse_sid(api, p["sid"])
    for t, i, o in api.store.sections("ha/resources.cfg"):
        if t == typ and i == vmid:
            excl = api.major >= 9 and ha.groups_migrated(api.store.dir)
            return _resource_entry(api, t, i, o, api.store.digest("ha/resources.cfg"), excl)
    fail(f"no such resource '{typ}:{vmid}'")


RES_KEYS = ("comment", "failback", "group", "max_relocate", "max_restart", "state")


def create_resource(api, ident, p):
    typ, vmid = _parse_sid(api, p["sid"])
    if p.get("type") and p["type"] != typ:
        fail("types does not match")
    if "group" in p and api.major >= 9 and ha.groups_migrated(api.store.dir):
        fail("invalid parameter 'group': ha groups have been migrated to rules")
    missing = ha.guest_missing(api.store.dir, typ, vmid)
    if missing:
        fail(missing)
    opts = {k: p[k] for k in RES_KEYS if k in p}
    with api.store.lock(HA_LOCK):
        secs = api.store.sections("ha/resources.cfg")
        if any(t == typ and i == vmid for t, i, _ in secs):
            fail(f"create resource failed: resource ID '{typ}:{vmid}' already defined")
        if p.get("group") and not any(i == p["group"] for _, i, _ in api.store.sections("ha/groups.cfg")):
            fail(f"create resource failed: HA group '{p['group']}' does not exist")
        secs.append([typ, vmid, store.order_options(opts)])
        api.store.write_sections("ha/resources.cfg", secs)


def update_resource(api, ident, p):
    typ, vmid = _parse_sid(api, p["sid"])
    if p.get("type") and p["type"] != typ:
        fail("types does not match")
    if p.get("group"):
        if api.major >= 9 and ha.groups_migrated(api.store.dir):
            fail("invalid parameter 'group': ha groups have been migrated to rules")
        if not any(i == p["group"] for _, i, _ in api.store.sections("ha/groups.cfg")):
            fail(f"HA group '{p['group']}' does not exist")
    with api.store.lock(HA_LOCK):
        check_digest(api.store, "ha/resources.cfg", p.get("digest"))
        secs = api.store.sections("ha/resources.cfg")
        sec = next((s for s in secs if s[0] == typ and s[1] == vmid), None)
        if sec is None:
            fail(f"no such resource '{typ}:{vmid}'")
        opts = dict(sec[2])
        sets = {k: p[k] for k in RES_KEYS if k in p}
        _apply_delete(opts, p.get("delete"), _res_props(api), (), sets)
        opts.update(sets)
        sec[2] = store.order_options(opts)
        api.store.write_sections("ha/resources.cfg", secs)


def delete_resource(api, ident, p):
    typ, vmid = _parse_sid(api, p["sid"])
    sid = f"{typ}:{vmid}"
    purge = p.get("purge", "1") == "1"
    with api.store.lock(HA_LOCK):
        secs = api.store.sections("ha/resources.cfg")
        if not any(t == typ and i == vmid for t, i, _ in secs):
            fail(f"cannot delete service '{sid}', not HA managed!")
        api.store.write_sections("ha/resources.cfg", [s for s in secs if not (s[0] == typ and s[1] == vmid)])
        if purge and api.store.path("ha/rules.cfg").exists():
            rules = []
            for t, i, o in api.store.sections("ha/rules.cfg"):
                res = [r for r in schema.split_list(o.get("resources", "")) if r != sid]
                if not res:
                    continue
                o["resources"] = ",".join(res)
                rules.append([t, i, o])
            api.store.write_sections("ha/rules.cfg", rules)


# ---------------------------------------------------------------- rules (PVE 9)
RULE_KEYS = ("affinity", "comment", "disable", "nodes", "resources", "strict")


RULE_TYPE_OPTS = {"node-affinity": ("comment", "disable", "resources", "nodes", "strict"),
                  "resource-affinity": ("comment", "disable", "resources", "affinity")}


def _rule_entry(api, typ, rid, opts, digest, order):
    e = typed(opts, schema.config_props("PUT", "/cluster/ha/rules/{rule}", api.major))
    e.update(rule=rid, type=typ, digest=digest, order=order)
    if typ == "node-affinity":
        e.setdefault("strict", 0)
    return e


def list_rules(api, ident, p):
    digest = api.store.digest("ha/rules.cfg")
    out = []
    for n, (t, i, o) in enumerate(api.store.sections("ha/rules.cfg"), 1):
        if p.get("type") and p["type"] != t:
            continue
        if p.get("resource") and p["resource"] not in schema.split_list(o.get("resources", "")):
            continue
        out.append(_rule_entry(api, t, i, o, digest, n))
    return out


def get_rule(api, ident, p):
    for n, (t, i, o) in enumerate(api.store.sections("ha/rules.cfg"), 1):
        if i == p["rule"]:
            return _rule_entry(api, t, i, o, api.store.digest("ha/rules.cfg"), n)
    fail(f"no such ha rule '{p['rule']}'")


def _check_rule_opts(api, typ, p, create):
    allowed = RULE_TYPE_OPTS[typ]
    for k in RULE_KEYS:
        if k in p and k not in allowed:
            fail(f"unexpected property '{k}'")
    if "resources" in p:
        res = schema.split_list(p["resources"])
        if not res:
            fail("no resources were specified")
        managed = {f"{t}:{i}" for t, i, _ in api.store.sections("ha/resources.cfg")}
        missing = [r for r in sorted(res) if r not in managed]
        if missing:
            fail(f"cannot use unmanaged resource(s) {', '.join(missing)}.")
        p["resources"] = ",".join(sorted(set(res)))
    if "nodes" in p:
        nodes = [n.split(":")[0] for n in schema.split_list(p["nodes"])]
        if not nodes:
            fail("no nodes were specified")
        known = set(api.node_names()) | {api.node}
        bad = [n for n in sorted(nodes) if n not in known]
        if bad:
            fail(f"cannot use non-existent node(s) {', '.join(bad)}.")
    if create and typ == "node-affinity" and "nodes" not in p:
        fail("missing value for required option 'nodes'")
    if create and typ == "resource-affinity" and "affinity" not in p:
        fail("missing value for required option 'affinity'")


def create_rule(api, ident, p):
    ha.refuse_rules_before_migration(api.store.dir, "create ha rule")
    typ, rid = p["type"], p["rule"]
    if p.get("disable") == "0":
        p.pop("disable")
    with api.store.lock(HA_LOCK):
        secs = api.store.sections("ha/rules.cfg")
        if any(i == rid for _, i, _ in secs):
            fail(f"create ha rule failed: HA rule '{rid}' already defined")
        try:
            _check_rule_opts(api, typ, p, True)
        except APIError as e:
            fail(f"create ha rule failed: {e.msg}")
        opts = {k: p[k] for k in RULE_KEYS if k in p}
        secs.append([typ, rid, store.order_options(opts, ("resources",) + (("nodes",) if typ == "node-affinity" else ()))])
        api.store.write_sections("ha/rules.cfg", secs)


def update_rule(api, ident, p):
    ha.refuse_rules_before_migration(api.store.dir, "update ha rule")
    rid = p["rule"]
    if p.get("disable") == "0":
        p.pop("disable")
    with api.store.lock(HA_LOCK):
        secs, sec = existing_section(api.store, "ha/rules.cfg", rid, p.get("digest"),
                                           f"update HA rules failed: HA rule '{rid}' does not exist")
        typ = sec[0]
        if p.get("type") and p["type"] != typ:
            fail("update HA rules failed: types does not match")
        try:
            _check_rule_opts(api, typ, p, False)
        except APIError as e:
            fail(f"update HA rules failed: {e.msg}")
        opts = dict(sec[2])
        sets = {k: p[k] for k in RULE_KEYS if k in p}
        required = ("resources",) + (("nodes",) if typ == "node-affinity" else ())
        _apply_delete(opts, p.get("delete"), schema.config_props("PUT", "/cluster/ha/rules/{rule}", api.major),
                           required, sets)
        opts.update(sets)
        sec[2] = store.order_options(opts, required)
        api.store.write_sections("ha/rules.cfg", secs)


def delete_rule(api, ident, p):
    with api.store.lock(HA_LOCK):
        secs = api.store.sections("ha/rules.cfg")
        api.store.write_sections("ha/rules.cfg", [s for s in secs if s[1] != p["rule"]])


# ---------------------------------------------------------------- status (as `ha-manager status`)
def current_status(api, ident, p):
    """What the lab's CRM and LRMs last wrote (lab/pve/ha.py), as PVE::API2::HA::Status->status returns it."""
    return ha.status(api.store.dir, api.node, api.cluster.quorate() is not False, api.major, time.time())
