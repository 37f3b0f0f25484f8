"""/storage and /storage/{storage}: storage.cfg and the storages' secrets under priv/ (pve-storage's
PVE/API2/Storage/Config.pm). A new pbs storage is activated (pbsclient) before it is saved, as PVE does."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from . import schema
from . import store
from .core import existing_section, fail, typed
from ..pve import storage_plugins as SP
from ..pve import pbsclient

ST_LOCK = "file-storage_cfg"


def _storage_entry(api, typ, sid, opts, digest):
    e = typed(opts, schema.config_props("POST", "/storage", api.major))
    if "disable" in opts:
        e["disable"] = 1 if opts["disable"] in ("", "1") else 0
    e.update(storage=sid, type=typ, digest=digest)
    e.setdefault("content", SP.default_content(typ, api.major))
    if typ in schema.STORAGE_SHARED_TYPES:
        e["shared"] = 1
    for k in ("password", "encryption-key", "keyring", "master-pubkey"):
        e.pop(k, None)
    if typ == "pbs" and api.store.path(f"priv/storage/{sid}.enc").exists():
        try:
            e["encryption-key"] = api.store.read_text(f"priv/storage/{sid}.enc").strip()
            json.loads(e["encryption-key"])
        except ValueError:
            e.pop("encryption-key", None)
    return e


# ---------------------------------------------------------------- handlers
def list_storage(api, ident, p):
    digest = api.store.digest("storage.cfg")
    out = []
    for t, i, o in api.store.sections("storage.cfg"):
        if p.get("type") and p["type"] != t:
            continue
        if not api.has(ident, f"/storage/{i}", ["Datastore.Audit", "Datastore.AllocateSpace"], True):
            continue
        out.append(_storage_entry(api, t, i, o, digest))
    return out


def get_storage(api, ident, p):
    sid = p["storage"]
    api.check(ident, f"/storage/{sid}", "Datastore.Allocate")
    for t, i, o in api.store.sections("storage.cfg"):
        if i == sid:
            return _storage_entry(api, t, i, o, api.store.digest("storage.cfg"))
    fail(f"storage '{sid}' does not exist")


def _plugin(api, typ):
    plugin = SP.plugin(typ, api.major)
    if plugin is None:
        fail(f"storage type '{typ}' is not supported by the lab API")
    return plugin


def _write_secret(api, typ, sid, key, value):
    ext = {"password": "pw", "encryption-key": "enc", "master-pubkey": "master.pem", "keyring": "keyring"}[key]
    if typ in ("rbd", "cephfs") and key == "keyring":
        # PVE::CephConfig::ceph_create_keyfile: a cephfs storage keeps the secret only
        rel = f"priv/ceph/{sid}.{'secret' if typ == 'cephfs' else 'keyring'}"
    else:
        rel = f"priv/storage/{sid}.{ext}"
    if value is None:
        api.store.unlink(rel)
    else:
        api.store.write_text(rel, value + ("\n" if key in ("password", "keyring") else ""), 0o600)


def _enabled_here(api, opts: dict) -> bool:
    """PVE::Storage::storage_check_enabled for this node: not disabled, and listed if `nodes` is set."""
    nodes = opts.get("nodes")
    return opts.get("disable") != "1" and (not nodes or api.node in schema.split_list(nodes))


def create_storage(api, ident, p):
    api.check(ident, "/storage", "Datastore.Allocate")
    typ, sid = p.pop("type"), p.pop("storage")
    if p.get("nodes") in ("", "0"):  # Config.pm: "delete $param->{nodes} if !$param->{nodes}"
        p.pop("nodes")
    plugin = _plugin(api, typ)
    sensitive = {k: p.pop(k) for k in plugin.sensitive if k in p}
    # The plugin's check_config runs before the storage.cfg lock, so its errors have no "create storage failed"
    try:
        opts = SP.check_config(typ, p, True, api.major)
    except SP.StorageConfigError as e:
        fail(e.msg)
    returned = {}
    with api.store.lock(ST_LOCK):
        secs = api.store.sections("storage.cfg")
        if any(i == sid for _, i, _ in secs):
            fail(f"create storage failed: storage ID '{sid}' already defined")
        if typ == "pbs" and _enabled_here(api, opts):
            # PVE activates a new storage before saving it, to detect problems sooner.
            try:
                pbsclient.activate(sid, opts, sensitive.get("password"))
            except pbsclient.ActivationError as error:
                fail(f"create storage failed: {error}")
        secs.append([typ, sid, store.order_options(opts, plugin.required)])
        for key in plugin.sensitive:
            if key == "encryption-key" and sensitive.get(key) == "autogen":
                keydata = json.dumps({"kdf": None, "created": time.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                                      "modified": time.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                                      "data": uuid.uuid4().hex, "fingerprint": ":".join(
                                          uuid.uuid4().hex[i:i + 2] for i in range(0, 32, 2))})
                sensitive[key] = keydata
                returned["encryption-key"] = keydata
            if key in sensitive or (typ == "pbs" and key == "password"):
                _write_secret(api, typ, sid, key, sensitive.get(key))
        if typ == "dir" and opts.get("mkdir", opts.get("create-base-path", "1")) == "1":
            try:
                Path(opts["path"]).mkdir(parents=True, exist_ok=True)
            except OSError:
                pass
        api.store.write_sections("storage.cfg", secs)
    res = {"storage": sid, "type": typ}
    if returned:
        res["config"] = returned
    return res


def update_storage(api, ident, p):
    sid = p.pop("storage")
    api.check(ident, f"/storage/{sid}", "Datastore.Allocate")
    digest = p.pop("digest", None)
    delete = schema.split_list(p.pop("delete", "") or "")
    with api.store.lock(ST_LOCK):
        secs, sec = existing_section(api.store, "storage.cfg", sid, digest,
                                     f"update storage failed: storage '{sid}' does not exist")
        typ = sec[0]
        plugin = SP.plugin(typ, api.major)
        if plugin is None:
            fail(f"update storage failed: storage type '{typ}' is not supported by the lab API")
        sensitive = {k: p.pop(k) for k in plugin.sensitive if k in p}
        try:
            settings = SP.check_config(typ, p, False, api.major)
            SP.check_delete(typ, delete, settings, api.major)
        except SP.StorageConfigError as e:
            fail(f"update storage failed: {e.msg}")
        opts = dict(sec[2])
        for k in delete:
            if k in plugin.sensitive:
                _write_secret(api, typ, sid, k, None)
            opts.pop(k, None)
        for k, v in sensitive.items():
            _write_secret(api, typ, sid, k, v)
        opts.update(settings)
        sec[2] = store.order_options(opts, plugin.required)
        api.store.write_sections("storage.cfg", secs)
    return {"storage": sid, "type": typ}


def delete_storage(api, ident, p):
    api.check(ident, "/storage", "Datastore.Allocate")
    sid = p["storage"]
    with api.store.lock(ST_LOCK):
        secs, sec = existing_section(api.store, "storage.cfg", sid, None, f"delete storage failed: storage '{sid}' does not exist")
        for key in SP.sensitive(sec[0], api.major):
            _write_secret(api, sec[0], sid, key, None)
        api.store.write_sections("storage.cfg", [s for s in secs if s[1] != sid])

