"""HTTPS server emulating the parts of the PVE REST API (/api2/json) that the project uses.

State lives in a PVE config directory (the lab's shared /etc/pve) in PVE's own formats. See
lab/README.md ("API emulation") for the endpoint list and lab/api/schema.py for the parameters.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import ssl
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import auth as A
from . import schema as SC
from . import store as S
from ..shims import pbsclient
from ..shims import pvelib as L
from ..shims.pvecm import parse_conf as parse_corosync_conf

API_PREFIX = "/api2/json"
VERSIONS = {8: {"version": "8.4.1", "release": "8.4", "repoid": "2a5fa54a8503f96d"},
            9: {"version": "9.0.10", "release": "9.0", "repoid": "deb1ca707ec72a89"}}


class APIError(Exception):
    def __init__(self, status: int, msg: str, errors: dict | None = None):
        super().__init__(msg)
        self.status, self.msg, self.errors = status, msg.rstrip("\n"), errors


def fail(msg: str, status: int = 500):
    raise APIError(status, msg)


def param_fail(errors: dict):
    raise APIError(400, "Parameter verification failed.", errors)


# ---------------------------------------------------------------- cluster view (corosync) with test hooks
class ClusterView:
    """Cluster membership/quorum as PVE sees it: nodelist from DIR/corosync.conf, quorum from the real
    corosync (`corosync-quorumtool -s` exit 0 = quorate) unless a `quorum` hook is given.
    quorum() -> True/False, or None when not in a cluster; members() -> names of online nodes."""

    def __init__(self, store: S.Store, node: str, quorum=None, members=None, cache: float = 1.0):
        self.store, self.node = store, node
        self.quorum_hook, self.members_hook, self.cache = quorum, members, cache
        self._cached: dict = {}
        self._lock = threading.Lock()

    def conf(self) -> dict | None:
        text = self.store.read_text("corosync.conf")
        return parse_corosync_conf(text) if text else None

    def nodes(self) -> list[dict]:
        c = self.conf()
        if not c or not c["nodes"]:
            return [{"name": self.node, "nodeid": "0"}]
        return c["nodes"]

    def cluster_name(self) -> str | None:
        c = self.conf()
        return c.get("cluster_name") if c else None

    def _memo(self, key, fn):
        with self._lock:
            hit = self._cached.get(key)
            if hit and time.time() - hit[0] < self.cache:
                return hit[1]
        val = fn()
        with self._lock:
            self._cached[key] = (time.time(), val)
        return val

    def quorate(self) -> bool | None:
        if self.quorum_hook is not None:
            return self.quorum_hook()
        if self.conf() is None:
            return None
        return self._memo("q", self._corosync_quorate)

    def _corosync_quorate(self) -> bool:
        try:
            return subprocess.run(["corosync-quorumtool", "-s"], capture_output=True, timeout=5).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def members(self) -> list[str]:
        if self.members_hook is not None:
            return list(self.members_hook())
        q = self.quorate()
        if q is None:
            return [self.node]
        if self.quorum_hook is not None:
            return [n["name"] for n in self.nodes()] if q else [self.node]
        return self._memo("m", self._corosync_members)

    def _corosync_members(self) -> list[str]:
        try:
            res = subprocess.run(["corosync-quorumtool", "-l", "-n"], capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            return [self.node]
        by_id = {str(n.get("nodeid")): n["name"] for n in self.nodes()}
        by_addr = {}
        for n in self.nodes():
            for k, v in n.items():
                if k.startswith("ring") and k.endswith("_addr"):
                    by_addr[v] = n["name"]
        out = []
        for line in res.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0].isdigit():
                name = by_id.get(parts[0]) or by_addr.get(parts[2]) or parts[2]
                out.append(name)
        return out or [self.node]


# ---------------------------------------------------------------- host statistics (this machine)
def _meminfo() -> dict:
    out = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return out


def _uptime() -> int:
    try:
        return int(float(Path("/proc/uptime").read_text().split()[0]))
    except OSError:
        return 0


def _cpu_count() -> int:
    return os.cpu_count() or 1


def _loadavg() -> list[str]:
    try:
        return Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        return ["0.00", "0.00", "0.00"]


def _rootfs() -> dict:
    st = os.statvfs("/")
    total = st.f_blocks * st.f_frsize
    free = st.f_bfree * st.f_frsize
    return {"total": total, "used": total - free, "free": free, "avail": st.f_bavail * st.f_frsize}


def _cpu_usage() -> float:
    try:
        return min(1.0, float(_loadavg()[0]) / _cpu_count())
    except ValueError:
        return 0.0


# ---------------------------------------------------------------- the API
class PVEAPI:
    def __init__(self, pve_dir, node: str, pve_version: int = 8, quorum=None, members=None):
        self.store = S.Store(pve_dir)
        S.mkdirs(self.store)
        self.node = node
        self.major = int(str(pve_version).split(".")[0])
        self.cluster = ClusterView(self.store, node, quorum=quorum, members=members)
        self.routes = []
        for method, template in SC.ENDPOINTS:
            fn = getattr(self, "h_" + method.lower() + re.sub(r"[^a-z0-9]+", "_", template.lower()).rstrip("_"))
            rx = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")
            self.routes.append((method, template, rx, fn))

    # ------------------------------------------------------------ dispatch
    def handle(self, method: str, path: str, params: dict, headers) -> tuple[int, str, dict]:
        """-> (status, reason, body). Never raises."""
        try:
            data = self._dispatch(method, path, params, headers)
            return 200, "OK", {"data": data}
        except APIError as e:
            body = {"data": None, "message": e.msg + "\n"}
            if e.errors:
                body["errors"] = e.errors
            return e.status, e.msg.split("\n")[0], body
        except A.AuthError as e:
            return 401, e.msg, {"data": None, "message": e.msg + "\n"}
        except A.PermissionDenied as e:
            return 403, e.msg, {"data": None, "message": e.msg + "\n"}
        except SC.ParamError as e:
            return 400, "Parameter verification failed.", {"data": None, "errors": e.errors,
                                                           "message": "Parameter verification failed.\n"}
        except L.PVEError as e:  # a cfs lock timeout, as pmxcfs reports it
            return 500, e.msg.split("\n")[-1], {"data": None, "message": e.msg + "\n"}

    def _dispatch(self, method, path, params, headers):
        rel = path[len(API_PREFIX):] if path.startswith(API_PREFIX) else path
        rel = "/" + rel.strip("/")
        if method == "POST" and rel == "/access/ticket":
            schema = SC.endpoint_schema(method, rel, self.major)
            return self.h_post_access_ticket(None, SC.validate(schema, dict(params)))
        ident = A.authenticate(self.store, headers, method)
        for m, template, rx, fn in self.routes:
            if m != method:
                continue
            mo = rx.match(rel)
            if not mo:
                continue
            schema = SC.endpoint_schema(method, template, self.major)
            if schema is None:
                break
            full = dict(params)
            for k, v in mo.groupdict().items():
                full[k] = urllib.parse.unquote(v)
            pre = getattr(fn, "perm", None)
            if pre:
                self.check(ident, *pre)
            SC.validate(schema, full)
            self.refuse_write_without_quorum(method)
            return fn(ident, full)
        raise APIError(501, f"Method '{method} {rel}' not implemented")

    def refuse_write_without_quorum(self, method: str) -> None:
        """A member without quorum has a read-only /etc/pve: every write is refused."""
        if method != "GET" and self.cluster.quorate() is False:
            fail("cluster not ready - no quorum?")

    # ------------------------------------------------------------ permission helpers
    def users(self) -> dict:
        return A.read_users(self.store)

    def check(self, ident, path, privs, any_of=False):
        A.check(self.users(), ident, path, privs, any_of)

    def has(self, ident, path, privs, any_of=False) -> bool:
        return A.has(self.users(), ident, path, privs, any_of)

    # ------------------------------------------------------------ version / nodes / cluster status
    def version_data(self):
        return dict(VERSIONS.get(self.major, VERSIONS[8]), console="html5")

    def h_get_version(self, ident, p):
        return self.version_data()

    def _node_names(self) -> list[str]:
        return [n["name"] for n in self.cluster.nodes()]

    def _online(self) -> set:
        return set(self.cluster.members())

    def _fingerprint(self, node: str) -> str | None:
        try:
            pem = self.store.read_text(f"nodes/{node}/pve-ssl.pem")
            der = ssl.PEM_cert_to_DER_cert(pem)
        except (ValueError, OSError):
            return None
        h = hashlib.sha256(der).hexdigest().upper()
        return ":".join(h[i:i + 2] for i in range(0, len(h), 2))

    def _node_stats(self) -> dict:
        mem = _meminfo()
        rootfs = _rootfs()
        return {"maxcpu": _cpu_count(), "cpu": _cpu_usage(), "maxmem": mem.get("MemTotal", 0),
                "mem": mem.get("MemTotal", 0) - mem.get("MemAvailable", 0), "maxdisk": rootfs["total"],
                "disk": rootfs["used"], "uptime": _uptime()}

    def h_get_nodes(self, ident, p):
        online = self._online()
        out = []
        for name in sorted(self._node_names()):
            e = {"node": name, "id": f"node/{name}", "type": "node",
                 "status": "online" if name in online else "offline"}
            fp = self._fingerprint(name)
            if fp:
                e["ssl_fingerprint"] = fp
            if name in online and self.has(ident, f"/nodes/{name}", "Sys.Audit"):
                e.update(self._node_stats(), level="")
            out.append(e)
        return out

    def _node_or_fail(self, node):
        if node not in self._node_names():
            fail(f"hostname lookup '{node}' failed - failed to get address info for: {node}: "
                 f"Name or service not known")
        if node not in self._online():
            fail("Connection refused", 595)

    def h_get_nodes_node_status(self, ident, p):
        node = p["node"]
        self.check(ident, f"/nodes/{node}", "Sys.Audit")
        self._node_or_fail(node)
        mem, rootfs = _meminfo(), _rootfs()
        v = self.version_data()
        uname = os.uname()
        return {
            "uptime": _uptime(), "cpu": _cpu_usage(), "wait": 0, "idle": 0,
            "loadavg": _loadavg(), "kversion": f"{uname.sysname} {uname.release} {uname.version}",
            "pveversion": f"pve-manager/{v['version']}/{v['repoid']}",
            "cpuinfo": {"cpus": _cpu_count(), "sockets": 1, "cores": _cpu_count(), "model": "lab CPU",
                        "mhz": "2000.000", "hvm": "1", "user_hz": 100, "flags": ""},
            "memory": {"total": mem.get("MemTotal", 0), "free": mem.get("MemAvailable", 0),
                       "used": mem.get("MemTotal", 0) - mem.get("MemAvailable", 0),
                       "available": mem.get("MemAvailable", 0)},
            "swap": {"total": mem.get("SwapTotal", 0), "free": mem.get("SwapFree", 0),
                     "used": mem.get("SwapTotal", 0) - mem.get("SwapFree", 0)},
            "rootfs": rootfs, "ksm": {"shared": 0},
            "boot-info": {"mode": "efi", "secureboot": 0},
            "current-kernel": {"sysname": uname.sysname, "release": uname.release, "version": uname.version,
                               "machine": uname.machine},
        }

    def h_get_nodes_node_version(self, ident, p):
        self._node_or_fail(p["node"])
        return self.version_data()

    def h_get_nodes_node_subscription(self, ident, p):
        self.check(ident, f"/nodes/{p['node']}", "Sys.Audit")
        self._node_or_fail(p["node"])
        return {"status": "notfound", "message": "There is no subscription key",
                "serverid": hashlib.md5(p["node"].encode()).hexdigest().upper(),
                "url": "https://www.proxmox.com/en/proxmox-virtual-environment/pricing"}

    def _guests(self, ident, kind: str, node: str | None = None) -> list[dict]:
        """Guests of one kind (qemu/lxc) the caller may audit, as stopped: the lab runs none."""
        out = []
        for vmid, guest in sorted(L.vmlist(self.store.dir).items(), key=lambda item: int(item[0])):
            if guest["type"] != kind or (node and guest["node"] != node) or not self.has(ident, f"/vms/{vmid}", "VM.Audit"):
                continue
            conf = L.parse_guest_conf(self.store.read_text(f"nodes/{guest['node']}/{L.GUEST_DIRS[kind]}/{vmid}.conf"))
            out.append({"vmid": int(vmid), "name": conf.get("name", f"VM {vmid}"), "status": "stopped", "node": guest["node"],
                        "maxmem": int(conf.get("memory", "2048")) * 1024 * 1024, "cpus": int(conf.get("cores", "1")),
                        "uptime": 0, "cpu": 0, "mem": 0})
        return out

    def h_get_nodes_node_qemu(self, ident, p):
        self._node_or_fail(p["node"])
        return [{k: v for k, v in g.items() if k != "node"} for g in self._guests(ident, "qemu", p["node"])]

    def h_get_nodes_node_lxc(self, ident, p):
        self._node_or_fail(p["node"])
        return [{k: v for k, v in g.items() if k != "node"} for g in self._guests(ident, "lxc", p["node"])]

    def h_get_nodes_node_replication(self, ident, p):
        self._node_or_fail(p["node"])
        return []

    def h_get_cluster_status(self, ident, p):
        self.check(ident, "/", "Sys.Audit")
        q = self.cluster.quorate()
        c = self.cluster.conf()
        if q is None or c is None:
            return [{"type": "node", "id": f"node/{self.node}", "name": self.node, "ip": self._node_ip(self.node),
                     "local": 1, "nodeid": 0, "online": 1, "level": ""}]
        online = self._online()
        nodes = self.cluster.nodes()
        out = [{"type": "cluster", "id": "cluster", "name": self.cluster.cluster_name() or "",
                "nodes": len(nodes), "version": c["config_version"],
                "quorate": 1 if q else 0}]
        for n in nodes:
            e = {"type": "node", "id": f"node/{n['name']}", "name": n["name"],
                 "nodeid": int(n.get("nodeid", 0)), "local": 1 if n["name"] == self.node else 0,
                 "online": 1 if n["name"] in online else 0, "level": ""}
            ip = n.get("ring0_addr")
            if ip:
                e["ip"] = ip
            out.append(e)
        return out

    def _node_ip(self, node):
        for n in self.cluster.nodes():
            if n["name"] == node and n.get("ring0_addr"):
                return n["ring0_addr"]
        return "127.0.0.1"

    def h_get_cluster_config_qdevice(self, ident, p):
        self.check(ident, "/", "Sys.Audit")
        return {}

    def h_get_cluster_resources(self, ident, p):
        typ = p.get("type")
        online = self._online()
        out = []
        if typ in (None, "node"):
            stats = self._node_stats()
            has_ha = bool(self.store.sections("ha/resources.cfg"))
            maint = set(self._lab_ha_state().get("maintenance", []))
            for name in sorted(self._node_names()):
                if not self.has(ident, f"/nodes/{name}", "Sys.Audit"):
                    continue
                e = {"id": f"node/{name}", "type": "node", "node": name,
                     "status": "online" if name in online else "offline", "level": "", "cgroup-mode": 2}
                if has_ha:
                    e["hastate"] = ("maintenance" if name in maint else "online") if name in online else "unknown"
                if name in online:
                    e.update(stats)
                out.append(e)
        if typ in (None, "vm"):
            for kind in ("qemu", "lxc"):
                for g in self._guests(ident, kind):
                    out.append({**g, "id": f"{kind}/{g['vmid']}", "type": kind, "template": 0,
                                "maxdisk": 0, "disk": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0})
        if typ in (None, "storage"):
            secs = self.store.sections("storage.cfg")
            for name in sorted(self._node_names()):
                for t, sid, opts in secs:
                    nodes = opts.get("nodes")
                    if nodes and name not in SC.split_list(nodes):
                        continue
                    if opts.get("disable") in ("", "1") and "disable" in opts:
                        continue
                    if not self.has(ident, f"/storage/{sid}", ["Datastore.Audit", "Datastore.AllocateSpace"], True):
                        continue
                    e = {"id": f"storage/{name}/{sid}", "type": "storage", "node": name, "storage": sid,
                         "plugintype": t, "content": opts.get("content", SC.STORAGE_DEFAULT_CONTENT.get(t, "")),
                         "shared": 1 if (t in SC.STORAGE_SHARED_TYPES or opts.get("shared") == "1") else 0,
                         "status": "unknown", "disk": 0, "maxdisk": 0}
                    if name in online:
                        e.update(self._storage_usage(t, opts))
                    out.append(e)
        return out

    def _storage_usage(self, typ, opts) -> dict:
        if typ == "dir":
            try:
                st = os.statvfs(opts.get("path", "/"))
            except OSError:
                return {"status": "unknown"}
            total = st.f_blocks * st.f_frsize
            return {"status": "available", "maxdisk": total, "disk": total - st.f_bfree * st.f_frsize}
        if typ == "rbd":
            df = self.cluster._memo("ceph-df", self._ceph_df)
            pool = opts.get("pool", "rbd")
            for pl in (df or {}).get("pools", []):
                if pl.get("name") == pool:
                    s = pl.get("stats", {})
                    used = int(s.get("bytes_used", s.get("stored", 0)))
                    return {"status": "available", "disk": used, "maxdisk": used + int(s.get("max_avail", 0))}
            return {"status": "unknown"}
        return {"status": "unknown"}  # remote storages (pbs, nfs, ...) are never contacted

    def _ceph_df(self):
        if not Path("/etc/ceph/ceph.conf").exists():
            return None
        try:
            res = subprocess.run(["ceph", "--connect-timeout", "3", "df", "--format", "json"], capture_output=True,
                                 text=True, timeout=6)
            return json.loads(res.stdout) if res.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired, ValueError):
            return None

    # ------------------------------------------------------------ HA: common
    HA_LOCK = "domain-ha"

    def _groups_migrated(self) -> bool:
        return not self.store.sections("ha/groups.cfg")

    def _parse_sid(self, sid: str) -> tuple[str, str]:
        if sid.isdigit():
            guest = L.vmlist(self.store.dir).get(sid)
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

    @staticmethod
    def _typed(opts: dict, types: dict) -> dict:
        out = {}
        for k, v in opts.items():
            spec = types.get(k, {"type": "string"})
            out[k] = SC.typed(v, spec)
        return out

    # ------------------------------------------------------------ HA groups
    def _group_entry(self, name, opts, digest):
        e = self._typed(opts, SC.config_props("PUT", "/cluster/ha/groups/{group}", self.major))
        e.update(group=name, type="group", digest=digest)
        return e

    def h_get_cluster_ha_groups(self, ident, p):
        if self.major >= 9 and self._groups_migrated():
            fail("cannot index groups: ha groups have been migrated to rules")
        digest = self.store.digest("ha/groups.cfg")
        return [self._group_entry(i, o, digest) for t, i, o in self.store.sections("ha/groups.cfg") if t == "group"]
    h_get_cluster_ha_groups.perm = ("/", "Sys.Audit")

    def h_get_cluster_ha_groups_group(self, ident, p):
        if self.major >= 9 and self._groups_migrated():
            fail("cannot read group: ha groups have been migrated to rules")
        for t, i, o in self.store.sections("ha/groups.cfg"):
            if i == p["group"]:
                return self._group_entry(i, o, self.store.digest("ha/groups.cfg"))
        fail(f"no such ha group '{p['group']}'")
    h_get_cluster_ha_groups_group.perm = ("/", "Sys.Audit")

    def h_post_cluster_ha_groups(self, ident, p):
        if self.major >= 9 and self._groups_migrated():
            fail("cannot create group: ha groups have been migrated to rules")
        if p.get("type", "group") != "group":
            fail("types does not match")
        name = p["group"]
        opts = {k: p[k] for k in ("comment", "nodes", "nofailback", "restricted") if k in p}
        with self.store.lock(self.HA_LOCK):
            secs = self.store.sections("ha/groups.cfg")
            if any(i == name for _, i, _ in secs):
                fail(f"create ha group failed: ha group ID '{name}' already defined")
            secs.append(["group", name, S.order_options(opts, ("nodes",))])
            self.store.write_sections("ha/groups.cfg", secs)
    h_post_cluster_ha_groups.perm = ("/", "Sys.Console")

    def _apply_delete(self, opts: dict, delete: str | None, allowed: dict, required=(), set_keys=()):
        for k in SC.split_list(delete or ""):
            if k not in allowed:
                fail(f"no such option '{k}'")
            if k in required:
                fail(f"unable to delete required option '{k}'")
            if k in set_keys:
                fail(f"cannot set and delete property '{k}' at the same time!")
            opts.pop(k, None)

    def _check_digest(self, rel, digest):
        if digest and digest != self.store.digest(rel):
            fail("detected modified configuration - file changed by other user? Try again.")

    def _existing_section(self, rel, ident, digest, missing):
        """Under the file's lock: (all sections, the one named `ident`); PVE's error when it is absent."""
        self._check_digest(rel, digest)
        secs = self.store.sections(rel)
        sec = next((s for s in secs if s[1] == ident), None)
        if sec is None:
            fail(missing)
        return secs, sec

    def h_put_cluster_ha_groups_group(self, ident, p):
        if self.major >= 9 and self._groups_migrated():
            fail("cannot update group: ha groups have been migrated to rules")
        name = p["group"]
        with self.store.lock(self.HA_LOCK):
            secs, sec = self._existing_section("ha/groups.cfg", name, p.get("digest"),
                                               f"update ha group failed: no such ha group '{name}'")
            opts = dict(sec[2])
            sets = {k: p[k] for k in ("comment", "nodes", "nofailback", "restricted") if k in p}
            self._apply_delete(opts, p.get("delete"), SC.config_props("PUT", "/cluster/ha/groups/{group}", self.major),
                               ("nodes",), sets)
            opts.update(sets)
            sec[2] = S.order_options(opts, ("nodes",))
            self.store.write_sections("ha/groups.cfg", secs)
    h_put_cluster_ha_groups_group.perm = ("/", "Sys.Console")

    def h_delete_cluster_ha_groups_group(self, ident, p):
        if self.major >= 9 and self._groups_migrated():
            fail("cannot delete group: ha groups have been migrated to rules")
        name = p["group"]
        with self.store.lock(self.HA_LOCK):
            secs = self.store.sections("ha/groups.cfg")
            if not any(s[1] == name for s in secs):
                fail(f"delete ha group failed: no such ha group '{name}'")
            for t, i, o in self.store.sections("ha/resources.cfg"):
                if o.get("group") == name:
                    fail(f"delete ha group failed: ha group is used by service '{t}:{i}'")
            self.store.write_sections("ha/groups.cfg", [s for s in secs if s[1] != name])
    h_delete_cluster_ha_groups_group.perm = ("/", "Sys.Console")

    # ------------------------------------------------------------ HA resources
    def _res_props(self):
        return SC.config_props("PUT", "/cluster/ha/resources/{sid}", self.major)

    def _resource_entry(self, typ, vmid, opts, digest, exclude_group=False):
        e = self._typed(opts, self._res_props())
        if exclude_group:
            e.pop("group", None)
        e.update(sid=f"{typ}:{vmid}", type=typ, digest=digest)
        e.setdefault("state", "started")
        return e

    def h_get_cluster_ha_resources(self, ident, p):
        digest = self.store.digest("ha/resources.cfg")
        excl = self.major >= 9 and self._groups_migrated()
        groups = {i for _, i, _ in self.store.sections("ha/groups.cfg")}
        out = []
        for t, i, o in self.store.sections("ha/resources.cfg"):
            if p.get("type") and p["type"] != t:
                continue
            e = self._resource_entry(t, i, o, digest, excl)
            if e.get("group") and e["group"] not in groups:
                e["errors"] = {"group": f"group '{e['group']}' does not exist"}
            out.append(e)
        return out
    h_get_cluster_ha_resources.perm = ("/", "Sys.Audit")

    def h_get_cluster_ha_resources_sid(self, ident, p):
        typ, vmid = self._parse_sid(p["sid"])
        for t, i, o in self.store.sections("ha/resources.cfg"):
            if t == typ and i == vmid:
                excl = self.major >= 9 and self._groups_migrated()
                return self._resource_entry(t, i, o, self.store.digest("ha/resources.cfg"), excl)
        fail(f"no such resource '{typ}:{vmid}'")
    h_get_cluster_ha_resources_sid.perm = ("/", "Sys.Audit")

    RES_KEYS = ("comment", "failback", "group", "max_relocate", "max_restart", "state")

    def h_post_cluster_ha_resources(self, ident, p):
        typ, vmid = self._parse_sid(p["sid"])
        if p.get("type") and p["type"] != typ:
            fail("types does not match")
        if "group" in p and self.major >= 9 and self._groups_migrated():
            fail("invalid parameter 'group': ha groups have been migrated to rules")
        missing = L.ha_guest_missing(typ, vmid, self.store.dir)
        if missing:
            fail(missing)
        opts = {k: p[k] for k in self.RES_KEYS if k in p}
        with self.store.lock(self.HA_LOCK):
            secs = self.store.sections("ha/resources.cfg")
            if any(t == typ and i == vmid for t, i, _ in secs):
                fail(f"create resource failed: resource ID '{typ}:{vmid}' already defined")
            if p.get("group") and not any(i == p["group"] for _, i, _ in self.store.sections("ha/groups.cfg")):
                fail(f"create resource failed: HA group '{p['group']}' does not exist")
            secs.append([typ, vmid, S.order_options(opts)])
            self.store.write_sections("ha/resources.cfg", secs)
    h_post_cluster_ha_resources.perm = ("/", "Sys.Console")

    def h_put_cluster_ha_resources_sid(self, ident, p):
        typ, vmid = self._parse_sid(p["sid"])
        if p.get("type") and p["type"] != typ:
            fail("types does not match")
        if p.get("group"):
            if self.major >= 9 and self._groups_migrated():
                fail("invalid parameter 'group': ha groups have been migrated to rules")
            if not any(i == p["group"] for _, i, _ in self.store.sections("ha/groups.cfg")):
                fail(f"HA group '{p['group']}' does not exist")
        with self.store.lock(self.HA_LOCK):
            self._check_digest("ha/resources.cfg", p.get("digest"))
            secs = self.store.sections("ha/resources.cfg")
            sec = next((s for s in secs if s[0] == typ and s[1] == vmid), None)
            if sec is None:
                fail(f"no such resource '{typ}:{vmid}'")
            opts = dict(sec[2])
            sets = {k: p[k] for k in self.RES_KEYS if k in p}
            self._apply_delete(opts, p.get("delete"), self._res_props(), (), sets)
            opts.update(sets)
            sec[2] = S.order_options(opts)
            self.store.write_sections("ha/resources.cfg", secs)
    h_put_cluster_ha_resources_sid.perm = ("/", "Sys.Console")

    def h_delete_cluster_ha_resources_sid(self, ident, p):
        typ, vmid = self._parse_sid(p["sid"])
        sid = f"{typ}:{vmid}"
        purge = p.get("purge", "1") == "1"
        with self.store.lock(self.HA_LOCK):
            secs = self.store.sections("ha/resources.cfg")
            if not any(t == typ and i == vmid for t, i, _ in secs):
                fail(f"cannot delete service '{sid}', not HA managed!")
            self.store.write_sections("ha/resources.cfg", [s for s in secs if not (s[0] == typ and s[1] == vmid)])
            if purge and self.store.path("ha/rules.cfg").exists():
                rules = []
                for t, i, o in self.store.sections("ha/rules.cfg"):
                    res = [r for r in SC.split_list(o.get("resources", "")) if r != sid]
                    if not res:
                        continue
                    o["resources"] = ",".join(res)
                    rules.append([t, i, o])
                self.store.write_sections("ha/rules.cfg", rules)
    h_delete_cluster_ha_resources_sid.perm = ("/", "Sys.Console")

    # ------------------------------------------------------------ HA rules (PVE 9)
    RULE_KEYS = ("affinity", "comment", "disable", "nodes", "resources", "strict")
    RULE_TYPE_OPTS = {"node-affinity": ("comment", "disable", "resources", "nodes", "strict"),
                      "resource-affinity": ("comment", "disable", "resources", "affinity")}

    def _rule_entry(self, typ, rid, opts, digest, order):
        e = self._typed(opts, SC.config_props("PUT", "/cluster/ha/rules/{rule}", self.major))
        e.update(rule=rid, type=typ, digest=digest, order=order)
        if typ == "node-affinity":
            e.setdefault("strict", 0)
        return e

    def h_get_cluster_ha_rules(self, ident, p):
        digest = self.store.digest("ha/rules.cfg")
        out = []
        for n, (t, i, o) in enumerate(self.store.sections("ha/rules.cfg"), 1):
            if p.get("type") and p["type"] != t:
                continue
            if p.get("resource") and p["resource"] not in SC.split_list(o.get("resources", "")):
                continue
            out.append(self._rule_entry(t, i, o, digest, n))
        return out
    h_get_cluster_ha_rules.perm = ("/", "Sys.Audit")

    def h_get_cluster_ha_rules_rule(self, ident, p):
        for n, (t, i, o) in enumerate(self.store.sections("ha/rules.cfg"), 1):
            if i == p["rule"]:
                return self._rule_entry(t, i, o, self.store.digest("ha/rules.cfg"), n)
        fail(f"no such ha rule '{p['rule']}'")
    h_get_cluster_ha_rules_rule.perm = ("/", "Sys.Audit")

    def _check_rule_opts(self, typ, p, create):
        allowed = self.RULE_TYPE_OPTS[typ]
        for k in self.RULE_KEYS:
            if k in p and k not in allowed:
                fail(f"unexpected property '{k}'")
        if "resources" in p:
            res = SC.split_list(p["resources"])
            if not res:
                fail("no resources were specified")
            managed = {f"{t}:{i}" for t, i, _ in self.store.sections("ha/resources.cfg")}
            missing = [r for r in sorted(res) if r not in managed]
            if missing:
                fail(f"cannot use unmanaged resource(s) {', '.join(missing)}.")
            p["resources"] = ",".join(sorted(set(res)))
        if "nodes" in p:
            nodes = [n.split(":")[0] for n in SC.split_list(p["nodes"])]
            if not nodes:
                fail("no nodes were specified")
            known = set(self._node_names()) | {self.node}
            bad = [n for n in sorted(nodes) if n not in known]
            if bad:
                fail(f"cannot use non-existent node(s) {', '.join(bad)}.")
        if create and typ == "node-affinity" and "nodes" not in p:
            fail("missing value for required option 'nodes'")
        if create and typ == "resource-affinity" and "affinity" not in p:
            fail("missing value for required option 'affinity'")

    def h_post_cluster_ha_rules(self, ident, p):
        if not self._groups_migrated():
            fail("cannot create ha rule: ha groups have not been migrated yet")
        typ, rid = p["type"], p["rule"]
        if p.get("disable") == "0":
            p.pop("disable")
        with self.store.lock(self.HA_LOCK):
            secs = self.store.sections("ha/rules.cfg")
            if any(i == rid for _, i, _ in secs):
                fail(f"create ha rule failed: HA rule '{rid}' already defined")
            try:
                self._check_rule_opts(typ, p, True)
            except APIError as e:
                fail(f"create ha rule failed: {e.msg}")
            opts = {k: p[k] for k in self.RULE_KEYS if k in p}
            secs.append([typ, rid, S.order_options(opts, ("resources",) + (("nodes",) if typ == "node-affinity" else ()))])
            self.store.write_sections("ha/rules.cfg", secs)
    h_post_cluster_ha_rules.perm = ("/", "Sys.Console")

    def h_put_cluster_ha_rules_rule(self, ident, p):
        if not self._groups_migrated():
            fail("cannot update ha rule: ha groups have not been migrated yet")
        rid = p["rule"]
        if p.get("disable") == "0":
            p.pop("disable")
        with self.store.lock(self.HA_LOCK):
            secs, sec = self._existing_section("ha/rules.cfg", rid, p.get("digest"),
                                               f"update HA rules failed: HA rule '{rid}' does not exist")
            typ = sec[0]
            if p.get("type") and p["type"] != typ:
                fail(f"update HA rules failed: types does not match")
            try:
                self._check_rule_opts(typ, p, False)
            except APIError as e:
                fail(f"update HA rules failed: {e.msg}")
            opts = dict(sec[2])
            sets = {k: p[k] for k in self.RULE_KEYS if k in p}
            required = ("resources",) + (("nodes",) if typ == "node-affinity" else ())
            self._apply_delete(opts, p.get("delete"), SC.config_props("PUT", "/cluster/ha/rules/{rule}", self.major),
                               required, sets)
            opts.update(sets)
            sec[2] = S.order_options(opts, required)
            self.store.write_sections("ha/rules.cfg", secs)
    h_put_cluster_ha_rules_rule.perm = ("/", "Sys.Console")

    def h_delete_cluster_ha_rules_rule(self, ident, p):
        with self.store.lock(self.HA_LOCK):
            secs = self.store.sections("ha/rules.cfg")
            self.store.write_sections("ha/rules.cfg", [s for s in secs if s[1] != p["rule"]])
    h_delete_cluster_ha_rules_rule.perm = ("/", "Sys.Console")

    # ------------------------------------------------------------ HA status (as `ha-manager status`)
    def _lab_ha_state(self) -> dict:
        try:
            return json.loads(self.store.read_text("ha/lab-manager-status.json") or "{}")
        except ValueError:
            return {}

    def h_get_cluster_ha_status_current(self, ident, p):
        q = self.cluster.quorate()
        quorate = q is not False
        now = int(time.time())
        tstr = time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(now))
        out = [{"id": "quorum", "type": "quorum", "node": self.node, "quorate": 1 if quorate else 0,
                "status": "OK" if quorate else f"No quorum on node '{self.node}'!"}]
        resources = self.store.sections("ha/resources.cfg")
        online = sorted(self._online()) if quorate else [self.node]
        st = self._lab_ha_state()
        maint = set(st.get("maintenance", []))
        if resources and quorate:
            master = online[0] if online else self.node
            out.append({"id": "master", "type": "master", "node": master, "timestamp": now,
                        "status": f"{master} (active, {tstr})"})
            for n in sorted(self._node_names()):
                mode = "maintenance mode" if n in maint else ("active" if n in online else "old timestamp - dead?")
                out.append({"id": f"lrm:{n}", "type": "lrm", "node": n, "timestamp": now,
                            "status": f"{n} ({mode}, {tstr})"})
        groups = {i: o for _, i, o in self.store.sections("ha/groups.cfg")}
        rules = self.store.sections("ha/rules.cfg") if self.major >= 9 else []
        for t, i, o in resources:
            sid = f"{t}:{i}"
            state = o.get("state", "started")
            state = {"enabled": "started", "disabled": "stopped"}.get(state, state)
            prio = None
            restricted = False
            g = groups.get(o.get("group", ""))
            if g:
                prio = {n.split(":")[0]: int(n.split(":")[1]) if ":" in n else 0 for n in SC.split_list(g.get("nodes", ""))}
                restricted = g.get("restricted") == "1"
            for rt, _, ro in rules:
                if rt == "node-affinity" and sid in SC.split_list(ro.get("resources", "")) and "disable" not in ro:
                    prio = {n.split(":")[0]: int(n.split(":")[1]) if ":" in n else 0 for n in SC.split_list(ro.get("nodes", ""))}
                    restricted = ro.get("strict") == "1"
            cands = [n for n in online if n not in maint]
            if prio:
                inside = sorted((n for n in cands if n in prio), key=lambda n: (-prio[n], n))
                cands = inside or ([] if restricted else cands)
            node = st.get("placement", {}).get(sid)
            if node not in cands:
                node = cands[0] if cands else self.node
            if not quorate and state == "started":
                state = "freeze"
            e = {"id": f"service:{sid}", "type": "service", "sid": sid, "node": node, "state": state,
                 "crm_state": state, "request_state": o.get("state", "started"),
                 "max_restart": int(o.get("max_restart", 1)), "max_relocate": int(o.get("max_relocate", 1)),
                 "status": f"{sid} ({node}, {state})"}
            if o.get("group"):
                e["group"] = o["group"]
            out.append(e)
        return out
    h_get_cluster_ha_status_current.perm = ("/", "Sys.Audit")

    # ------------------------------------------------------------ cluster options (datacenter.cfg)
    DC_LOCK = "file-datacenter_cfg"

    def h_get_cluster_options(self, ident, p):
        desc, kv = S.parse_datacenter_cfg(self.store.read_text("datacenter.cfg"))
        full = self.has(ident, "/", "Sys.Audit")
        out = {}
        props = SC.config_props("PUT", "/cluster/options", self.major)
        for k, v in kv.items():
            if not full and k not in ("console", "tag-style"):
                continue
            fmt = SC.format_of(props.get(k, {}))
            if fmt is not None:  # a property string, returned as an object
                try:
                    out[k] = SC.parse_property_string(fmt, v, k, self.major)
                except ValueError:
                    out[k] = v
                if k == "user-tag-access" and "user-allow-list" in out[k]:
                    out[k]["user-allow-list"] = out[k]["user-allow-list"].split(";")
            elif k == "registered-tags":
                out[k] = v.split(";")
            else:
                out[k] = SC.typed(v, props.get(k, {}))
        if full:
            out["description"] = desc
            out.setdefault("mac_prefix", "BC:24:11")
        out["allowed-tags"] = []
        return out

    def h_put_cluster_options(self, ident, p):
        self.check(ident, "/", "Sys.Modify")
        delete = SC.split_list(p.pop("delete", ""))
        with self.store.lock(self.DC_LOCK):
            desc, kv = S.parse_datacenter_cfg(self.store.read_text("datacenter.cfg"))
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
            self.store.write_text("datacenter.cfg", S.format_datacenter_cfg(desc, kv))

    # ------------------------------------------------------------ storage (storage.cfg)
    ST_LOCK = "file-storage_cfg"

    def _storage_entry(self, typ, sid, opts, digest):
        e = self._typed(opts, SC.config_props("POST", "/storage", self.major))
        if "disable" in opts:
            e["disable"] = 1 if opts["disable"] in ("", "1") else 0
        e.update(storage=sid, type=typ, digest=digest)
        e.setdefault("content", SC.STORAGE_DEFAULT_CONTENT.get(typ, ""))
        if typ in SC.STORAGE_SHARED_TYPES:
            e["shared"] = 1
        for k in ("password", "encryption-key", "keyring", "master-pubkey"):
            e.pop(k, None)
        if typ == "pbs" and self.store.path(f"priv/storage/{sid}.enc").exists():
            try:
                e["encryption-key"] = self.store.read_text(f"priv/storage/{sid}.enc").strip()
                json.loads(e["encryption-key"])
            except ValueError:
                e.pop("encryption-key", None)
        return e

    def h_get_storage(self, ident, p):
        digest = self.store.digest("storage.cfg")
        out = []
        for t, i, o in self.store.sections("storage.cfg"):
            if p.get("type") and p["type"] != t:
                continue
            if not self.has(ident, f"/storage/{i}", ["Datastore.Audit", "Datastore.AllocateSpace"], True):
                continue
            out.append(self._storage_entry(t, i, o, digest))
        return out

    def h_get_storage_storage(self, ident, p):
        sid = p["storage"]
        self.check(ident, f"/storage/{sid}", "Datastore.Allocate")
        for t, i, o in self.store.sections("storage.cfg"):
            if i == sid:
                return self._storage_entry(t, i, o, self.store.digest("storage.cfg"))
        fail(f"storage '{sid}' does not exist")

    def _storage_opts_check(self, typ, p, create):
        allowed = SC.STORAGE_TYPE_OPTIONS.get(typ)
        if allowed is None:
            fail(f"storage type '{typ}' is not supported by the lab API")
        for k in p:
            if k in ("storage", "type", "delete", "digest"):
                continue
            if k not in allowed:
                fail(f"unexpected property '{k}'")
            if not create and allowed[k].startswith("fixed"):
                fail(f"can't change value of fixed parameter '{k}'")
        if create:
            for k, kind in allowed.items():
                if kind == "fixed" and k not in p and not (typ in ("lvm",) and k == "base"):
                    fail(f"missing value for required option '{k}'")

    def _write_secret(self, typ, sid, key, value):
        ext = {"password": "pw", "encryption-key": "enc", "master-pubkey": "master.pem", "keyring": "keyring"}[key]
        if typ in ("rbd", "cephfs") and key == "keyring":
            rel = f"priv/ceph/{sid}.keyring"
        else:
            rel = f"priv/storage/{sid}.{ext}"
        if value is None:
            self.store.unlink(rel)
        else:
            self.store.write_text(rel, value + ("\n" if key == "password" else ""), 0o600)

    def _enabled_here(self, opts: dict) -> bool:
        """PVE::Storage::storage_check_enabled for this node: not disabled, and listed if `nodes` is set."""
        nodes = opts.get("nodes")
        return opts.get("disable") != "1" and (not nodes or self.node in SC.split_list(nodes))

    def h_post_storage(self, ident, p):
        self.check(ident, "/storage", "Datastore.Allocate")
        typ, sid = p["type"], p["storage"]
        if not p.get("nodes"):
            p.pop("nodes", None)
        try:
            self._storage_opts_check(typ, p, True)
        except APIError as e:
            fail(f"create storage failed: {e.msg}")
        sensitive = {k: p.pop(k) for k in SC.STORAGE_SENSITIVE.get(typ, ()) if k in p}
        opts = {k: v for k, v in p.items() if k not in ("storage", "type")}
        if "content" in opts:
            opts["content"] = ",".join(SC.split_list(opts["content"]))
        returned = {}
        with self.store.lock(self.ST_LOCK):
            secs = self.store.sections("storage.cfg")
            if any(i == sid for _, i, _ in secs):
                fail(f"create storage failed: storage ID '{sid}' already defined")
            if typ == "pbs" and self._enabled_here(opts):
                # PVE activates a new storage before saving it, to detect problems sooner.
                try:
                    pbsclient.activate(sid, opts, sensitive.get("password"))
                except pbsclient.ActivationError as error:
                    fail(f"create storage failed: {error}")
            fixed = tuple(k for k, kind in SC.STORAGE_TYPE_OPTIONS[typ].items() if kind == "fixed")
            secs.append([typ, sid, S.order_options(opts, fixed)])
            for key in SC.STORAGE_SENSITIVE.get(typ, ()):
                if key == "encryption-key" and sensitive.get(key) == "autogen":
                    keydata = json.dumps({"kdf": None, "created": time.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                                          "modified": time.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                                          "data": uuid.uuid4().hex, "fingerprint": ":".join(
                                              uuid.uuid4().hex[i:i + 2] for i in range(0, 32, 2))})
                    sensitive[key] = keydata
                    returned["encryption-key"] = keydata
                if key in sensitive or (typ == "pbs" and key == "password"):
                    self._write_secret(typ, sid, key, sensitive.get(key))
            if typ == "dir" and opts.get("mkdir", opts.get("create-base-path", "1")) == "1":
                try:
                    Path(opts["path"]).mkdir(parents=True, exist_ok=True)
                except OSError:
                    pass
            self.store.write_sections("storage.cfg", secs)
        res = {"storage": sid, "type": typ}
        if returned:
            res["config"] = returned
        return res

    def h_put_storage_storage(self, ident, p):
        sid = p["storage"]
        self.check(ident, f"/storage/{sid}", "Datastore.Allocate")
        delete = SC.split_list(p.pop("delete", "") or "")
        with self.store.lock(self.ST_LOCK):
            secs, sec = self._existing_section("storage.cfg", sid, p.get("digest"),
                                               f"update storage failed: storage '{sid}' does not exist")
            typ = sec[0]
            try:
                self._storage_opts_check(typ, {k: v for k, v in p.items() if k != "digest"}, False)
                for k in delete:
                    kind = SC.STORAGE_TYPE_OPTIONS[typ].get(k)
                    if kind is None:
                        fail(f"no such option '{k}'")
                    if kind == "fixed":
                        fail(f"unable to delete required option '{k}'")
                    if k in p:
                        fail(f"cannot set and delete property '{k}' at the same time!")
            except APIError as e:
                fail(f"update storage failed: {e.msg}")
            opts = dict(sec[2])
            for k in delete:
                if k in SC.STORAGE_SENSITIVE.get(typ, ()):
                    self._write_secret(typ, sid, k, None)
                opts.pop(k, None)
            for k, v in p.items():
                if k in ("storage", "digest"):
                    continue
                if k in SC.STORAGE_SENSITIVE.get(typ, ()):
                    self._write_secret(typ, sid, k, v)
                    continue
                opts[k] = ",".join(SC.split_list(v)) if k == "content" else v
            fixed = tuple(k for k, kind in SC.STORAGE_TYPE_OPTIONS[typ].items() if kind == "fixed")
            sec[2] = S.order_options(opts, fixed)
            self.store.write_sections("storage.cfg", secs)
        return {"storage": sid, "type": typ}

    def h_delete_storage_storage(self, ident, p):
        self.check(ident, "/storage", "Datastore.Allocate")
        sid = p["storage"]
        with self.store.lock(self.ST_LOCK):
            secs, sec = self._existing_section("storage.cfg", sid, None, f"delete storage failed: storage '{sid}' does not exist")
            for key in SC.STORAGE_SENSITIVE.get(sec[0], ()):
                self._write_secret(sec[0], sid, key, None)
            self.store.write_sections("storage.cfg", [s for s in secs if s[1] != sid])

    # ------------------------------------------------------------ backup jobs (jobs.cfg)
    JOBS_LOCK = "file-jobs_cfg"

    def _job_entry(self, jid, opts):
        props = SC.config_props("POST", "/cluster/backup", self.major)
        e = self._typed(opts, props)
        for k in ("fleecing", "performance", "prune-backups"):
            if k in opts:
                try:
                    e[k] = SC.parse_property_string(SC.format_of(props[k]), opts[k], k, self.major)
                except ValueError:
                    pass
        e.update(id=jid, type="vzdump")
        return e

    def _vzdump_checks(self, job, check_missing):
        if job.get("all") == "1" and job.get("vmid"):
            param_fail({"all": "option conflicts with option 'vmid'"})
        if job.get("exclude") and job.get("vmid"):
            param_fail({"exclude": "option conflicts with option 'vmid'"})
        if job.get("pool") and job.get("vmid"):
            param_fail({"pool": "option conflicts with option 'vmid'"})
        if check_missing and not (job.get("all") == "1" or job.get("stop") == "1" or job.get("pool")) \
                and not job.get("vmid"):
            param_fail({"vmid": "property is missing"})

    def _schedule_param(self, p, required):
        if "schedule" in p:
            if "starttime" in p:
                param_fail({"starttime": "'starttime' and 'schedule' cannot both be set"})
        elif "starttime" not in p:
            if required:
                param_fail({"schedule": "neither 'starttime' nor 'schedule' were set"})
        else:
            dow = ",".join(SC.split_list(p.get("dow", "")))
            p["schedule"] = p["starttime"] if not dow or dow == "mon,tue,wed,thu,fri,sat,sun" else f"{dow} {p['starttime']}"
        p.pop("starttime", None)
        p.pop("dow", None)

    def _vzdump_root_only(self, ident, p):
        if ident.authid != "root@pam":  # PVE compares the auth id: tokens of root are not root here
            for k in SC.VZDUMP_ROOT_ONLY:
                if k in p:
                    param_fail({k: "Only root may set this option."})

    def h_get_cluster_backup(self, ident, p):
        return [self._job_entry(i, o) for t, i, o in self.store.sections("jobs.cfg") if t == "vzdump"]
    h_get_cluster_backup.perm = ("/", "Sys.Audit")

    def h_get_cluster_backup_id(self, ident, p):
        for t, i, o in self.store.sections("jobs.cfg"):
            if t == "vzdump" and i == p["id"]:
                return self._job_entry(i, o)
        param_fail({"id": f"No such job '{p['id']}'"})
    h_get_cluster_backup_id.perm = ("/", "Sys.Audit")

    def h_post_cluster_backup(self, ident, p):
        self._vzdump_root_only(ident, p)
        if p.get("storage") and ident.userid != "root@pam":
            self.check(ident, f"/storage/{p['storage']}", "Datastore.Allocate")
        self._schedule_param(p, True)
        p.setdefault("enabled", "1")
        jid = p.pop("id", None) or str(uuid.uuid4())
        with self.store.lock(self.JOBS_LOCK):
            secs = self.store.sections("jobs.cfg")
            if any(i == jid for _, i, _ in secs):
                fail(f"Job '{jid}' already exists")
            self._vzdump_checks(p, True)
            if p.get("exclude") and not p.get("pool"):
                p["all"] = "1"
            secs.append(["vzdump", jid, S.order_options(p)])
            self.store.write_sections("jobs.cfg", secs)
    h_post_cluster_backup.perm = ("/", "Sys.Modify")

    def h_put_cluster_backup_id(self, ident, p):
        jid = p.pop("id")
        delete = SC.split_list(p.pop("delete", "") or "")
        self._vzdump_root_only(ident, p)
        self._schedule_param(p, False)
        with self.store.lock(self.JOBS_LOCK):
            secs = self.store.sections("jobs.cfg")
            if not p and not delete:
                fail("no options specified")
            self._vzdump_checks(p, False)
            sec = next((s for s in secs if s[1] == jid and s[0] == "vzdump"), None)
            if sec is None:
                fail("no such vzdump job")
            job = dict(sec[2])
            for k in delete:
                if k not in SC.vzdump_job_keys(self.major):
                    param_fail({"delete": f"unknown option '{k}'"})
                job.pop(k, None)
            job.update(p)
            if job.get("exclude") and not job.get("pool"):
                job["all"] = "1"
            if "vmid" in p:
                for k in ("all", "exclude", "pool"):
                    job.pop(k, None)
            elif p.get("all") == "1":
                job.pop("vmid", None)
                job.pop("pool", None)
            elif job.get("pool"):
                for k in ("vmid", "all", "exclude"):
                    job.pop(k, None)
            self._vzdump_checks(job, True)
            sec[2] = S.order_options(job)
            self.store.write_sections("jobs.cfg", secs)
    h_put_cluster_backup_id.perm = ("/", "Sys.Modify")

    def h_delete_cluster_backup_id(self, ident, p):
        jid = p["id"]
        with self.store.lock(self.JOBS_LOCK):
            secs = self.store.sections("jobs.cfg")
            if not any(i == jid for _, i, _ in secs):
                param_fail({"id": f"No such job '{jid}'"})
            self.store.write_sections("jobs.cfg", [s for s in secs if s[1] != jid])
    h_delete_cluster_backup_id.perm = ("/", "Sys.Modify")

    def h_get_cluster_backup_info_not_backed_up(self, ident, p):
        # no guests in the lab: the guests are the HA resources' VMIDs
        guests = {int(i): ("qemu" if t == "vm" else "lxc") for t, i, _ in self.store.sections("ha/resources.cfg")
                  if i.isdigit()}
        included = set()
        for t, i, o in self.store.sections("jobs.cfg"):
            if t != "vzdump":
                continue
            if o.get("all") == "1":
                excl = {int(v) for v in SC.split_list(o.get("exclude", "")) if v.isdigit()}
                included |= {v for v in guests if v not in excl}
            for v in SC.split_list(o.get("vmid", "")):
                if v.isdigit():
                    included.add(int(v))
        return [{"vmid": v, "type": guests[v]} for v in sorted(guests) if v not in included]
    h_get_cluster_backup_info_not_backed_up.perm = ("/", "Sys.Audit")

    # ------------------------------------------------------------ access: ticket
    def h_post_access_ticket(self, ident, p):
        user = p["username"]
        if p.get("realm") and "@" not in user:
            user = f"{user}@{p['realm']}"
        cfg = self.users()
        u = cfg["users"].get(user)
        if not u or not u.get("enable") or not A.check_password(self.store, user, p["password"]):
            raise A.AuthError("authentication failure")
        ticket, csrf = A.make_ticket(self.store, user)
        return {"username": user, "ticket": ticket, "CSRFPreventionToken": csrf,
                "cap": {"access": {}, "nodes": {}, "storage": {}, "vms": {}, "dc": {}, "sdn": {}, "mapping": {}},
                "clustername": self.cluster.cluster_name() or None}

    # ------------------------------------------------------------ access: users
    USER_LOCK = "file-user_cfg"

    def _user_entry(self, cfg, userid, full):
        d = cfg["users"][userid]
        e = {k: d[k] for k in ("enable", "expire", "firstname", "lastname", "email", "comment", "keys") if k in d}
        groups = S.user_groups(cfg, userid)
        if full:
            e["groups"] = groups
            e["tokens"] = {n: dict(t) for n, t in d["tokens"].items()}
        return e

    def _may_user_modify(self, ident, userid, privs=("User.Modify",)):
        """'userid-group' check: privs on /access/groups or on a group the user is in."""
        cfg = self.users()
        if self.has(ident, "/access/groups", list(privs), True):
            return True
        return any(self.has(ident, f"/access/groups/{g}", list(privs), True) for g in S.user_groups(cfg, userid))

    def h_get_access_users(self, ident, p):
        cfg = self.users()
        can = self.has(ident, "/access/groups", ["User.Modify", "Sys.Audit"], True)
        out = []
        for userid in sorted(cfg["users"]):
            if not (can or userid == ident.userid or self._may_user_modify(ident, userid, ("User.Modify", "Sys.Audit"))):
                continue
            e = self._user_entry(cfg, userid, p.get("full") == "1")
            if "enabled" in p and bool(e.get("enable")) != (p["enabled"] == "1"):
                continue
            if "groups" in e:
                e["groups"] = ",".join(e["groups"])
            if "tokens" in e:
                e["tokens"] = [dict(tokenid=n, **t) for n, t in sorted(e["tokens"].items())]
            e["userid"] = userid
            realm = userid.rsplit("@", 1)[1]
            if realm in ("pam", "pve"):
                e["realm-type"] = realm
            out.append(e)
        return out

    def h_post_access_users(self, ident, p):
        userid = p["userid"]
        realm = userid.rsplit("@", 1)[1]
        self.check(ident, f"/access/realm/{realm}", "Realm.AllocateUser")
        self.check(ident, "/access/groups", "User.Modify")
        with self.store.lock(self.USER_LOCK):
            cfg = self.users()
            if userid in cfg["users"]:
                fail(f"create user failed: user '{userid}' already exists")
            if "password" in p:
                A.set_password(self.store, userid, p["password"])
            u = {"enable": int(p.get("enable", "1")), "expire": int(p.get("expire") or 0), "tokens": OrderedDict()}
            for k in ("firstname", "lastname", "email", "comment", "keys"):
                if p.get(k):
                    u[k] = p[k]
            for g in SC.split_list(p.get("groups", "")):
                if g not in cfg["groups"]:
                    fail(f"create user failed: no such group '{g}'")
                cfg["groups"][g]["users"].append(userid)
            cfg["users"][userid] = u
            A.write_users(self.store, cfg)

    def h_get_access_users_userid(self, ident, p):
        userid = p["userid"]
        if not self._may_user_modify(ident, userid, ("User.Modify", "Sys.Audit")):
            raise A.PermissionDenied("/access/groups", "User.Modify|Sys.Audit")
        cfg = self.users()
        if userid not in cfg["users"]:
            fail(f"no such user ('{userid}')")
        return self._user_entry(cfg, userid, True)

    def h_put_access_users_userid(self, ident, p):
        userid = p["userid"]
        if not self._may_user_modify(ident, userid):
            raise A.PermissionDenied("/access/groups", "User.Modify")
        with self.store.lock(self.USER_LOCK):
            cfg = self.users()
            if userid not in cfg["users"]:
                fail(f"update user failed: no such user ('{userid}')")
            u = cfg["users"][userid]
            for k in ("enable", "expire"):
                if k in p:
                    u[k] = int(p[k])
            for k in ("firstname", "lastname", "email", "comment", "keys"):
                if k in p:
                    u[k] = p[k]
            if "groups" in p:
                if p.get("append") != "1":
                    for g in cfg["groups"].values():
                        g["users"] = [m for m in g["users"] if m != userid]
                for g in SC.split_list(p["groups"]):
                    if g not in cfg["groups"]:
                        fail(f"update user failed: no such group '{g}'")
                    if userid not in cfg["groups"][g]["users"]:
                        cfg["groups"][g]["users"].append(userid)
            A.write_users(self.store, cfg)

    def h_delete_access_users_userid(self, ident, p):
        userid = p["userid"]
        realm = userid.rsplit("@", 1)[1]
        self.check(ident, f"/access/realm/{realm}", "Realm.AllocateUser")
        if not self._may_user_modify(ident, userid):
            raise A.PermissionDenied("/access/groups", "User.Modify")
        with self.store.lock(self.USER_LOCK):
            cfg = self.users()
            if userid not in cfg["users"]:
                fail(f"delete user failed: no such user ('{userid}')")
            for name in cfg["users"][userid]["tokens"]:
                A.set_token_secret(self.store, f"{userid}!{name}", None)
            del cfg["users"][userid]
            for g in cfg["groups"].values():
                g["users"] = [m for m in g["users"] if m != userid]
            for node in cfg["acl"].values():
                node["users"].pop(userid, None)
                for t in [t for t in node["tokens"] if t.startswith(userid + "!")]:
                    node["tokens"].pop(t)
            A.write_users(self.store, cfg)

    # ------------------------------------------------------------ access: tokens
    def _token_perm(self, ident, userid):
        if ident.authid == userid or ident.userid == userid and not ident.tokenid:
            return
        if not self._may_user_modify(ident, userid):
            raise A.PermissionDenied("/access/groups", "User.Modify")

    def h_get_access_users_userid_token(self, ident, p):
        userid = p["userid"]
        self._token_perm(ident, userid)
        cfg = self.users()
        if userid not in cfg["users"]:
            fail(f"no such user ('{userid}')")
        return [dict(tokenid=n, **t) for n, t in cfg["users"][userid]["tokens"].items()]

    def h_get_access_users_userid_token_tokenid(self, ident, p):
        userid, name = p["userid"], p["tokenid"]
        self._token_perm(ident, userid)
        cfg = self.users()
        if userid not in cfg["users"]:
            fail(f"no such user ('{userid}')")
        tok = cfg["users"][userid]["tokens"].get(name)
        if tok is None:
            fail(f"no such token '{name}' for user '{userid}'")
        return dict(tok)

    def h_post_access_users_userid_token_tokenid(self, ident, p):
        userid, name = p["userid"], p["tokenid"]
        self._token_perm(ident, userid)
        cfg = self.users()
        if userid not in cfg["users"]:
            fail(f"no such user ('{userid}')")
        if name in cfg["users"][userid]["tokens"]:
            param_fail({"tokenid": "Token already exists."})
        try:
            full, value, info = A.create_token(self.store, userid, name, int(p.get("privsep", "1")),
                                               p.get("comment"), int(p["expire"]) if "expire" in p else None)
        except KeyError as e:
            fail(f"generating token failed: {e.args[0]}")
        except ValueError as e:
            fail(f"generating token failed: {e}")
        return {"full-tokenid": full, "value": value, "info": info}

    def h_put_access_users_userid_token_tokenid(self, ident, p):
        userid, name = p["userid"], p["tokenid"]
        self._token_perm(ident, userid)
        with self.store.lock(self.USER_LOCK):
            cfg = self.users()
            if userid not in cfg["users"]:
                fail(f"no such user ('{userid}')")
            tok = cfg["users"][userid]["tokens"].get(name)
            if tok is None:
                fail(f"no such token '{name}' for user '{userid}'")
            for k in ("privsep", "expire"):
                if k in p:
                    tok[k] = int(p[k])
            if "comment" in p:
                tok["comment"] = p["comment"]
                if not tok["comment"]:
                    tok.pop("comment")
            for k in SC.split_list(p.get("delete", "")):
                if k != "comment":
                    param_fail({"delete": f"unknown option '{k}'"})
                tok.pop(k, None)
            A.write_users(self.store, cfg)
        return dict(tok)  # PVE has no way to regenerate a token's secret: remove and add it

    def h_delete_access_users_userid_token_tokenid(self, ident, p):
        userid, name = p["userid"], p["tokenid"]
        self._token_perm(ident, userid)
        with self.store.lock(self.USER_LOCK):
            cfg = self.users()
            if userid not in cfg["users"]:
                fail(f"no such user ('{userid}')")
            if name not in cfg["users"][userid]["tokens"]:
                fail(f"no such token '{name}' for user '{userid}'")
            full = f"{userid}!{name}"
            A.set_token_secret(self.store, full, None)
            del cfg["users"][userid]["tokens"][name]
            for node in cfg["acl"].values():
                node["tokens"].pop(full, None)
            A.write_users(self.store, cfg)

    # ------------------------------------------------------------ access: ACL
    def h_get_access_acl(self, ident, p):
        cfg = self.users()
        audit = self.has(ident, "/access", "Sys.Audit")
        out = []
        for path, node in cfg["acl"].items():
            if not (audit or self.has(ident, path, "Permissions.Modify")):
                continue
            for kind, typ in (("users", "user"), ("groups", "group"), ("tokens", "token")):
                for ugid, roles in node[kind].items():
                    for role, prop in roles.items():
                        out.append({"path": path, "type": typ, "ugid": ugid, "roleid": role, "propagate": prop})
        return out

    def h_put_access_acl(self, ident, p):
        if not (p.get("users") or p.get("groups") or p.get("tokens")):
            param_fail({k: "either 'users', 'groups' or 'tokens' is required." for k in ("users", "groups", "tokens")})
        path = re.sub(r"/+", "/", p["path"]).rstrip("/") or "/"
        self.check(ident, path, "Permissions.Modify")
        delete = p.get("delete") == "1"
        propagate = int(p.get("propagate", "1"))
        with self.store.lock(self.USER_LOCK):
            cfg = self.users()
            node = cfg["acl"].setdefault(path, {"users": {}, "groups": {}, "tokens": {}})
            for role in SC.split_list(p["roles"]):
                if role not in A.BUILTIN_ROLES and role not in cfg["roles"]:
                    fail(f"role '{role}' does not exist")
                for g in SC.split_list(p.get("groups", "")):
                    if g not in cfg["groups"]:
                        fail(f"group '{g}' does not exist")
                    self._acl_set(node["groups"], g, role, propagate, delete)
                for u in SC.split_list(p.get("users", "")):
                    if u not in cfg["users"]:
                        fail(f"user '{u}' does not exist")
                    self._acl_set(node["users"], u, role, propagate, delete)
                for t in SC.split_list(p.get("tokens", "")):
                    user, _, name = t.partition("!")
                    if user not in cfg["users"]:
                        fail(f"no such user ('{user}')")
                    if name not in cfg["users"][user]["tokens"]:
                        fail(f"no such token '{name}' for user '{user}'")
                    self._acl_set(node["tokens"], t, role, propagate, delete)
            A.write_users(self.store, cfg)

    @staticmethod
    def _acl_set(d, member, role, propagate, delete):
        if delete:
            d.get(member, {}).pop(role, None)
            if member in d and not d[member]:
                del d[member]
        else:
            d.setdefault(member, {})[role] = propagate


# ---------------------------------------------------------------- HTTP layer
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"
    api: PVEAPI = None  # set per server class

    def log_message(self, fmt, *args):
        if os.environ.get("LAB_API_LOG"):
            super().log_message(fmt, *args)

    def _params(self) -> dict:
        url = urllib.parse.urlsplit(self.path)
        params = {}
        for k, v in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
            params[k] = v
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if body:
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype == "application/json":
                try:
                    data = json.loads(body.decode() or "{}")
                except ValueError:
                    data = {}
                for k, v in (data or {}).items():
                    if isinstance(v, bool):
                        v = "1" if v else "0"
                    elif isinstance(v, list):
                        v = ",".join(map(str, v))
                    elif v is None:
                        continue
                    params[k] = str(v)
            else:
                for k, v in urllib.parse.parse_qsl(body.decode(errors="replace"), keep_blank_values=True):
                    params[k] = v
        return params

    def _serve(self, method):
        url = urllib.parse.urlsplit(self.path)
        if not url.path.startswith(API_PREFIX + "/") and url.path != API_PREFIX:
            status, reason, body = 501, f"Method '{method} {url.path}' not implemented", {"data": None}
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
        else:
            params = self._params()
            status, reason, body = self.api.handle(method, url.path, params, self.headers)
        payload = json.dumps(body).encode()
        reason = re.sub(r"[\r\n]+", " ", reason)[:200]
        self.send_response(status, reason)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "max-age=0")
        self.send_header("Pragma", "no-cache")
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")

    def do_PATCH(self):
        self._serve("PATCH")

    def do_OPTIONS(self):
        self._serve("OPTIONS")


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, ctx: ssl.SSLContext):
        import socket
        host = addr[0]
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__(addr, handler)
        self.socket = ctx.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def get_request(self):
        sock, addr = self.socket.accept()
        return sock, addr

    def finish_request(self, request, client_address):
        try:
            request.settimeout(30)
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)


def parse_listen(spec: str) -> tuple[str, int]:
    if spec.startswith("["):
        host, _, port = spec[1:].partition("]:")
        return host, int(port)
    host, _, port = spec.rpartition(":")
    return host or "0.0.0.0", int(port)


class APIServer:
    """The HTTPS listeners of one node. start() runs them in threads; stop() shuts them down."""

    def __init__(self, pve_dir, listen, cert, key, node, pve_version=8, quorum=None, members=None):
        self.api = PVEAPI(pve_dir, node, pve_version, quorum=quorum, members=members)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(cert), str(key))
        handler = type("Handler", (_Handler,), {"api": self.api})
        self.servers = [_TLSServer(parse_listen(spec) if isinstance(spec, str) else tuple(spec), handler, ctx)
                        for spec in ([listen] if isinstance(listen, (str, tuple)) else listen)]
        self.threads: list[threading.Thread] = []

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [s.server_address[:2] for s in self.servers]

    def start(self) -> "APIServer":
        for s in self.servers:
            t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self) -> None:
        for s in self.servers:
            s.shutdown()
            s.server_close()
        for t in self.threads:
            t.join(timeout=5)


def serve(pve_dir, listen, cert, key, node, pve_version=8, quorum=None, members=None, block=True):
    """Serve the API over HTTPS on every `listen` address ("ADDR:PORT" or a list of them).
    With block=False returns the started APIServer (call .stop()); otherwise runs until interrupted."""
    srv = APIServer(pve_dir, listen, cert, key, node, pve_version, quorum=quorum, members=members).start()
    if not block:
        return srv
    import signal
    done = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *a: done.set())
    try:
        while not done.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return srv


def make_cert(directory, name: str) -> tuple[Path, Path]:
    """Self-signed EC certificate for NAME (SANs: NAME, localhost, 127.0.0.1) -> (cert, key)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cert, key = d / f"{name}.pem", d / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "3650", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name},DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key
