"""Lab shim for `pveceph` (Proxmox VE Ceph manager), driving real ceph-mon/ceph-mgr/ceph-osd.

install | init --network CIDR | mon create/destroy | mgr create/destroy | osd create/destroy | pool create/ls/destroy/set | status
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import OrderedDict
from pathlib import Path

from ..common import wait_until
from . import ceph_destroy as CD
from . import pvelib as L
from .pvesm import add_storage_section
from ..pve import ceph_release

USAGE = """USAGE: pveceph <COMMAND> [ARGS] [OPTIONS]   (proxmox-ha lab shim)

Stands in for Proxmox VE's `pveceph`; drives the real Ceph daemons of this lab host
(Debian's Ceph packages; config in /etc/pve/ceph.conf, /etc/ceph/ceph.conf links to it).

       pveceph install [--repository enterprise|no-subscription|test] [--version quincy|reef|squid]   (PVE 8)
       pveceph install [--repository enterprise|no-subscription|test|manual] [--version squid|tentacle]   (PVE 9)
       pveceph init [--network CIDR] [--cluster-network CIDR] [--size N] [--min_size N] [--pg_bits N]
       pveceph mon create [--mon-address ADDR]
       pveceph mon destroy <monid>
       pveceph mgr create
       pveceph mgr destroy <id>
       pveceph osd create <dev> [--encrypted 0] [--crush-device-class CLASS]
       pveceph osd destroy <osdid> [--cleanup]
       pveceph pool create <name> [--size N] [--min_size N] [--pg_num N] [--add_storages 1]
                                  [--application rbd] [--pg_autoscale_mode on|off|warn]
       pveceph pool ls [--output-format text|json|json-pretty]
       pveceph pool set <name> [--size N] [--min_size N] [--pg_num N] [--pg_autoscale_mode M]
       pveceph pool destroy <name> [--remove_storages 1]
       pveceph status
       pveceph help
"""

CEPH_CONF = L.PVE / "ceph.conf"
ADMIN_KEYRING = L.PVE / "priv" / "ceph.client.admin.keyring"
MON_KEYRING = L.PVE / "priv" / "ceph.mon.keyring"
LOCAL_CONF = Path("/etc/ceph/ceph.conf")

LAB_TUNING = OrderedDict([
    # small footprint and no false warnings on a lab machine
    ("mon_data_avail_warn", "5"),
    ("mon_data_avail_crit", "1"),
    ("mon_warn_on_insecure_global_id_reclaim_allowed", "false"),
    ("auth_allow_insecure_global_id_reclaim", "false"),
    ("osd_memory_target", "939524096"),
    # Debian's Ceph 16 raises POOL_TOO_MANY_PGS for every pool in 'warn' mode (fixed upstream later)
    ("osd_pool_default_pg_autoscale_mode", "off"),
    ("mgr_initial_modules", "balancer"),
    ("mgr_disabled_modules", "diskprediction_local,alerts,influx,insights,localpool,mirroring,nfs,"
                             "osd_perf_query,osd_support,restful,selftest,snap_schedule,stats,"
                             "telegraf,test_orchestrator,zabbix,iostat"),
    ("mon_osd_down_out_interval", "600"),
    ("ms_bind_ipv6", "false"),
    ("paxos_propose_interval", "0.2"),
    ("mon_election_timeout", "1"),
])


# ---------------------------------------------------------------- ceph.conf (ini with tabs, PVE style)
def parse_ini(text: str) -> "OrderedDict[str, OrderedDict]":
    secs, cur = OrderedDict(), None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            cur = secs.setdefault(line[1:-1].strip(), OrderedDict())
        elif "=" in line and cur is not None:
            k, v = line.split("=", 1)
            cur[k.strip().replace(" ", "_")] = v.strip()
    return secs


def format_ini(secs) -> str:
    out = []
    for name, kv in secs.items():
        out.append(f"[{name}]")
        for k, v in kv.items():
            out.append(f"\t {k} = {v}")
        out.append("")
    return "\n".join(out) + "\n"


def read_conf():
    if not CEPH_CONF.exists():
        raise L.PVEError("pveceph configuration not initialized - missing '/etc/pve/ceph.conf'", 255)
    return parse_ini(CEPH_CONF.read_text())


def write_conf(secs) -> None:
    L.write_file_atomic(CEPH_CONF, format_ini(secs))


def ensure_local_links() -> None:
    """/etc/ceph/ceph.conf -> /etc/pve/ceph.conf, as PVE sets it up on each node."""
    if not CEPH_CONF.exists():
        return
    LOCAL_CONF.parent.mkdir(parents=True, exist_ok=True)
    if LOCAL_CONF.is_symlink() and os.readlink(LOCAL_CONF) == str(CEPH_CONF):
        return
    if LOCAL_CONF.exists() or LOCAL_CONF.is_symlink():
        LOCAL_CONF.unlink()
    LOCAL_CONF.symlink_to(CEPH_CONF)
    for d in ("/var/lib/ceph/mon", "/var/lib/ceph/mgr", "/var/lib/ceph/osd", "/var/lib/ceph/bootstrap-osd",
              "/var/log/ceph", "/run/ceph"):
        Path(d).mkdir(parents=True, exist_ok=True)


def storage_addr() -> str:
    return L.host_info()["storage_address"]


# ---------------------------------------------------------------- install / init
# What `pveceph install` offers and writes on each PVE major (pve-manager PVE/Ceph/Releases.pm and
# PVE/CLI/pveceph.pm; stable-8 @ 2606ac850d46, master @ 14a22df35955): the `version` enum (sorted),
# its default, the `repository` enum, and the repository file: PVE 8 a bookworm ceph.list line,
# PVE 9 a trixie deb822 ceph.sources (none for `manual`). PVE 9 offers no squid on arm64.
CEPH_RELEASES = {8: ("quincy", "reef", "squid"), 9: ("squid", "tentacle")}
CEPH_DEFAULT_RELEASE = {8: "quincy", 9: "tentacle"}
CEPH_REPOSITORIES = {8: ("enterprise", "no-subscription", "test"), 9: ("enterprise", "no-subscription", "test", "manual")}
APT_SOURCES = Path("/etc/apt/sources.list.d")


def ceph_releases(major: int, machine: str | None = None) -> tuple[str, ...]:
    machine = machine or os.uname().machine
    releases = CEPH_RELEASES[major]
    return tuple(r for r in releases if not (major >= 9 and r == "squid" and machine in ("aarch64", "arm64")))


def ceph_repository_file(major: int, release: str, repository: str) -> tuple[str, str] | None:
    """(file name under /etc/apt/sources.list.d, content) as pveceph install writes it; None for `manual`."""
    cdn = "https://enterprise.proxmox.com" if repository == "enterprise" else "http://download.proxmox.com"
    if major >= 9:
        if repository == "manual":
            return None
        return "ceph.sources", (f"Types: deb\nURIs: {cdn}/debian/ceph-{release}\nSuites: trixie\n"
                                f"Components: {repository}\nSigned-By: /usr/share/keyrings/proxmox-archive-keyring.gpg\n")
    return "ceph.list", f"deb {cdn}/debian/ceph-{release} bookworm {repository}\n"


def cmd_install(argv):
    _, o = L.parse_args(argv, {"repository": "str", "version": "str", "allow-experimental": "bool"}, 0, USAGE)
    major = L.pve_major()
    releases, repositories = ceph_releases(major), CEPH_REPOSITORIES[major]
    errors = {}
    if "repository" in o and o["repository"] not in repositories:
        errors["repository"] = (f"value '{o['repository']}' does not have a value in the enumeration "
                                f"'{', '.join(repositories)}'")
    if "version" in o and o["version"] not in releases:
        errors["version"] = f"value '{o['version']}' does not have a value in the enumeration '{', '.join(releases)}'"
    if errors:
        # PVE::Exception of a parameter check, with the method's short usage appended by the CLI handler
        lines = "".join(f"{k}: {v}\n" for k, v in sorted(errors.items()))
        raise L.PVEError(f"400 Parameter verification failed.\n{lines}pveceph install  [OPTIONS]", 255)
    repo = o.get("repository") or "enterprise"
    ver = o.get("version") or CEPH_DEFAULT_RELEASE[major]
    source = ceph_repository_file(major, ver, repo)
    if source:
        L.write_file_atomic(APT_SOURCES / source[0], source[1])
    rec = {"repository": repo, "version": ver, "pve_major": major, "real_version": _real_ceph_version(),
           "time": int(time.time())}
    ceph_release.install(L.CEPH_RECORD, ver)
    L.write_file_atomic(L.PVE / "ceph-install" / f"{L.nodename()}.json", json.dumps(rec) + "\n")
    print("update available package list")
    print("start installation")
    print(f"lab: Ceph packages are already installed ({rec['real_version']}); recorded repository "
          f"'{repo}', version '{ver}'")
    print("installed ceph " + ver + " successfully!")
    return 0


def _real_ceph_version() -> str:
    r = L.run([L.CEPH_BIN, "--version"], check=False, timeout=20)
    return r.stdout.strip()


def cmd_init(argv):
    _, o = L.parse_args(argv, L.ApiOptions("POST", "/nodes/{node}/ceph/init"), 0, USAGE)
    with L.cfs_lock("file-ceph_conf"):
        if CEPH_CONF.exists():
            secs = parse_ini(CEPH_CONF.read_text())
        else:
            secs = OrderedDict()
        g = secs.setdefault("global", OrderedDict())
        if "fsid" not in g:
            net = o.get("network")
            if not net:
                net = L.host_info().get("storage_cidr", "10.254.100.0/24")
            g["auth_client_required"] = "cephx"
            g["auth_cluster_required"] = "cephx"
            g["auth_service_required"] = "cephx"
            g["cluster_network"] = o.get("cluster-network", net)
            g["fsid"] = str(uuid.uuid4())
            g["mon_allow_pool_delete"] = "true"
            g["osd_pool_default_min_size"] = o.get("min_size", "2")
            g["osd_pool_default_size"] = o.get("size", "3")
            g["public_network"] = net
            for k, v in LAB_TUNING.items():
                g.setdefault(k, v)
            c = secs.setdefault("client", OrderedDict())
            c["keyring"] = "/etc/pve/priv/$cluster.$name.keyring"
            write_conf(secs)
        (L.PVE / "priv").mkdir(parents=True, exist_ok=True)
        if not ADMIN_KEYRING.exists():
            L.run(["ceph-authtool", "--create-keyring", str(ADMIN_KEYRING), "--gen-key", "-n", "client.admin",
                   "--cap", "mon", "allow *", "--cap", "osd", "allow *", "--cap", "mds", "allow *",
                   "--cap", "mgr", "allow *"])
        if not MON_KEYRING.exists():
            tmp = MON_KEYRING.with_name(".ceph.mon.keyring.tmp")
            L.run(["ceph-authtool", "--create-keyring", str(tmp), "--gen-key", "-n", "mon.", "--cap", "mon", "allow *"])
            L.run(["ceph-authtool", str(tmp), "--import-keyring", str(ADMIN_KEYRING)])
            tmp.replace(MON_KEYRING)
    ensure_local_links()
    return 0


# ---------------------------------------------------------------- mon / mgr
def mon_dir(mid: str) -> Path:
    return Path(f"/var/lib/ceph/mon/ceph-{mid}")


def cmd_mon(argv):
    if not argv or argv[0] not in ("create", "destroy"):
        raise L.PVEError(f"400 unknown command 'pveceph mon {' '.join(argv)}'\n{USAGE}", 255)
    if argv[0] == "destroy":
        return mon_destroy(argv[1:])
    _, o = L.parse_args(argv[1:], L.ApiOptions("POST", "/nodes/{node}/ceph/mon/{monid}"), 0, USAGE)
    mid = o.get("monid", L.nodename())
    addr = o.get("mon-address", storage_addr())
    secs = read_conf()
    ensure_local_links()
    if mon_dir(mid).exists() or f"mon.{mid}" in secs:
        raise L.PVEError(f"monitor '{mid}' already exists", 255)
    fsid = secs["global"]["fsid"]
    tmpd = Path(tempfile.mkdtemp(prefix="pveceph-mon-"))
    try:
        monmap = tmpd / "monmap"
        mon_host = secs["global"].get("mon_host", "").split()
        first = not mon_host
        if first:
            L.run(["monmaptool", "--create", "--clobber", "--fsid", fsid, "--addv", mid,
                   f"[v2:{addr}:3300,v1:{addr}:6789]", str(monmap)])
        else:
            L.ceph(["mon", "getmap", "-o", str(monmap)])
        L.run(["ceph-mon", "--mkfs", "-i", mid, "--monmap", str(monmap), "--keyring", str(MON_KEYRING)])
    finally:
        shutil.rmtree(tmpd, ignore_errors=True)
    with L.cfs_lock("file-ceph_conf"):
        secs = read_conf()
        hosts = secs["global"].get("mon_host", "").split()
        if addr not in hosts:
            hosts.append(addr)
        secs["global"]["mon_host"] = " ".join(hosts)
        secs[f"mon.{mid}"] = OrderedDict([("public_addr", addr)])
        write_conf(secs)
    L.unit_enable(f"ceph-mon@{mid}")
    L.unit_start(f"ceph-mon@{mid}", wait=0.5)

    def joined():  # the new monitor is part of the quorum: pveceph waits for it
        q = L.ceph(["quorum_status"], check=False, timeout=30, fmt_json=True)
        return isinstance(q, dict) and mid in q.get("quorum_names", [])

    if not wait_until(joined, 90, 0.5):
        raise L.PVEError(f"monitor '{mid}' did not join the quorum within 90s", 255)
    if first:
        # msgr2 + a sane minimum client release on the fresh cluster
        L.ceph(["mon", "enable-msgr2"], check=False)
    return 0


def mon_destroy(argv):
    return CD.mon_destroy(argv, sys.modules[__name__])


def cmd_mgr(argv):
    if not argv or argv[0] not in ("create", "destroy"):
        raise L.PVEError(f"400 unknown command 'pveceph mgr {' '.join(argv)}'\n{USAGE}", 255)
    if argv[0] == "destroy":
        return CD.mgr_destroy(argv[1:], sys.modules[__name__])
    _, o = L.parse_args(argv[1:], L.ApiOptions("POST", "/nodes/{node}/ceph/mgr/{id}"), 0, USAGE)
    mid = o.get("id", L.nodename())
    read_conf()
    ensure_local_links()
    d = Path(f"/var/lib/ceph/mgr/ceph-{mid}")
    if d.exists():
        raise L.PVEError(f"ceph manager directory '{d}' already exists", 255)
    print(f"creating manager directory '{d}'")
    d.mkdir(parents=True)
    print(f"creating keys for 'mgr.{mid}'")
    L.ceph(["auth", "get-or-create", f"mgr.{mid}", "mon", "allow profile mgr", "osd", "allow *",
            "mds", "allow *", "-o", str(d / "keyring")])
    print("setting owner for directory")
    print(f"enabling service 'ceph-mgr@{mid}.service'")
    L.unit_enable(f"ceph-mgr@{mid}")
    print(f"starting service 'ceph-mgr@{mid}.service'")
    L.unit_start(f"ceph-mgr@{mid}", wait=0.3)
    return 0


# ---------------------------------------------------------------- osd
def osd_dirs():
    base = Path("/var/lib/ceph/osd")
    return sorted(base.glob("ceph-*")) if base.exists() else []


def device_in_use(dev: str) -> bool:
    real = os.path.realpath(dev)
    for d in osd_dirs():
        b = d / "block"
        if b.is_symlink() and os.path.realpath(b) in (real, dev) or (b.is_symlink() and os.readlink(b) == dev):
            return True
    r = L.run(["ceph-bluestore-tool", "show-label", "--dev", dev], check=False, timeout=30)
    if r.returncode == 0 and '"osd_uuid"' in r.stdout:
        return True
    # any other signature in the first MiB (a filesystem, LVM, partition table) counts as in use
    try:
        with open(dev, "rb") as f:
            head = f.read(1 << 20)
        return any(head)
    except OSError:
        return False


def cmd_osd(argv):
    if not argv or argv[0] not in ("create", "destroy"):
        raise L.PVEError(f"400 unknown command 'pveceph osd {' '.join(argv)}'\n{USAGE}", 255)
    if argv[0] == "destroy":
        return osd_destroy(argv[1:])
    pos, o = L.parse_args(argv[1:], L.ApiOptions("POST", "/nodes/{node}/ceph/osd", positional=("dev",)), 1, USAGE)
    dev = pos[0]
    ensure_local_links()
    if not os.path.exists(dev):
        raise L.PVEError(f"unable to get device info for '{dev}'", 255)
    if device_in_use(dev):
        raise L.PVEError(f"device '{dev}' is already in use", 255)
    if not ADMIN_KEYRING.exists():
        raise L.PVEError("ceph admin keyring missing - run 'pveceph init' first", 255)
    osd_uuid = str(uuid.uuid4())
    key = L.run(["ceph-authtool", "--gen-print-key"]).stdout.strip()
    print(f"create OSD on {dev} (bluestore)")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"cephx_secret": key}, f)
        secret = f.name
    try:
        res = L.ceph(["osd", "new", osd_uuid, "-i", secret])
    finally:
        os.unlink(secret)
    osd_id = res.stdout.strip()
    d = Path(f"/var/lib/ceph/osd/ceph-{osd_id}")
    d.mkdir(parents=True, exist_ok=True)
    (d / "block").symlink_to(dev)
    (d / "keyring").write_text(f"[osd.{osd_id}]\n\tkey = {key}\n")
    (d / "type").write_text("bluestore\n")
    L.run(["ceph-osd", "--cluster", "ceph", "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid,
           "--osd-data", str(d), "--osd-objectstore", "bluestore", "--keyring", str(d / "keyring")],
          timeout=300)
    if o.get("crush-device-class"):
        L.ceph(["osd", "crush", "set-device-class", o["crush-device-class"], f"osd.{osd_id}"], check=False)
    L.unit_enable(f"ceph-osd@{osd_id}")
    L.unit_start(f"ceph-osd@{osd_id}", wait=0.5)
    print(f"--> ceph-volume lvm activate successful for osd ID: {osd_id}")
    print(f"--> ceph-volume lvm create successful for: {dev}")
    return 0


def osd_destroy(argv):
    return CD.osd_destroy(argv, sys.modules[__name__])


# ---------------------------------------------------------------- pools
def pool_names():
    ls = L.ceph(["osd", "pool", "ls"], fmt_json=True)
    return ls or []


def cmd_pool(argv):
    if not argv:
        raise L.PVEError(f"400 not enough arguments\n{USAGE}", 255)
    sub, rest = argv[0], argv[1:]
    read_conf()
    ensure_local_links()
    if sub in ("ls", "list"):
        return pool_ls(rest)
    if sub == "create":
        return pool_create(rest)
    if sub in ("destroy", "delete"):
        return pool_destroy(rest)
    if sub == "set":
        return pool_set(rest)
    if sub == "get":
        return pool_get(rest)
    raise L.PVEError(f"400 unknown command 'pveceph pool {sub}'\n{USAGE}", 255)


# `pool create`/`set`/`destroy` take the API methods' parameters (pve-manager PVE/CLI/pveceph.pm), from PVE's schema
POOL_CREATE_OPTS = L.ApiOptions("POST", "/nodes/{node}/ceph/pool", positional=("name",))
POOL_SET_OPTS = L.ApiOptions("PUT", "/nodes/{node}/ceph/pool/{name}", positional=("name",))
POOL_DESTROY_OPTS = L.ApiOptions("DELETE", "/nodes/{node}/ceph/pool/{name}", positional=("name",))


def pool_create(argv):
    pos, o = L.parse_args(argv, POOL_CREATE_OPTS, 1, USAGE)
    name = pos[0]
    if name in pool_names():
        raise L.PVEError(f"pool '{name}' already exists", 255)
    pg = o.get("pg_num", "128")
    app = o.get("application", "rbd")
    create = ["osd", "pool", "create", name, pg, pg, "replicated"]
    if "crush_rule" in o:
        create.append(o["crush_rule"])
    create += ["--size", o.get("size", "3"), "--autoscale-mode", ceph_autoscale_mode(o.get("pg_autoscale_mode", "warn"))]
    L.ceph(create)
    rest = OrderedDict((k, v) for k, v in o.items() if k in ("min_size", "pg_num_min", "target_size_ratio", "target_size"))
    rest.setdefault("min_size", "2")
    _apply_pool_opts(name, rest)
    L.ceph(["osd", "pool", "application", "enable", name, app], check=False)
    if o.get("add_storages") == "1":
        with L.cfs_lock("file-storage_cfg"):
            add_storage_section("rbd", name, OrderedDict([("pool", name), ("content", "images,rootdir"),
                                                          ("krbd", "0")]), exist_ok=True)
    return 0


def ceph_autoscale_mode(mode: str) -> str:
    """PVE's default is 'warn'; Debian's Ceph 16 warns for every pool in that mode, so the lab
    uses 'off' for 'warn' (no automatic change either way)."""
    if mode not in ("on", "off", "warn"):
        raise L.PVEError(f"400 Parameter verification failed.\npg_autoscale_mode: value '{mode}' does not have a value in the enumeration 'on, off, warn'", 255)
    return "off" if mode == "warn" else mode


def _apply_pool_opts(name, o):
    for key in ("size", "min_size", "pg_num", "pg_num_min", "pg_autoscale_mode", "target_size_ratio", "crush_rule"):
        if key in o:
            val = o[key]
            if key == "pg_autoscale_mode":
                val = ceph_autoscale_mode(val)
            if key == "pg_num":
                L.ceph(["osd", "pool", "set", name, "pg_num", val])
                L.ceph(["osd", "pool", "set", name, "pgp_num", val], check=False)
                continue
            L.ceph(["osd", "pool", "set", name, key, val])
    if "target_size" in o:
        L.ceph(["osd", "pool", "set", name, "target_size_bytes", o["target_size"]])


def pool_set(argv):
    pos, o = L.parse_args(argv, POOL_SET_OPTS, 1, USAGE)
    if pos[0] not in pool_names():
        raise L.PVEError(f"pool '{pos[0]}' does not exist", 255)
    _apply_pool_opts(pos[0], o)
    return 0


def pool_get(argv):
    pos, o = L.parse_args(argv, {"output-format": "str", "verbose": "bool"}, 1, USAGE)
    info = next((p for p in _pool_details() if p["pool_name"] == pos[0]), None)
    if info is None:
        raise L.PVEError(f"pool '{pos[0]}' does not exist", 255)
    out = {"name": info["pool_name"], "size": info["size"], "min_size": info["min_size"], "pg_num": info["pg_num"],
           "pg_autoscale_mode": info.get("pg_autoscale_mode"), "id": info.get("pool_id", info.get("pool")),
           "application_list": list(info.get("application_metadata", {}).keys())}
    if o.get("output-format", "text").startswith("json"):
        print(json.dumps(out, indent=2 if o["output-format"] == "json-pretty" else None))
    else:
        for k, v in out.items():
            print(f"{k:20} {v}")
    return 0


def _pool_details():
    return L.ceph(["osd", "pool", "ls", "detail"], fmt_json=True) or []


def pool_ls(argv):
    _, o = L.parse_args(argv, {"output-format": "str", "noborder": "bool", "noheader": "bool"}, 0, USAGE)
    details = _pool_details()
    df = L.ceph(["df"], check=False, fmt_json=True) or {}
    used = {p["name"]: p.get("stats", {}) for p in (df.get("pools") or [])}
    rows = []
    for p in details:
        st = used.get(p["pool_name"], {})
        rows.append({"pool_name": p["pool_name"], "size": p["size"], "min_size": p["min_size"],
                     "pg_num": p["pg_num"], "pg_autoscale_mode": p.get("pg_autoscale_mode"),
                     "crush_rule": "replicated_rule", "percent_used": st.get("percent_used", 0),
                     "bytes_used": st.get("bytes_used", 0), "pool": p.get("pool_id", p.get("pool")),
                     "application_metadata": p.get("application_metadata", {})})
    fmt = o.get("output-format", "text")
    if fmt.startswith("json"):
        print(json.dumps(rows, indent=2 if fmt == "json-pretty" else None))
        return 0
    cols = [("Name", "pool_name"), ("Size", "size"), ("Min Size", "min_size"), ("PG Num", "pg_num"),
            ("PG Autoscale Mode", "pg_autoscale_mode"), ("Crush Rule Name", "crush_rule"),
            ("%-Used", "percent_used"), ("Used", "bytes_used")]
    table = [[h for h, _ in cols]] + [[str(r[k]) for _, k in cols] for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    noborder = o.get("noborder") == "1"
    for n, r in enumerate(table):
        if n == 0 and o.get("noheader") == "1":
            continue
        cells = [c.ljust(w) for c, w in zip(r, widths)]
        print(" ".join(cells) if noborder else "│ " + " │ ".join(cells) + " │")
    return 0


def pool_destroy(argv):
    pos, o = L.parse_args(argv, POOL_DESTROY_OPTS, 1, USAGE)
    name = pos[0]
    if name not in pool_names():
        raise L.PVEError(f"pool '{name}' does not exist", 255)
    L.ceph(["osd", "pool", "rm", name, name, "--yes-i-really-really-mean-it"])
    if o.get("remove_storages") == "1":
        from .pvesm import remove_storage_sections_for_pool
        remove_storage_sections_for_pool(name)
    return 0


# ---------------------------------------------------------------- status
def cmd_status(argv):
    L.parse_args(argv, {}, 0, USAGE)
    if not CEPH_CONF.exists():
        raise L.PVEError("pveceph configuration not initialized", 255)
    ensure_local_links()
    res = L.run([L.CEPH_BIN, "--connect-timeout", "15", "-s"], check=False, timeout=30)
    sys.stdout.write(res.stdout)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        return 255
    return 0


COMMANDS = {"install": cmd_install, "init": cmd_init, "mon": cmd_mon, "mgr": cmd_mgr, "osd": cmd_osd,
            "pool": cmd_pool, "status": cmd_status}


@L.shim_main
def main(argv):
    return L.dispatch("pveceph", COMMANDS, USAGE, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
