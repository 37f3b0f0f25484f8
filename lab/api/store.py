"""The API's state: PVE's own config files under one /etc/pve-like directory (shared with the shims).

Section-config files are read and written with lab/pve/files.py's parser/formatter, as the shims do, so
`ha-manager` and `pvesm` see exactly what the API writes (and vice versa). Read-modify-write runs under the flock
on DIR/priv/lock/NAME.lock that the shims take too when DIR is /etc/pve (files.locked).
"""
from __future__ import annotations

import contextlib
import os
import urllib.parse
from collections import OrderedDict
from pathlib import Path

from ..pve import files


class Store:
    def __init__(self, pve_dir):
        self.dir = Path(pve_dir)

    def path(self, rel: str) -> Path:
        return self.dir / rel

    # -------------------------------------------------------------- locking: the shims' own cfs_lock files
    def lock(self, name: str, timeout: float = 10):
        return files.locked(self.dir, name, timeout)

    # -------------------------------------------------------------- plain files
    def read_text(self, rel: str, default: str = "") -> str:
        try:
            return (self.dir / rel).read_text()
        except FileNotFoundError:
            return default

    def write_text(self, rel: str, text: str, mode: int | None = None) -> None:
        files.write_file_atomic(self.dir / rel, text, mode)

    def unlink(self, rel: str) -> None:
        (self.dir / rel).unlink(missing_ok=True)

    # -------------------------------------------------------------- section config
    def sections(self, rel: str) -> list:
        return files.read_sections(self.dir / rel)

    def write_sections(self, rel: str, sections: list) -> None:
        files.write_file_atomic(self.dir / rel, files.format_section_config(sections))

    def digest(self, rel: str) -> str:
        import hashlib
        return hashlib.sha1(self.read_text(rel).encode()).hexdigest()


def order_options(opts: dict, required: tuple = ()) -> "OrderedDict":
    """Option order of PVE's SectionConfig writer: comment, disable flag, required keys, the rest (sorted)."""
    out = OrderedDict()
    if opts.get("comment"):
        out["comment"] = opts["comment"]
    if "disable" in opts and str(opts["disable"]) in ("1", ""):
        out["disable"] = ""
    for k in sorted(required):
        if k in opts:
            out[k] = opts[k]
    for k in sorted(opts):
        if k in out or k in ("comment", "disable"):
            continue
        v = opts[k]
        if v is None or str(v) == "":
            continue
        out[k] = str(v)
    return out


# ---------------------------------------------------------------- PVE::Tools encode_text/decode_text
def encode_text(text: str) -> str:
    return urllib.parse.quote(text, safe=" /.-_@,+=!()[]'\"#$&*;<>?^`{}|~")


def decode_text(text: str) -> str:
    return urllib.parse.unquote(text)


# ---------------------------------------------------------------- user.cfg (PVE::AccessControl format)
def parse_user_cfg(text: str) -> dict:
    cfg = {"users": OrderedDict(), "groups": OrderedDict(), "pools": OrderedDict(), "roles": OrderedDict(),
           "acl": OrderedDict()}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        data = [d.strip() for d in line.split(":")]
        et, data = data[0], data[1:]
        data += [""] * 10
        if et == "user":
            user, enable, expire, first, last, email, comment, keys = data[:8]
            u = {"enable": 1 if enable not in ("", "0") else 0, "expire": int(expire) if expire.isdigit() else 0,
                 "tokens": OrderedDict()}
            if first:
                u["firstname"] = decode_text(first)
            if last:
                u["lastname"] = decode_text(last)
            if email:
                u["email"] = email
            if comment:
                u["comment"] = decode_text(comment)
            if keys:
                u["keys"] = keys
            cfg["users"][user] = u
        elif et == "token":
            tokenid, expire, privsep, comment = data[:4]
            user, _, name = tokenid.partition("!")
            if user in cfg["users"] and name:
                t = {"expire": int(expire) if expire.isdigit() else 0,
                     "privsep": 1 if privsep not in ("", "0") else 0}
                if comment:
                    t["comment"] = decode_text(comment)
                cfg["users"][user]["tokens"][name] = t
        elif et == "group":
            group, members, comment = data[:3]
            g = {"users": [m for m in members.split(",") if m]}
            if comment:
                g["comment"] = decode_text(comment)
            cfg["groups"][group] = g
        elif et == "pool":
            pool, comment, vms, storage = data[:4]
            cfg["pools"][pool] = {"comment": decode_text(comment), "vms": vms, "storage": storage}
        elif et == "role":
            role, privs = data[:2]
            cfg["roles"][role] = [p for p in privs.split(",") if p]
        elif et == "acl":
            propagate, path, uglist, rolelist = data[:4]
            prop = 0 if propagate in ("", "0") else 1
            node = cfg["acl"].setdefault(path, {"users": {}, "groups": {}, "tokens": {}})
            for ug in [x for x in uglist.split(",") if x]:
                kind = "groups" if ug.startswith("@") else ("tokens" if "!" in ug else "users")
                name = ug[1:] if kind == "groups" else ug
                for role in [r for r in rolelist.split(",") if r]:
                    node[kind].setdefault(name, {})[role] = prop
    if "root@pam" not in cfg["users"]:
        cfg["users"]["root@pam"] = {"enable": 1, "expire": 0, "tokens": OrderedDict()}
    return cfg


def user_groups(cfg: dict, userid: str) -> list[str]:
    return sorted(g for g, d in cfg["groups"].items() if userid in d["users"])


def format_user_cfg(cfg: dict) -> str:
    out = []
    for user in sorted(cfg["users"]):
        d = cfg["users"][user]
        first = encode_text(d["firstname"]) if d.get("firstname") else ""
        last = encode_text(d["lastname"]) if d.get("lastname") else ""
        comment = encode_text(d["comment"]) if d.get("comment") else ""
        out.append(f"user:{user}:{1 if d.get('enable') else 0}:{int(d.get('expire') or 0)}:{first}:{last}:"
                   f"{d.get('email') or ''}:{comment}:{d.get('keys') or ''}:")
        for name in sorted(d.get("tokens", {})):
            t = d["tokens"][name]
            tc = encode_text(t["comment"]) if t.get("comment") else ""
            out.append(f"token:{user}!{name}:{int(t.get('expire') or 0)}:{1 if t.get('privsep') else 0}:{tc}:")
    out.append("")
    for group in sorted(cfg["groups"]):
        g = cfg["groups"][group]
        gc = encode_text(g["comment"]) if g.get("comment") else ""
        out.append(f"group:{group}:{','.join(sorted(g['users']))}:{gc}:")
    out.append("")
    for pool in sorted(cfg["pools"]):
        p = cfg["pools"][pool]
        pc = encode_text(p["comment"]) if p.get("comment") else ""
        out.append(f"pool:{pool}:{pc}:{p.get('vms', '')}:{p.get('storage', '')}:")
    out.append("")
    for role in sorted(cfg["roles"]):
        out.append(f"role:{role}:{','.join(sorted(cfg['roles'][role]))}:")
    out.append("")
    for path in sorted(cfg["acl"], key=lambda p: (p.count("/") if p != "/" else 0, p)):
        node = cfg["acl"][path]
        by = {0: {}, 1: {}}
        for kind, prefix in (("groups", "@"), ("users", ""), ("tokens", "")):
            for member, roles in node[kind].items():
                for prop in (0, 1):
                    rl = ",".join(sorted(r for r, p in roles.items() if p == prop))
                    if rl:
                        by[prop].setdefault(rl, set()).add(prefix + member)
        for prop in (0, 1):
            for rl in sorted(by[prop]):
                out.append(f"acl:{prop}:{path}:{','.join(sorted(by[prop][rl]))}:{rl}:")
    return "\n".join(out) + "\n"


def parse_token_cfg(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[0]] = parts[1]
    return out


def format_token_cfg(tokens: dict) -> str:
    return "".join(f"{k} {tokens[k]}\n" for k in sorted(tokens))


# ---------------------------------------------------------------- datacenter.cfg (PVE::DataCenterConfig)
def parse_datacenter_cfg(text: str) -> tuple[str, "OrderedDict"]:
    """-> (description from '#' comment lines, {key: raw value})"""
    desc, kv = [], OrderedDict()
    for raw in text.splitlines():
        if raw.startswith("#"):
            desc.append(decode_text(raw[1:]))
            continue
        line = raw.strip()
        if not line:
            continue
        k, sep, v = line.partition(":")
        if sep:
            kv[k.strip()] = v.strip()
    return ("\n".join(desc) + "\n") if desc else "", kv


def format_datacenter_cfg(description: str, kv: dict) -> str:
    comment = "".join(f"#{encode_text(line)}\n" for line in (description or "").split("\n") if line)
    return comment + "\n" + "".join(f"{k}: {kv[k]}\n" for k in sorted(kv))


def mkdirs(store: Store) -> None:
    for d in ("priv", "priv/storage", "priv/lock", "ha"):
        (store.dir / d).mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(store.dir / "priv", 0o700)
