"""/storage and /storage/{storage}: storage.cfg and the storages' secrets under priv/ (pve-storage's
PVE/API2/Storage/Config.pm). A new pbs storage is activated (pbsclient) before it is saved, as PVE does."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from . import schema
from . import store
from .core import APIError, existing_section, fail, typed
from ..shims import pbsclient

ST_LOCK = "file-storage_cfg"


def _storage_entry(api, typ, sid, opts, digest):
    e = typed(opts, schema.config_props("POST", "/storage", api.major))
    if "disable" in opts:
        e["disable"] = 1 if opts["disable"] in ("", "1") else 0
    e.update(storage=sid, type=typ, digest=digest)
    e.setdefault("content", schema.STORAGE_DEFAULT_CONTENT.get(typ, ""))
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


def _storage_opts_check(typ, p, create):
    allowed = schema.STORAGE_TYPE_OPTIONS.get(typ)
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


def _write_secret(api, typ, sid, key, value):
    ext = {"password": "pw", "encryption-key": "enc", "master-pubkey": "master.pem", "keyring": "keyring"}[key]
    if typ in ("rbd", "cephfs") and key == "keyring":
        rel = f"priv/ceph/{sid}.keyring"
    else:
        rel = f"priv/storage/{sid}.{ext}"
    if value is None:
        api.store.unlink(rel)
    else:
        api.store.write_text(rel, value + ("\n" if key == "password" else ""), 0o600)


def _enabled_here(api, opts: dict) -> bool:
    """PVE::Storage::storage_check_enabled for this node: not disabled, and listed if `nodes` is set."""
    nodes = opts.get("nodes")
    return opts.get("disable") != "1" and (not nodes or api.node in schema.split_list(nodes))


def create_storage(api, ident, p):
    api.check(ident, "/storage", "Datastore.Allocate")
    typ, sid = p["type"], p["storage"]
    if not p.get("nodes"):
        p.pop("nodes", None)
    try:
        _storage_opts_check(typ, p, True)
    except APIError as e:
        fail(f"create storage failed: {e.msg}")
    sensitive = {k: p.pop(k) for k in schema.STORAGE_SENSITIVE.get(typ, ()) if k in p}
    opts = {k: v for k, v in p.items() if k not in ("storage", "type")}
    if "content" in opts:
        opts["content"] = ",".join(schema.split_list(opts["content"]))
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
        fixed = tuple(k for k, kind in schema.STORAGE_TYPE_OPTIONS[typ].items() if kind == "fixed")
        secs.append([typ, sid, store.order_options(opts, fixed)])
        for key in schema.STORAGE_SENSITIVE.get(typ, ()):
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
    sid = p["storage"]
    api.check(ident, f"/storage/{sid}", "Datastore.Allocate")
    delete = schema.split_list(p.pop("delete", "") or "")
    with api.store.lock(ST_LOCK):
        secs, sec = existing_section(api.store, "storage.cfg", sid, p.get("digest"),
                                           f"update storage failed: storage '{sid}' does not exist")
        typ = sec[0]
        try:
            _storage_opts_check(typ, {k: v for k, v in p.items() if k != "digest"}, False)
            for k in delete:
                kind = schema.STORAGE_TYPE_OPTIONS[typ].get(k)
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
            if k in schema.STORAGE_SENSITIVE.get(typ, ()):
                _write_secret(api, typ, sid, k, None)
            opts.pop(k, None)
        for k, v in p.items():
            if k in ("storage", "digest"):
                continue
            if k in schema.STORAGE_SENSITIVE.get(typ, ()):
                _write_secret(api, typ, sid, k, v)
                continue
            opts[k] = ",".join(schema.split_list(v)) if k == "content" else v
        fixed = tuple(k for k, kind in schema.STORAGE_TYPE_OPTIONS[typ].items() if kind == "fixed")
        sec[2] = store.order_options(opts, fixed)
        api.store.write_sections("storage.cfg", secs)
    return {"storage": sid, "type": typ}


def delete_storage(api, ident, p):
    api.check(ident, "/storage", "Datastore.Allocate")
    sid = p["storage"]
    with api.store.lock(ST_LOCK):
        secs, sec = existing_section(api.store, "storage.cfg", sid, None, f"delete storage failed: storage '{sid}' does not exist")
        for key in schema.STORAGE_SENSITIVE.get(sec[0], ()):
            _write_secret(api, sec[0], sid, key, None)
        api.store.write_sections("storage.cfg", [s for s in secs if s[1] != sid])

