"""`python3 -m lab status [--json]`: hosts, corosync quorum, Ceph health, the monitor host and its firing alerts."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

from .common import (ALERTMANAGER_PORT, MONITOR_HOST, PROMETHEUS_PORT, Paths, lab_hosts, mgmt_addr, netns_pids, nsenter, pid_alive,
                     read_pid, storage_addr)
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
    """RSS of every process inside the hosts' namespaces (the PVE hosts' and the monitor host's): {host: bytes,
    'total': bytes}."""
    paths = paths or Paths()
    out, total = {}, 0
    for h in (*lab_hosts(paths), MONITOR_HOST):
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


def _read(url: str, timeout: float):
    """The JSON at `url`, or the reason there is none (refused, timed out, an HTTP error, not JSON)."""
    # No proxy from the environment: the lab's bridge is on this machine, and nothing may leave it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as answer:
            return json.loads(answer.read()), None
    except (OSError, ValueError) as e:
        return None, str(getattr(e, "reason", e))


def targets(address: str = mgmt_addr(MONITOR_HOST), port: int = PROMETHEUS_PORT, timeout: float = 3) -> dict:
    """Prometheus's active targets by health (GET /api/v1/targets): {"running": True, "up": N, "down": [job/instance]}."""
    url = f"http://{address}:{port}/api/v1/targets?state=active"
    found, error = _read(url, timeout)
    if found is None:
        return {"running": False, "url": url, "error": error}
    active = found["data"]["activeTargets"]
    return {"running": True, "url": url, "up": sum(t["health"] == "up" for t in active), "total": len(active),
            "down": sorted(f"{t['labels'].get('job')}/{t['labels'].get('instance')}" for t in active if t["health"] != "up")}


def alerts(address: str = mgmt_addr(MONITOR_HOST), port: int = ALERTMANAGER_PORT, timeout: float = 3) -> dict:
    """What an Alertmanager holds (GET /api/v2/alerts: the alerts not resolved, silenced and inhibited ones too, each
    with its state): {"running": True, "alerts": [...]}, or {"running": False, "error": ...} when it does not answer."""
    url = f"http://{address}:{port}/api/v2/alerts"
    held, error = _read(url, timeout)
    if held is None:
        return {"running": False, "url": url, "error": error}
    return {"running": True, "url": url, "alerts": [
        {"name": a.get("labels", {}).get("alertname"), "state": a.get("status", {}).get("state"),
         "starts_at": a.get("startsAt"), "labels": a.get("labels", {}), "annotations": a.get("annotations", {})}
        for a in held]}


def _monitor(paths: Paths, rss: dict) -> dict:
    from .machine import host_is_up
    up = host_is_up(paths, MONITOR_HOST)
    return {"name": MONITOR_HOST, "up": up, "sshd_pid": read_pid(paths.sshd_pidfile(MONITOR_HOST)) if up else None,
            "management_address": mgmt_addr(MONITOR_HOST), "services": _services(paths, MONITOR_HOST) if up else {},
            "rss_bytes": rss.get(MONITOR_HOST, 0), "prometheus": targets(), "alertmanager": alerts()}


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
    data["monitor"] = _monitor(paths, rss)
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
    m = data["monitor"]
    running = ",".join(sorted(k for k, v in m["services"].items() if k != "sshd" and v)) or "-"
    lines.append("")
    lines.append(f"monitor: {'up' if m['up'] else 'down'}  sshd {m['sshd_pid'] or '-'}  {m['management_address']}  "
                 f"daemons {running}  RSS {m['rss_bytes'] / 2**20:.0f}M")
    scraped = m["prometheus"]
    if not scraped["running"]:
        lines.append("      Prometheus not running")
    else:
        down = f"; down: {', '.join(scraped['down'])}" if scraped["down"] else ""
        lines.append(f"      Prometheus: {scraped['up']}/{scraped['total']} targets up{down}")
    am = m["alertmanager"]
    if not am["running"]:
        lines.append("      Alertmanager not running")
    elif not am["alerts"]:
        lines.append("      Alertmanager: no alerts firing")
    else:
        lines.append(f"      Alertmanager: {len(am['alerts'])} alert(s) firing")
        for a in sorted(am["alerts"], key=lambda a: (a["name"] or "", a["starts_at"] or "")):
            where = ",".join(f"{k}={v}" for k, v in sorted(a["labels"].items()) if k != "alertname")
            lines.append(f"        {a['name']}  {a['state']}  since {a['starts_at']}  {where}".rstrip())
    lines.append(f"lab RSS total: {data['rss_total_bytes'] / 2**20:.0f} MiB   state: {data['state_dir']}")
    return "\n".join(lines)
