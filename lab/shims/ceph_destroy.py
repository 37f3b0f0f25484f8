"""`pveceph osd destroy`, `pveceph mon destroy`, `pveceph mgr destroy` as pve-manager does them:
PVE/API2/Ceph/OSD.pm destroyosd, PVE/API2/Ceph/MON.pm destroymon, PVE/Ceph/Services.pm destroy_mgr (the
CLI runs each API method's worker in the foreground and exits 255 when it fails).
"""
from __future__ import annotations

import ipaddress
import re
import shutil
from pathlib import Path

from . import pvelib as L

SERVICE_REGEX = r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?"  # PVE::Ceph::Services::SERVICE_REGEX
# die without a newline: perl appends where; this is the line in pve-manager's current OSD.pm
OSD_PM_BELONGS_LINE = "at /usr/share/perl5/PVE/API2/Ceph/OSD.pm line 1008."
CEPH_LIB = Path("/var/lib/ceph")  # osd/ceph-N, mon/ceph-ID, mgr/ceph-ID


def _check_id(name: str, value: str, usage: str) -> None:
    if not re.fullmatch(SERVICE_REGEX, value):
        raise L.PVEError(f"400 Parameter verification failed.\n{name}: value does not match the regex pattern\n"
                         f"{usage}", 255)


def _ceph_inited(P) -> dict:
    """PVE::Ceph::Tools::check_ceph_inited (the lab has no /etc/pve/ceph directory to check)."""
    return P.read_conf()


# ---------------------------------------------------------------- OSD.pm destroyosd
def osd_belongs_to_node(tree: dict, nodename: str, osdid: int) -> bool:
    hosts = {}
    for el in (tree or {}).get("nodes", []):
        if el.get("type") == "host":
            if el["name"] in hosts:
                raise L.PVEError(f"internal error: duplicate host name found '{el['name']}'", 255)
            hosts[el["name"]] = el
    return osdid in (hosts.get(nodename) or {}).get("children", [])


def osd_destroy(argv, P) -> int:
    usage = "pveceph osd destroy <osdid> [OPTIONS]"
    pos, o = L.parse_args(argv, L.ApiOptions("DELETE", "/nodes/{node}/ceph/osd/{osdid}", positional=("osdid",)),
                          1, usage)
    if not re.fullmatch(r"[+-]?\d+", pos[0]):
        raise L.PVEError(f"400 Parameter verification failed.\nosdid: type check ('integer') failed - got "
                         f"'{pos[0]}'\n{usage}", 255)
    osdid, node = int(pos[0]), L.nodename()
    cleanup = o.get("cleanup") == "1"
    _ceph_inited(P)
    if not osd_belongs_to_node(L.ceph(["osd", "tree"], fmt_json=True), node, osdid):
        raise L.PVEError(f"OSD osd.{osdid} does not belong to node {node}! {OSD_PM_BELONGS_LINE}", 255)
    osds = {d["osd"]: d for d in (L.ceph(["osd", "dump"], fmt_json=True) or {}).get("osds", []) if "osd" in d}
    if osdid not in osds:
        raise L.PVEError(f"no such OSD '{osdid}'", 255)
    if osds[osdid].get("in"):
        raise L.PVEError("osd is in use (in == 1)", 255)
    if osds[osdid].get("up"):
        raise L.PVEError("osd is still running (up == 1)", 255)
    section = f"osd.{osdid}"
    print(f"destroy OSD {section}")
    L.unit_stop(f"ceph-osd@{osdid}")  # ceph_service_cmd('stop' / 'disable', 'osd.N'), failures only warned
    L.unit_enable(f"ceph-osd@{osdid}", False)
    print(f"Remove {section} from the CRUSH map")
    L.ceph(["osd", "crush", "remove", section])
    print(f"Remove the {section} authentication key.")
    L.ceph(["auth", "del", section])
    print(f"Remove OSD {section}")
    L.ceph(["osd", "rm", section])
    print(f"Remove {section} mclock max capacity iops settings from config")
    for name in ("osd_mclock_max_capacity_iops_ssd", "osd_mclock_max_capacity_iops_hdd"):
        L.ceph(["config", "rm", section, name])
    # The lab's OSD stands in for the ceph-volume LVM OSD PVE creates (`ceph-volume lvm list` knows it), so
    # PVE's branch is ceph_volume_zap(osdid, cleanup): `ceph-volume lvm zap --osd-id N [--destroy]`. zap
    # unmounts the OSD's tmpfs (the directory stays, empty) and wipes the LV; --destroy (--cleanup) also
    # removes LV, VG and PV, which frees the disk. Without it the disk still carries the (LVM) OSD and a new
    # `pveceph osd create` on it is refused: the lab keeps the BlueStore label for that.
    mountpoint = CEPH_LIB / "osd" / f"ceph-{osdid}"
    block = mountpoint / "block"
    dev = str(block.resolve()) if block.is_symlink() else None
    if mountpoint.is_dir():
        for entry in mountpoint.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    if cleanup and dev:
        with open(dev, "r+b") as f:  # wipefs + dd if=/dev/zero bs=1M count=10
            f.write(b"\0" * (10 << 20))
    print(f"--> Zapping successful for OSD: {osdid}")
    return 0


# ---------------------------------------------------------------- MON.pm destroymon
def _is_ipv6(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).version == 6
    except ValueError:
        return False


def remove_addr_from_mon_host(monhost: str, addr: str) -> str:
    """MON.pm $remove_addr_from_mon_host (each perl s/// replaces the first match)."""
    if _is_ipv6(addr):
        addr = f"[{addr}]"
    vec = rf"v\d+:{re.escape(addr)}:\d+\/\d+"
    monhost = re.sub(rf"(^|[ ,;]*)\[{vec}(?:,{vec})*\](?:[ ,;]+|$)", r"\1", monhost, count=1)
    monhost = re.sub(rf"(^|[ ,;]+){re.escape(addr)}(?::\d+)?(?:[ ,;]+|$)", r"\1", monhost, count=1)
    m = re.match(r"^\[?(.*?:.*?)\]?$", addr)
    if m:
        addr = m.group(1)
        monhost = re.sub(rf"(^|[ ,;]+){re.escape(addr)}(?:[ ,;]+|$)", r"\1", monhost, count=1)
    return re.sub(r"[ ,;]+$", "", monhost)


def parse_host_and_port(address: str) -> str | None:
    """PVE::Tools::parse_host_and_port, the host part."""
    m = (re.fullmatch(r"([A-Za-z0-9\-.]+)(?::(\d+))?", address)
         or re.fullmatch(r"\[([0-9A-Fa-f:.]+|[A-Za-z0-9\-.]+)\](?::(\d+))?", address)
         or re.fullmatch(r"([0-9A-Fa-f:]+(?::[0-9.]+)?)(?:\.(\d+))?", address))
    return m.group(1) if m else None


def ips_from_mon_host(mon_host: str) -> list[str]:
    """MON.pm $ips_from_mon_host: the IPs (not host names) of a mon_host value, as written there."""
    ips = []
    for host in re.split(r"[\s,;]+", mon_host.strip()):  # PVE::Tools::split_list
        host = re.sub(r"^\[?v\d+:", "", host)
        host = re.sub(r"/\d+\]?", "", host, count=1)
        host = parse_host_and_port(host)
        if host is None:
            continue
        try:
            ipaddress.ip_address(host)
        except ValueError:
            continue
        ips.append(host)
    return ips


def _mon_addrs(monlist: list, monid: str) -> list[str]:
    def strip(addr: str) -> str:
        m = re.match(r"^(.*):\d+(/\d+)?$", addr)
        addr = m.group(1) if m else addr
        return re.match(r"^\[?(.*?)\]?$", addr).group(1)

    for mon in monlist:
        if mon.get("name") == monid:
            vec = (mon.get("public_addrs") or {}).get("addrvec")
            if vec:
                return [strip(a["addr"]) for a in vec]
            return [strip(mon.get("public_addr") or mon.get("addr"))]
    return []


def _assert_mon_can_remove(monhash, monlist, monid, mondir: Path) -> None:
    if monid not in monhash and not any(m.get("name") == monid for m in monlist):
        raise L.PVEError(f"no such monitor id '{monid}'", 255)
    if not mondir.is_dir():
        raise L.PVEError(f"monitor filesystem '{mondir}' does not exist on this node", 255)
    if len(monlist) <= 1:
        raise L.PVEError("can't remove last monitor", 255)


def _mon_state(P):
    """(ceph.conf, quorum_status monmap mons, get_services_info('mon') ids: ceph.conf [mon.X] + mon metadata)."""
    cfg = P.read_conf()
    monlist = ((L.ceph(["quorum_status"], fmt_json=True) or {}).get("monmap") or {}).get("mons", [])
    monhash = {s.split(".", 1)[1] for s in cfg if s.startswith("mon.")}
    monhash |= {m.get("name") for m in (L.ceph(["mon", "metadata"], fmt_json=True) or [])}
    return cfg, monlist, monhash


def mon_destroy(argv, P) -> int:
    usage = "pveceph mon destroy <monid>"
    pos, _ = L.parse_args(argv, {}, 1, usage)
    monid = pos[0]
    _check_id("monid", monid, usage)
    _ceph_inited(P)
    mondir = CEPH_LIB / "mon" / f"ceph-{monid}"
    _, monlist, monhash = _mon_state(P)
    _assert_mon_can_remove(monhash, monlist, monid, mondir)
    with L.cfs_lock("file-ceph_conf"):
        cfg, monlist, monhash = _mon_state(P)  # reload info and recheck
        addrs = _mon_addrs(monlist, monid)
        _assert_mon_can_remove(monhash, monlist, monid, mondir)
        L.ceph(["mon", "remove", monid])  # this also stops the service (a removed mon exits)
        cfg.pop(f"mon.{monid}", None)
        monhost = cfg["global"].get("mon_host")
        if monhost:
            host_ips = ips_from_mon_host(monhost)
            for addr in addrs:
                monhost = remove_addr_from_mon_host(monhost, addr)
                try:
                    canon = ipaddress.ip_address(addr)
                except ValueError:
                    continue
                for ip in host_ips:
                    if ipaddress.ip_address(ip) == canon:
                        monhost = remove_addr_from_mon_host(monhost, ip)
            cfg["global"]["mon_host"] = monhost
        P.write_conf(cfg)
        shutil.rmtree(mondir, ignore_errors=True)
        L.unit_enable(f"ceph-mon@{monid}", False)
    return 0


# ---------------------------------------------------------------- Services.pm destroy_mgr
def mgr_destroy(argv, P) -> int:
    usage = "pveceph mgr destroy <id>"
    pos, _ = L.parse_args(argv, {}, 1, usage)
    mgrid = pos[0]
    _check_id("id", mgrid, usage)
    _ceph_inited(P)
    mgrdir = CEPH_LIB / "mgr" / f"ceph-{mgrid}"
    if not mgrdir.is_dir():
        raise L.PVEError(f"ceph manager directory '{mgrdir}' not found", 255)
    print(f"disabling service 'ceph-mgr@{mgrid}.service'")
    L.unit_enable(f"ceph-mgr@{mgrid}", False)
    print(f"stopping service 'ceph-mgr@{mgrid}.service'")
    L.unit_stop(f"ceph-mgr@{mgrid}")
    print(f"removing manager directory '{mgrdir}'")
    shutil.rmtree(mgrdir, ignore_errors=True)
    print(f"removing authkeys for mgr.{mgrid}")
    L.ceph(["auth", "del", f"mgr.{mgrid}"])
    return 0
