"""`python3 -m lab status [--json]`: hosts, corosync quorum, Ceph health."""
from __future__ import annotations

import json
import re
from pathlib import Path

from .common import Paths, lab_hosts, mgmt_addr, netns_pids, nsenter, pid_alive, read_pid, storage_addr
from .pve import release


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def lab_rss(paths: Paths | None = None) -> dict:
    """RSS of every process inside the hosts' namespaces: {host: bytes, 'total': bytes}."""
    paths = paths or Paths()
    out, total = {}, 0
    for h in lab_hosts(paths):
        s = sum(rss_bytes(p) for p in netns_pids(h))
        out[h] = s
        total += s
    out["total"] = total
    return out


def _services(paths: Paths, h: str) -> dict:
    d = paths.host_pids(h)
    out = {}
    if d.exists():
        for pf in sorted(d.glob("*.pid")):
            pid = read_pid(pf)
            out[pf.name[:-4]] = pid if pid and pid_alive(pid) else None
    return out


def _corosync(pid: int) -> dict:
    res = nsenter(pid, ["corosync-quorumtool", "-s"], timeout=15)
    info = {"running": True, "quorate": res.returncode == 0}
    for key, name in (("Total votes", "total_votes"), ("Expected votes", "expected_votes"),
                      ("Nodes", "nodes"), ("Quorum", "quorum")):
        m = re.search(rf"^{key}:\s+(\d+)", res.stdout, re.M)
        if m:
            info[name] = int(m.group(1))
    if not res.stdout:
        info["running"] = False
        info["error"] = (res.stderr or "").strip()
    return info


def _ceph(pid: int) -> dict | None:
    res = nsenter(pid, ["bash", "-c", "test -e /etc/ceph/ceph.conf && timeout 20 ceph --connect-timeout 8 status --format json"],
                  timeout=30)
    if res.returncode != 0 or not res.stdout.strip():
        return None
    try:
        s = json.loads(res.stdout)
    except ValueError:
        return None
    osd = s.get("osdmap", {})
    osd = osd.get("osdmap", osd)
    pgmap = s.get("pgmap", {})
    return {
        "health": s.get("health", {}).get("status"),
        "checks": sorted(s.get("health", {}).get("checks", {}).keys()),
        "mons_in_quorum": s.get("quorum_names", []),
        "mgr_available": s.get("mgrmap", {}).get("available"),
        "osds": osd.get("num_osds"), "osds_up": osd.get("num_up_osds"), "osds_in": osd.get("num_in_osds"),
        "pools": pgmap.get("num_pools"), "pgs": pgmap.get("num_pgs"),
        "pgs_by_state": {x["state_name"]: x["count"] for x in pgmap.get("pgs_by_state", [])},
    }


def collect(paths: Paths | None = None) -> dict:
    from .machine import host_is_up
    paths = paths or Paths()
    data = {"state_dir": str(paths.root), "hosts": [], "ceph": None}
    ceph_from = None
    rss = lab_rss(paths)
    for h in lab_hosts(paths):
        up = host_is_up(paths, h)
        pid = read_pid(paths.sshd_pidfile(h)) if up else None
        svcs = _services(paths, h) if up else {}
        entry = {"name": h, "up": up, "sshd_pid": pid, "management_address": mgmt_addr(h),
                 "storage_address": storage_addr(h), "services": svcs, "rss_bytes": rss.get(h, 0),
                 "pve": release.installed(release.record_under(paths.host(h) / "varlib.upper")),
                 "corosync": {"running": False}}
        if up and svcs.get("corosync"):
            entry["corosync"] = _corosync(pid)
        if up and ceph_from is None and any(k.startswith("ceph-mon@") and v for k, v in svcs.items()):
            ceph_from = pid
        data["hosts"].append(entry)
    if ceph_from:
        data["ceph"] = _ceph(ceph_from)
    data["rss_total_bytes"] = rss["total"]
    return data


def render(data: dict) -> str:
    rows = [("HOST", "PVE", "STATE", "SSHD", "MGMT", "STORAGE", "COROSYNC", "VOTES", "QUORATE", "CEPH DAEMONS", "RSS")]
    for h in data["hosts"]:
        c = h["corosync"]
        votes = f"{c.get('total_votes', '-')}/{c.get('expected_votes', '-')}" if c.get("running") else "-"
        quor = ("yes" if c.get("quorate") else "no") if c.get("running") else "-"
        ceph = ",".join(sorted(k.split("@")[0].replace("ceph-", "") + "." + k.split("@")[1]
                               for k, v in h["services"].items() if k.startswith("ceph-") and v)) or "-"
        rows.append((h["name"], h["pve"] or "-", "up" if h["up"] else "down", str(h["sshd_pid"] or "-"), h["management_address"],
                     h["storage_address"], "running" if c.get("running") else "stopped", votes, quor, ceph,
                     f"{h['rss_bytes'] / 2**20:.0f}M"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    c = data.get("ceph")
    if c:
        pgs = ", ".join(f"{n} {s}" for s, n in sorted(c["pgs_by_state"].items())) or "no pgs"
        lines.append("")
        lines.append(f"ceph: {c['health']}  mons {len(c['mons_in_quorum'])} in quorum ({','.join(c['mons_in_quorum'])}), "
                     f"osds {c['osds_up']} up / {c['osds_in']} in / {c['osds']}, pools {c['pools']}, pgs: {pgs}")
        if c["checks"]:
            lines.append("      checks: " + ", ".join(c["checks"]))
    else:
        lines.append("")
        lines.append("ceph: not running")
    lines.append(f"lab RSS total: {data['rss_total_bytes'] / 2**20:.0f} MiB   state: {data['state_dir']}")
    return "\n".join(lines)
