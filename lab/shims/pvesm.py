"""Lab shim for `pvesm` (Proxmox VE storage manager) over /etc/pve/storage.cfg.

add TYPE ID [--opt value ...] | set ID [--opt value ...] [--delete opts] | remove ID | status [--storage ID]
| config ID (lab extra) | help
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import OrderedDict
from pathlib import Path

from . import pvelib as L
from ..pve import pbsclient
from ..pve import storage_plugins as SP

USAGE = """USAGE: pvesm <COMMAND> [ARGS] [OPTIONS]   (proxmox-ha lab shim)

Stands in for Proxmox VE's `pvesm`; keeps /etc/pve/storage.cfg in PVE's section-config
format. Status of rbd storages comes from the real Ceph cluster (`ceph df`); dir storages
from statvfs. A new pbs storage is activated against its server, as PVE does; status never contacts it.

       pvesm add <type> <storage> [--OPTION VALUE ...]
       pvesm set <storage> [--OPTION VALUE ...] [--delete OPT[,OPT]] [--disable 0|1]
       pvesm remove <storage>
       pvesm status [--storage ID] [--content TYPE] [--enabled 0|1]
       pvesm help
"""

STORAGE_CFG = L.PVE / "storage.cfg"
SECRET_OPTS = ("password", "encryption-key", "keyring", "master-pubkey")
# Options are the API methods' parameters (pve-storage PVE/CLI/pvesm.pm: add = POST /storage, set = PUT
# /storage/{storage}), from PVE's schema for the lab's PVE major: the union over all storage types. Which of
# them a type has, and its content types, are the plugin's (lab/pve/storage_plugins.py), checked as PVE's
# handlers do.
# pvesm.pm param_mapping: create and update read a bare --password from stdin (PVE::PTY::read_password).
ADD_OPTS = L.ApiOptions("POST", "/storage", positional=("type", "storage"), interactive=("password",))
SET_OPTS = L.ApiOptions("PUT", "/storage/{storage}", positional=("storage",), interactive=("password",))
# the short usage PVE's CLI handler appends to a parameter error
ADD_USAGE = "pvesm add <type> <storage> [OPTIONS]"
SET_USAGE = "pvesm set <storage> [OPTIONS]"
# PVE writes a few flags without value
FLAG_OPTS = ()


def read_cfg():
    return L.read_sections(STORAGE_CFG)


def write_cfg(sections):
    L.write_file_atomic(STORAGE_CFG, L.format_section_config(sections))


def add_storage_section(typ, sid, opts: "OrderedDict", exist_ok=False):
    secs = read_cfg()
    if any(s[1] == sid for s in secs):
        if exist_ok:
            return False
        raise L.PVEError(f"create storage failed: storage ID '{sid}' already defined", 255)
    secs.append([typ, sid, opts])
    write_cfg(secs)
    return True


def remove_storage_sections_for_pool(pool):
    with L.cfs_lock("file-storage_cfg"):
        secs = [s for s in read_cfg() if not (s[0] == "rbd" and s[2].get("pool", s[1]) == pool)]
        write_cfg(secs)


def _verify(method, template, params, usage):
    """PVE's RESTHandler checks the call's parameters by the method's schema before its code runs (type enum,
    storage ID, formats such as pve-storage-content-list)."""
    from ..api import schema as SC  # lazily: only add and set check parameters by PVE's schema

    try:
        SC.validate(SC.method_schema(method, template, L.pve_major()), dict(params))
    except SC.ParamError as error:
        lines = "".join(f"{k}: {v}\n" for k, v in sorted(error.errors.items()))
        raise L.PVEError(f"400 Parameter verification failed.\n{lines}{usage}", 255) from None


def _check_config(typ, params, create, delete=()):
    """The plugin's check_config (and update's checks of `delete`) as API2/Storage/Config.pm runs them; PVE's
    warnings (content types the type does not take) go to stderr, as pvesm prints them."""
    warnings = []
    try:
        settings = SP.check_config(typ, params, create, L.pve_major(), warnings)
        if not create:
            SP.check_delete(typ, list(delete), settings, L.pve_major())
        return OrderedDict(settings)
    finally:
        for warning in warnings:
            sys.stderr.write(warning + "\n")


def _read_password(o) -> None:
    if o.get("password") == "":
        o["password"] = L.read_password()


def cmd_add(argv):
    pos, o = L.parse_args(argv, ADD_OPTS, 2, USAGE)
    _read_password(o)
    typ, sid = pos
    _verify("POST", "/storage", {"type": typ, "storage": sid, **o}, ADD_USAGE)
    if o.get("nodes") in ("", "0"):  # Config.pm create: "delete $param->{nodes} if !$param->{nodes}"
        o.pop("nodes")
    plugin = SP.plugin(typ, L.pve_major())
    secret = {k: o.pop(k) for k in (plugin.sensitive if plugin else SECRET_OPTS) if k in o}
    if plugin is None:  # a type the lab has no plugin facts of: taken as given
        opts = OrderedDict(o)
    else:
        # before the storage.cfg lock, so no "create storage failed: "
        try:
            opts = _check_config(typ, o, True)
        except SP.StorageConfigError as error:
            raise L.PVEError(error.msg, 255) from None
    if typ == "rbd" and "pool" not in opts:
        opts["pool"] = "rbd"
    if typ in ("dir",) and "content" not in opts:
        opts["content"] = "images,rootdir"
    with L.cfs_lock("file-storage_cfg"):
        if typ == "pbs" and opts.get("disable") != "1" and L.nodename() in (opts.get("nodes") or L.nodename()).split(","):
            # `pvesm add` is PVE's POST /storage in-process: the new PBS storage is activated before it is saved.
            try:
                pbsclient.activate(sid, opts, secret.get("password"))
            except pbsclient.ActivationError as error:
                raise L.PVEError(f"create storage failed: {error}", 255) from None
        add_storage_section(typ, sid, opts)
        _write_secrets(sid, secret)
    if typ == "dir" and o.get("mkdir", "1") == "1":
        Path(opts["path"]).mkdir(parents=True, exist_ok=True)
    return 0


def _write_secrets(sid, secret):
    for key, ext in (("password", "pw"), ("encryption-key", "enc")):
        path = L.PVE / "priv" / "storage" / f"{sid}.{ext}"
        if key in secret and secret[key] is None:
            path.unlink(missing_ok=True)
        elif key in secret:
            L.write_file_atomic(path, secret[key] + "\n", 0o600)


def cmd_set(argv):
    pos, o = L.parse_args(argv, SET_OPTS, 1, USAGE)
    _read_password(o)
    sid = pos[0]
    _verify("PUT", "/storage/{storage}", {"storage": sid, **o}, SET_USAGE)
    digest = o.pop("digest", None)
    delete = SP.split_list(o.pop("delete", "") or "")
    with L.cfs_lock("file-storage_cfg"):
        try:
            text = STORAGE_CFG.read_text()
        except FileNotFoundError:
            text = ""
        if digest and digest != hashlib.sha1(text.encode()).hexdigest():
            raise L.PVEError("update storage failed: detected modified configuration - file changed by other user? "
                             "Try again.", 255)
        secs = L.parse_section_config(text)
        sec = next((s for s in secs if s[1] == sid), None)
        if sec is None:
            raise L.PVEError(f"update storage failed: storage '{sid}' does not exist", 255)
        typ = sec[0]
        plugin = SP.plugin(typ, L.pve_major())
        sensitive = plugin.sensitive if plugin else SECRET_OPTS
        secret = {k: None for k in delete if k in sensitive}
        secret.update({k: o.pop(k) for k in sensitive if k in o})
        if plugin is None:  # a type the lab has no plugin facts of: taken as given
            settings = o
        else:
            try:
                settings = _check_config(typ, o, False, delete)
            except SP.StorageConfigError as error:
                raise L.PVEError(f"update storage failed: {error.msg}", 255) from None
        for d in delete:
            sec[2].pop(d, None)
        sec[2].update(settings)
        write_cfg(secs)
        # a deleted secret goes; of new ones the shim keeps the password (as it always did)
        _write_secrets(sid, {k: v for k, v in secret.items() if v is None or k == "password"})
    return 0


def cmd_remove(argv):
    pos, _ = L.parse_args(argv, {}, 1, USAGE)
    sid = pos[0]
    with L.cfs_lock("file-storage_cfg"):
        secs = read_cfg()
        if not any(s[1] == sid for s in secs):
            raise L.PVEError(f"delete storage failed: storage '{sid}' does not exist", 255)
        write_cfg([s for s in secs if s[1] != sid])
        for ext in ("pw", "enc"):
            (L.PVE / "priv" / "storage" / f"{sid}.{ext}").unlink(missing_ok=True)
    return 0


def _status_rows(secs, only=None):
    df = None
    rows = []
    me = L.nodename()
    for typ, sid, opts in secs:
        if only and sid != only:
            continue
        nodes = opts.get("nodes")
        if nodes and me not in nodes.split(","):
            continue
        disabled = opts.get("disable") == "1"
        total = used = avail = 0
        active = False
        if disabled:
            status = "disabled"
        elif typ == "dir":
            try:
                st = os.statvfs(opts.get("path", "/"))
                total = st.f_blocks * st.f_frsize // 1024
                avail = st.f_bavail * st.f_frsize // 1024
                used = total - st.f_bfree * st.f_frsize // 1024
                active = True
            except OSError:
                pass
        elif typ == "rbd":
            if df is None:
                df = L.ceph(["df"], check=False, timeout=30, fmt_json=True) if Path("/etc/ceph/ceph.conf").exists() else {}
                df = df or {}
            pool = opts.get("pool", "rbd")
            p = next((p for p in df.get("pools", []) if p.get("name") == pool), None)
            if p is not None:
                stt = p.get("stats", {})
                used = int(stt.get("bytes_used", stt.get("stored", 0))) // 1024
                avail = int(stt.get("max_avail", 0)) // 1024
                total = used + avail
                active = True
        status = "disabled" if disabled else ("active" if active else "inactive")
        pct = (100.0 * used / total) if total else 0.0
        rows.append({"storage": sid, "type": typ, "status": status, "active": int(active),
                     "enabled": int(not disabled), "total": total, "used": used, "avail": avail,
                     "used_fraction": pct / 100.0, "content": opts.get("content", ""), "shared": int(typ in (
                         "rbd", "cephfs", "pbs", "nfs", "cifs", "glusterfs", "iscsi") or opts.get("shared") == "1")})
    return rows


def cmd_status(argv):
    _, o = L.parse_args(argv, {**L.ApiOptions("GET", "/nodes/{node}/storage"), "output-format": "str"}, 0, USAGE)
    secs = read_cfg()
    if o.get("storage") and not any(s[1] == o["storage"] for s in secs):
        raise L.PVEError(f"storage '{o['storage']}' does not exist", 255)
    rows = _status_rows(secs, o.get("storage"))
    if o.get("content"):
        rows = [r for r in rows if o["content"] in r["content"].split(",")]
    if o.get("enabled") == "1":
        rows = [r for r in rows if r["enabled"]]
    if o.get("output-format", "text").startswith("json"):
        print(json.dumps(rows))
        return 0
    maxlen = max([len("Name")] + [len(r["storage"]) for r in rows]) + 1
    print(f"{'Name':<{maxlen}} {'Type':>10} {'Status':>10} {'Total':>15} {'Used':>15} {'Available':>15} {'%':>8}")
    for r in rows:
        pct = f"{r['used_fraction'] * 100:.2f}%"
        print(f"{r['storage']:<{maxlen}} {r['type']:>10} {r['status']:>10} {r['total']:>15} {r['used']:>15} "
              f"{r['avail']:>15} {pct:>8}")
    return 0


def cmd_config(argv):
    pos, _ = L.parse_args(argv, {}, (0, 1), USAGE)
    secs = read_cfg()
    if pos:
        secs = [s for s in secs if s[1] == pos[0]]
        if not secs:
            raise L.PVEError(f"storage '{pos[0]}' does not exist", 255)
    sys.stdout.write(L.format_section_config(secs))
    return 0


COMMANDS = {"add": cmd_add, "set": cmd_set, "remove": cmd_remove, "status": cmd_status, "config": cmd_config}


@L.shim_main
def main(argv):
    return L.dispatch("pvesm", COMMANDS, USAGE, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
