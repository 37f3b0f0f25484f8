"""/cluster/status, /cluster/resources, /cluster/config/qdevice and /cluster/options (datacenter.cfg): PVE's
API2/Cluster.pm and API2/ClusterConfig.pm. Backup jobs are in cluster_backup.py, HA in cluster_ha.py."""
from __future__ import annotations

import os

from . import ceph, schema
from . import store
from .nodes import guests, node_stats
from ..pve import ha, storage_plugins

# ---------------------------------------------------------------- status, resources, qdevice
def cluster_status(api, ident, p):
    api.check(ident, "/", "Sys.Audit")
    q = api.cluster.quorate()
    c = api.cluster.conf()
    if q is None or c is None:
        return [{"type": "node", "id": f"node/{api.node}", "name": api.node, "ip": _node_ip(api, api.node),
                 "local": 1, "nodeid": 0, "online": 1, "level": ""}]
    online = api.online()
    nodes = api.cluster.nodes()
    out = [{"type": "cluster", "id": "cluster", "name": api.cluster.cluster_name() or "",
            "nodes": len(nodes), "version": c["config_version"],
            "quorate": 1 if q else 0}]
    for n in nodes:
        e = {"type": "node", "id": f"node/{n['name']}", "name": n["name"],
             "nodeid": int(n.get("nodeid", 0)), "local": 1 if n["name"] == api.node else 0,
             "online": 1 if n["name"] in online else 0, "level": ""}
        ip = n.get("ring0_addr")
        if ip:
            e["ip"] = ip
        out.append(e)
    return out


def _node_ip(api, node):
    for n in api.cluster.nodes():
        if n["name"] == node and n.get("ring0_addr"):
            return n["ring0_addr"]
    return "127.0.0.1"


def qdevice(api, ident, p):
    api.check(ident, "/", "Sys.Audit")
    return {}


def cluster_resources(api, ident, p):
    typ = p.get("type")
    online = api.online()
    out = []
    if typ in (None, "node"):
        stats = node_stats()
        has_ha = bool(api.store.sections("ha/resources.cfg"))
        # The CRM's node states (lab/pve/ha.py), as pmxcfs's resources list reports them.
        hastate = ha.read_json(api.store.dir / ha.MANAGER_STATUS).get("node_status", {})
        for name in sorted(api.node_names()):
            if not api.has(ident, f"/nodes/{name}", "Sys.Audit"):
                continue
            e = {"id": f"node/{name}", "type": "node", "node": name,
                 "status": "online" if name in online else "offline", "level": "", "cgroup-mode": 2}
            if has_ha:
                e["hastate"] = hastate.get(name, "unknown")
            if name in online:
                e.update(stats)
            out.append(e)
    if typ in (None, "vm"):
        for kind in ("qemu", "lxc"):
            for g in guests(api, ident, kind):
                out.append({**g, "id": f"{kind}/{g['vmid']}", "type": kind, "template": 0,
                            "maxdisk": 0, "disk": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0})
    if typ in (None, "storage"):
        secs = api.store.sections("storage.cfg")
        for name in sorted(api.node_names()):
            for t, sid, opts in secs:
                nodes = opts.get("nodes")
                if nodes and name not in schema.split_list(nodes):
                    continue
                if opts.get("disable") in ("", "1") and "disable" in opts:
                    continue
                if not api.has(ident, f"/storage/{sid}", ["Datastore.Audit", "Datastore.AllocateSpace"], True):
                    continue
                e = {"id": f"storage/{name}/{sid}", "type": "storage", "node": name, "storage": sid,
                     "plugintype": t, "content": opts.get("content", storage_plugins.default_content(t, api.major)),
                     "shared": 1 if (t in schema.STORAGE_SHARED_TYPES or opts.get("shared") == "1") else 0,
                     "status": "unknown", "disk": 0, "maxdisk": 0}
                if name in online:
                    e.update(_storage_usage(api, t, opts))
                out.append(e)
    return out


STATUS_CYCLE = 10.0
CEPH = ceph.Session()


def _storage_usage(api, typ, opts) -> dict:
    if typ == "dir":
        try:
            st = os.statvfs(opts.get("path", "/"))
        except OSError:
            return {"status": "unknown"}
        total = st.f_blocks * st.f_frsize
        return {"status": "available", "maxdisk": total, "disk": total - st.f_bfree * st.f_frsize}
    if typ == "rbd":
        # pvestatd refreshes storage status every 10 s ($updatetime in PVE/Service/pvestatd.pm); the API reads that.
        df = api.cluster._memo("ceph-df", _ceph_df, STATUS_CYCLE)
        pool = opts.get("pool", "rbd")
        for pl in (df or {}).get("pools", []):
            if pl.get("name") == pool:
                s = pl.get("stats", {})
                used = int(s.get("bytes_used", s.get("stored", 0)))
                return {"status": "available", "disk": used, "maxdisk": used + int(s.get("max_avail", 0))}
        return {"status": "unknown"}
    return {"status": "unknown"}  # remote storages (pbs, nfs, ...) are never contacted


def _ceph_df():
    return CEPH.mon_json("df")


# ---------------------------------------------------------------- options (datacenter.cfg)
DC_LOCK = "file-datacenter_cfg"


def get_options(api, ident, p):
    desc, kv = store.parse_datacenter_cfg(api.store.read_text("datacenter.cfg"))
    full = api.has(ident, "/", "Sys.Audit")
    out = {}
    props = schema.config_props("PUT", "/cluster/options", api.major)
    for k, v in kv.items():
        if not full and k not in ("console", "tag-style"):
            continue
        fmt = schema.format_of(props.get(k, {}))
        if fmt is not None:  # a property string, returned as an object
            try:
                out[k] = schema.parse_property_string(fmt, v, k, api.major)
            except ValueError:
                out[k] = v
            if k == "user-tag-access" and "user-allow-list" in out[k]:
                out[k]["user-allow-list"] = out[k]["user-allow-list"].split(";")
        elif k == "registered-tags":
            out[k] = v.split(";")
        else:
            out[k] = schema.typed(v, props.get(k, {}))
    if full:
        out["description"] = desc
        out.setdefault("mac_prefix", "BC:24:11")
    out["allowed-tags"] = []
    return out


def update_options(api, ident, p):
    api.check(ident, "/", "Sys.Modify")
    delete = schema.split_list(p.pop("delete", ""))
    with api.store.lock(DC_LOCK):
        desc, kv = store.parse_datacenter_cfg(api.store.read_text("datacenter.cfg"))
        for k, v in p.items():
            if k == "description":
                desc = v
            else:
                kv[k] = v
        for k in delete:
            if k == "description":
                desc = ""
            kv.pop(k, None)
        if kv.get("mac_prefix", "").upper() == "BC:24:11":
            kv.pop("mac_prefix")
        api.store.write_text("datacenter.cfg", store.format_datacenter_cfg(desc, kv))

