"""/version and /nodes: the PVE version the lab emulates, the node list and each node's status, version,
subscription, guests and replication jobs (PVE's API2/Nodes.pm). Statistics are this machine's."""
from __future__ import annotations

import hashlib
import os
import ssl
from pathlib import Path

from .core import fail
from ..pve import files, release



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



# ---------------------------------------------------------------- handlers and their helpers
def version_data(api):
    found = release.RELEASES[api.major]
    return {"version": found["version"], "release": found["release"], "repoid": found["repoid"], "console": "html5"}


def get_version(api, ident, p):
    return version_data(api)


def _ssl_fingerprint(api, node: str) -> str | None:
    try:
        pem = api.store.read_text(f"nodes/{node}/pve-ssl.pem")
        der = ssl.PEM_cert_to_DER_cert(pem)
    except (ValueError, OSError):
        return None
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def node_stats() -> dict:
    mem = _meminfo()
    rootfs = _rootfs()
    return {"maxcpu": _cpu_count(), "cpu": _cpu_usage(), "maxmem": mem.get("MemTotal", 0),
            "mem": mem.get("MemTotal", 0) - mem.get("MemAvailable", 0), "maxdisk": rootfs["total"],
            "disk": rootfs["used"], "uptime": _uptime()}


def list_nodes(api, ident, p):
    online = api.online()
    out = []
    for name in sorted(api.node_names()):
        e = {"node": name, "id": f"node/{name}", "type": "node",
             "status": "online" if name in online else "offline"}
        fp = _ssl_fingerprint(api, name)
        if fp:
            e["ssl_fingerprint"] = fp
        if name in online and api.has(ident, f"/nodes/{name}", "Sys.Audit"):
            e.update(node_stats(), level="")
        out.append(e)
    return out


def _node_or_fail(api, node):
    if node not in api.node_names():
        fail(f"hostname lookup '{node}' failed - failed to get address info for: {node}: "
             f"Name or service not known")
    if node not in api.online():
        fail("Connection refused", 595)


def node_status(api, ident, p):
    node = p["node"]
    api.check(ident, f"/nodes/{node}", "Sys.Audit")
    _node_or_fail(api, node)
    mem, rootfs = _meminfo(), _rootfs()
    v = version_data(api)
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


def node_version(api, ident, p):
    _node_or_fail(api, p["node"])
    return version_data(api)


def node_subscription(api, ident, p):
    api.check(ident, f"/nodes/{p['node']}", "Sys.Audit")
    _node_or_fail(api, p["node"])
    return {"status": "notfound", "message": "There is no subscription key",
            "serverid": hashlib.md5(p["node"].encode()).hexdigest().upper(),
            "url": "https://www.proxmox.com/en/proxmox-virtual-environment/pricing"}


def guests(api, ident, kind: str, node: str | None = None) -> list[dict]:
    """Guests of one kind (qemu/lxc) the caller may audit, as stopped: the lab runs none."""
    out = []
    for vmid, guest in sorted(files.vmlist(api.store.dir).items(), key=lambda item: int(item[0])):
        if guest["type"] != kind or (node and guest["node"] != node) or not api.has(ident, f"/vms/{vmid}", "VM.Audit"):
            continue
        conf = files.parse_guest_conf(api.store.read_text(f"nodes/{guest['node']}/{files.GUEST_DIRS[kind]}/{vmid}.conf"))
        out.append({"vmid": int(vmid), "name": conf.get("name", f"VM {vmid}"), "status": "stopped", "node": guest["node"],
                    "maxmem": int(conf.get("memory", "2048")) * 1024 * 1024, "cpus": int(conf.get("cores", "1")),
                    "uptime": 0, "cpu": 0, "mem": 0})
    return out


def list_qemu(api, ident, p):
    _node_or_fail(api, p["node"])
    return [{k: v for k, v in g.items() if k != "node"} for g in guests(api, ident, "qemu", p["node"])]


def list_lxc(api, ident, p):
    _node_or_fail(api, p["node"])
    return [{k: v for k, v in g.items() if k != "node"} for g in guests(api, ident, "lxc", p["node"])]


def _guest_config(api, ident, kind: str, p) -> dict:
    """A guest's current config with its digest (VM.Audit on /vms/VMID), as PVE's .../config returns it."""
    _node_or_fail(api, p["node"])
    api.check(ident, f"/vms/{p['vmid']}", "VM.Audit")
    rel = f"nodes/{p['node']}/{files.GUEST_DIRS[kind]}/{p['vmid']}.conf"
    text = api.store.read_text(rel, default=None)
    if text is None:
        fail(f"Configuration file '{rel}' does not exist")
    return {**files.parse_guest_conf(text), "digest": api.store.digest(rel)}


def qemu_config(api, ident, p):
    return _guest_config(api, ident, "qemu", p)


def lxc_config(api, ident, p):
    return _guest_config(api, ident, "lxc", p)


def list_replication(api, ident, p):
    _node_or_fail(api, p["node"])
    return []

