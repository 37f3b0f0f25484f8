"""/access: tickets, users, API tokens and ACLs in user.cfg (pve-access-control's PVE/API2/AccessControl.pm,
User.pm, ACL.pm)."""
from __future__ import annotations

import re
from collections import OrderedDict

from . import auth
from . import schema
from . import store
from .core import fail, param_fail

# ---------------------------------------------------------------- ticket
def create_ticket(api, ident, p):
    user = p["username"]
    if p.get("realm") and "@" not in user:
        user = f"{user}@{p['realm']}"
    cfg = api.users()
    u = cfg["users"].get(user)
    if not u or not u.get("enable") or not auth.check_password(api.store, user, p["password"]):
        raise auth.AuthError("authentication failure")
    ticket, csrf = auth.make_ticket(api.store, user)
    return {"username": user, "ticket": ticket, "CSRFPreventionToken": csrf,
            "cap": {"access": {}, "nodes": {}, "storage": {}, "vms": {}, "dc": {}, "sdn": {}, "mapping": {}},
            "clustername": api.cluster.cluster_name() or None}


# ---------------------------------------------------------------- users
USER_LOCK = "file-user_cfg"


def _user_entry(cfg, userid, full):
    d = cfg["users"][userid]
    e = {k: d[k] for k in ("enable", "expire", "firstname", "lastname", "email", "comment", "keys") if k in d}
    groups = store.user_groups(cfg, userid)
    if full:
        e["groups"] = groups
        e["tokens"] = {n: dict(t) for n, t in d["tokens"].items()}
    return e


def _may_user_modify(api, ident, userid, privs=("User.Modify",)):
    """'userid-group' check: privs on /access/groups or on a group the user is in."""
    cfg = api.users()
    if api.has(ident, "/access/groups", list(privs), True):
        return True
    return any(api.has(ident, f"/access/groups/{g}", list(privs), True) for g in store.user_groups(cfg, userid))


def list_users(api, ident, p):
    cfg = api.users()
    can = api.has(ident, "/access/groups", ["User.Modify", "Sys.Audit"], True)
    out = []
    for userid in sorted(cfg["users"]):
        if not (can or userid == ident.userid or _may_user_modify(api, ident, userid, ("User.Modify", "Sys.Audit"))):
            continue
        e = _user_entry(cfg, userid, p.get("full") == "1")
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


def create_user(api, ident, p):
    userid = p["userid"]
    realm = userid.rsplit("@", 1)[1]
    api.check(ident, f"/access/realm/{realm}", "Realm.AllocateUser")
    api.check(ident, "/access/groups", "User.Modify")
    with api.store.lock(USER_LOCK):
        cfg = api.users()
        if userid in cfg["users"]:
            fail(f"create user failed: user '{userid}' already exists")
        if "password" in p:
            auth.set_password(api.store, userid, p["password"])
        u = {"enable": int(p.get("enable", "1")), "expire": int(p.get("expire") or 0), "tokens": OrderedDict()}
        for k in ("firstname", "lastname", "email", "comment", "keys"):
            if p.get(k):
                u[k] = p[k]
        for g in schema.split_list(p.get("groups", "")):
            if g not in cfg["groups"]:
                fail(f"create user failed: no such group '{g}'")
            cfg["groups"][g]["users"].append(userid)
        cfg["users"][userid] = u
        auth.write_users(api.store, cfg)


def get_user(api, ident, p):
    userid = p["userid"]
    if not _may_user_modify(api, ident, userid, ("User.Modify", "Sys.Audit")):
        raise auth.PermissionDenied("/access/groups", "User.Modify|Sys.Audit")
    cfg = api.users()
    if userid not in cfg["users"]:
        fail(f"no such user ('{userid}')")
    return _user_entry(cfg, userid, True)


def update_user(api, ident, p):
    userid = p["userid"]
    if not _may_user_modify(api, ident, userid):
        raise auth.PermissionDenied("/access/groups", "User.Modify")
    with api.store.lock(USER_LOCK):
        cfg = api.users()
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
            for g in schema.split_list(p["groups"]):
                if g not in cfg["groups"]:
                    fail(f"update user failed: no such group '{g}'")
                if userid not in cfg["groups"][g]["users"]:
                    cfg["groups"][g]["users"].append(userid)
        auth.write_users(api.store, cfg)


def delete_user(api, ident, p):
    userid = p["userid"]
    realm = userid.rsplit("@", 1)[1]
    api.check(ident, f"/access/realm/{realm}", "Realm.AllocateUser")
    if not _may_user_modify(api, ident, userid):
        raise auth.PermissionDenied("/access/groups", "User.Modify")
    with api.store.lock(USER_LOCK):
        cfg = api.users()
        if userid not in cfg["users"]:
            fail(f"delete user failed: no such user ('{userid}')")
        for name in cfg["users"][userid]["tokens"]:
            auth.set_token_secret(api.store, f"{userid}!{name}", None)
        del cfg["users"][userid]
        for g in cfg["groups"].values():
            g["users"] = [m for m in g["users"] if m != userid]
        for node in cfg["acl"].values():
            node["users"].pop(userid, None)
            for t in [t for t in node["tokens"] if t.startswith(userid + "!")]:
                node["tokens"].pop(t)
        auth.write_users(api.store, cfg)


# ---------------------------------------------------------------- tokens
def _token_perm(api, ident, userid):
    if ident.authid == userid or ident.userid == userid and not ident.tokenid:
        return
    if not _may_user_modify(api, ident, userid):
        raise auth.PermissionDenied("/access/groups", "User.Modify")


def list_tokens(api, ident, p):
    userid = p["userid"]
    _token_perm(api, ident, userid)
    cfg = api.users()
    if userid not in cfg["users"]:
        fail(f"no such user ('{userid}')")
    return [dict(tokenid=n, **t) for n, t in cfg["users"][userid]["tokens"].items()]


def _token_of(cfg: dict, userid: str, name: str) -> dict:
    """The token's entry in user.cfg, or PVE's error for a missing user or token."""
    if userid not in cfg["users"]:
        fail(f"no such user ('{userid}')")
    tok = cfg["users"][userid]["tokens"].get(name)
    if tok is None:
        fail(f"no such token '{name}' for user '{userid}'")
    return tok


def get_token(api, ident, p):
    userid, name = p["userid"], p["tokenid"]
    _token_perm(api, ident, userid)
    return dict(_token_of(api.users(), userid, name))


def create_token(api, ident, p):
    userid, name = p["userid"], p["tokenid"]
    _token_perm(api, ident, userid)
    cfg = api.users()
    if userid not in cfg["users"]:
        fail(f"no such user ('{userid}')")
    if name in cfg["users"][userid]["tokens"]:
        param_fail({"tokenid": "Token already exists."})
    try:
        full, value, info = auth.create_token(api.store, userid, name, int(p.get("privsep", "1")),
                                           p.get("comment"), int(p["expire"]) if "expire" in p else None)
    except KeyError as e:
        fail(f"generating token failed: {e.args[0]}")
    except ValueError as e:
        fail(f"generating token failed: {e}")
    return {"full-tokenid": full, "value": value, "info": info}


def update_token(api, ident, p):
    userid, name = p["userid"], p["tokenid"]
    _token_perm(api, ident, userid)
    with api.store.lock(USER_LOCK):
        cfg = api.users()
        tok = _token_of(cfg, userid, name)
        for k in ("privsep", "expire"):
            if k in p:
                tok[k] = int(p[k])
        if "comment" in p:
            tok["comment"] = p["comment"]
            if not tok["comment"]:
                tok.pop("comment")
        for k in schema.split_list(p.get("delete", "")):
            if k != "comment":
                param_fail({"delete": f"unknown option '{k}'"})
            tok.pop(k, None)
        auth.write_users(api.store, cfg)
    return dict(tok)  # PVE has no way to regenerate a token's secret: remove and add it


def delete_token(api, ident, p):
    userid, name = p["userid"], p["tokenid"]
    _token_perm(api, ident, userid)
    with api.store.lock(USER_LOCK):
        cfg = api.users()
        _token_of(cfg, userid, name)
        full = f"{userid}!{name}"
        auth.set_token_secret(api.store, full, None)
        del cfg["users"][userid]["tokens"][name]
        for node in cfg["acl"].values():
            node["tokens"].pop(full, None)
        auth.write_users(api.store, cfg)


# ---------------------------------------------------------------- ACL
def list_acl(api, ident, p):
    cfg = api.users()
    audit = api.has(ident, "/access", "Sys.Audit")
    out = []
    for path, node in cfg["acl"].items():
        if not (audit or api.has(ident, path, "Permissions.Modify")):
            continue
        for kind, typ in (("users", "user"), ("groups", "group"), ("tokens", "token")):
            for ugid, roles in node[kind].items():
                for role, prop in roles.items():
                    out.append({"path": path, "type": typ, "ugid": ugid, "roleid": role, "propagate": prop})
    return out


def update_acl(api, ident, p):
    if not (p.get("users") or p.get("groups") or p.get("tokens")):
        param_fail({k: "either 'users', 'groups' or 'tokens' is required." for k in ("users", "groups", "tokens")})
    path = re.sub(r"/+", "/", p["path"]).rstrip("/") or "/"
    api.check(ident, path, "Permissions.Modify")
    delete = p.get("delete") == "1"
    propagate = int(p.get("propagate", "1"))
    with api.store.lock(USER_LOCK):
        cfg = api.users()
        node = cfg["acl"].setdefault(path, {"users": {}, "groups": {}, "tokens": {}})
        for role in schema.split_list(p["roles"]):
            if role not in auth.BUILTIN_ROLES and role not in cfg["roles"]:
                fail(f"role '{role}' does not exist")
            for g in schema.split_list(p.get("groups", "")):
                if g not in cfg["groups"]:
                    fail(f"group '{g}' does not exist")
                _acl_set(node["groups"], g, role, propagate, delete)
            for u in schema.split_list(p.get("users", "")):
                if u not in cfg["users"]:
                    fail(f"user '{u}' does not exist")
                _acl_set(node["users"], u, role, propagate, delete)
            for t in schema.split_list(p.get("tokens", "")):
                user, _, name = t.partition("!")
                if user not in cfg["users"]:
                    fail(f"no such user ('{user}')")
                if name not in cfg["users"][user]["tokens"]:
                    fail(f"no such token '{name}' for user '{user}'")
                _acl_set(node["tokens"], t, role, propagate, delete)
        auth.write_users(api.store, cfg)


def _acl_set(d, member, role, propagate, delete):
    if delete:
        d.get(member, {}).pop(role, None)
        if member in d and not d[member]:
            del d[member]
    else:
        d.setdefault(member, {})[role] = propagate

