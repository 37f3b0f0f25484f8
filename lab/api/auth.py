"""Authentication (API tokens, tickets + CSRF tokens) and PVE's ACL/role permission model."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
import uuid
from dataclasses import dataclass

from . import store

TICKET_LIFETIME = 7200
USER_CFG = "user.cfg"
TOKEN_CFG = "priv/token.cfg"
ROOT_PASSWORD_FILE = "priv/lab-root-password"
TICKET_KEY_FILE = "priv/lab-api-ticket.key"

# PVE::AccessControl privilege groups: category -> (root, admin, user, audit)
PRIVGROUPS = {
    "VM": ([], ["VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType",
                "VM.Config.Options", "VM.Allocate", "VM.Clone", "VM.GuestAgent.Unrestricted", "VM.Migrate",
                "VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback"],
           ["VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup", "VM.GuestAgent.FileRead",
            "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite", "VM.PowerMgmt"],
           ["VM.Audit", "VM.GuestAgent.Audit"]),
    "Sys": (["Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"], ["Sys.Console", "Sys.Syslog"],
            [], ["Sys.Audit"]),
    "Datastore": ([], ["Datastore.Allocate", "Datastore.AllocateTemplate"], ["Datastore.AllocateSpace"],
                  ["Datastore.Audit"]),
    "SDN": ([], ["SDN.Allocate", "SDN.Audit"], ["SDN.Use"], ["SDN.Audit"]),
    "User": (["Realm.Allocate"], ["User.Modify", "Group.Allocate", "Realm.AllocateUser"], [], []),
    "Pool": ([], ["Pool.Allocate"], ["Pool.Audit"], ["Pool.Audit"]),
    "Mapping": ([], ["Mapping.Modify"], ["Mapping.Use"], ["Mapping.Audit"]),
}


def builtin_roles() -> dict[str, set]:
    all_privs = {"Permissions.Modify"}
    roles: dict[str, set] = {"NoAccess": set(), "PVEAdmin": set(), "PVEAuditor": set(),
                             "PVETemplateUser": {"VM.Clone", "VM.Audit"}}
    for cat, (root, admin, user, audit) in PRIVGROUPS.items():
        all_privs.update(root + admin + user + audit)
        roles.setdefault(f"PVE{cat}Admin", set()).update(admin + user + audit)
        roles["PVEAdmin"].update(admin + user + audit)
        if user:
            roles.setdefault(f"PVE{cat}User", set()).update(user + audit)
        roles["PVEAuditor"].update(audit)
    roles["PVEAdmin"].discard("Mapping.Modify")
    roles["Administrator"] = set(all_privs)
    return roles


BUILTIN_ROLES = builtin_roles()
ALL_PRIVS = BUILTIN_ROLES["Administrator"]


class AuthError(Exception):
    """401; msg is the status line."""

    def __init__(self, msg: str = "authentication failure"):
        super().__init__(msg)
        self.msg = msg


class PermissionDenied(Exception):
    """403 Permission check failed (PATH, PRIV)."""

    def __init__(self, path: str, privs):
        privs = privs if isinstance(privs, str) else ("|".join(privs))
        super().__init__(f"Permission check failed ({path}, {privs})")
        self.msg = str(self)


@dataclass
class Identity:
    userid: str                 # user@realm
    tokenid: str | None = None  # token name (for API tokens)
    privsep: int = 0
    ticket: bool = False        # authenticated by cookie: writes need the CSRF token

    @property
    def authid(self) -> str:
        return f"{self.userid}!{self.tokenid}" if self.tokenid else self.userid

    @property
    def superuser(self) -> bool:
        return self.userid == "root@pam" and not (self.tokenid and self.privsep)


# ---------------------------------------------------------------- config access
def read_users(st: store.Store) -> dict:
    return store.parse_user_cfg(st.read_text(USER_CFG))


def write_users(st: store.Store, cfg: dict) -> None:
    st.write_text(USER_CFG, store.format_user_cfg(cfg))


def read_token_secrets(st: store.Store) -> dict:
    return store.parse_token_cfg(st.read_text(TOKEN_CFG))


def set_token_secret(st: store.Store, full_tokenid: str, value: str | None) -> None:
    with st.lock("file-priv_token_cfg"):
        tokens = read_token_secrets(st)
        if value is None:
            tokens.pop(full_tokenid, None)
        else:
            tokens[full_tokenid] = value
        st.write_text(TOKEN_CFG, store.format_token_cfg(tokens), 0o600)


def create_token(st: store.Store, userid: str, name: str, privsep: int, comment: str | None = None,
                 expire: int | None = None) -> tuple[str, str, dict]:
    """Create token NAME of USERID (must exist). -> (full tokenid, secret, info). Raises KeyError/ValueError."""
    with st.lock("file-user_cfg"):
        cfg = read_users(st)
        if userid not in cfg["users"]:
            raise KeyError(f"no such user ('{userid}')")
        if name in cfg["users"][userid]["tokens"]:
            raise ValueError("Token already exists.")
        full = f"{userid}!{name}"
        value = str(uuid.uuid4())
        set_token_secret(st, full, value)
        info = {"privsep": int(privsep)}
        if expire is not None:
            info["expire"] = int(expire)
        if comment:
            info["comment"] = comment
        cfg["users"][userid]["tokens"][name] = dict(info)
        write_users(st, cfg)
    return full, value, info


def bootstrap_token(st, userid: str = "root@pam", name: str = "pulumi") -> str:
    """Idempotently ensure a privsep=0 token and return 'USER!NAME=SECRET' (for `lab.api token`).
    st: a Store or the pve directory."""
    if not isinstance(st, store.Store):
        st = store.Store(st)
    store.mkdirs(st)
    with st.lock("file-user_cfg"):
        cfg = read_users(st)
        if userid not in cfg["users"]:
            if userid != "root@pam":
                raise KeyError(f"no such user ('{userid}')")
            cfg["users"][userid] = {"enable": 1, "expire": 0, "tokens": {}}
        full = f"{userid}!{name}"
        secret = read_token_secrets(st).get(full)
        tok = cfg["users"][userid]["tokens"].get(name)
        changed = False
        if tok is None:
            cfg["users"][userid]["tokens"][name] = {"expire": 0, "privsep": 0}
            changed = True
        elif tok.get("privsep") or tok.get("expire"):
            tok["privsep"] = 0
            tok["expire"] = 0
            changed = True
        if not secret:
            secret = str(uuid.uuid4())
            set_token_secret(st, full, secret)
        if changed or not st.path(USER_CFG).exists():
            write_users(st, cfg)
    return f"{full}={secret}"


# ---------------------------------------------------------------- tickets
def _ticket_key(st: store.Store) -> bytes:
    p = st.path(TICKET_KEY_FILE)
    try:
        key = p.read_bytes().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    store.mkdirs(st)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return p.read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    return key


def _sign(st: store.Store, data: str) -> str:
    return base64.b64encode(hmac.new(_ticket_key(st), data.encode(), hashlib.sha256).digest()).decode().rstrip("=")


def make_ticket(st: store.Store, userid: str, now: int | None = None) -> tuple[str, str]:
    """-> (ticket, CSRFPreventionToken), PVE-shaped: PVE:USER:HEXTIME::SIG and HEXTIME:SIG."""
    ts = f"{int(now or time.time()):08X}"
    plain = f"PVE:{userid}:{ts}"
    ticket = f"{plain}::{_sign(st, plain)}"
    csrf = f"{ts}:{_sign(st, f'{ts}:{userid}')}"
    return ticket, csrf


def verify_ticket(st: store.Store, ticket: str) -> str:
    parts = ticket.split("::", 1)
    if len(parts) != 2 or not parts[0].startswith("PVE:"):
        raise AuthError("authentication failure")
    plain, sig = parts
    if not hmac.compare_digest(sig, _sign(st, plain)):
        raise AuthError("authentication failure")
    _, userid, ts = plain.split(":", 2) if plain.count(":") >= 2 else ("", "", "0")
    try:
        age = time.time() - int(ts, 16)
    except ValueError:
        raise AuthError("authentication failure")
    if age > TICKET_LIFETIME or age < -300:
        raise AuthError("authentication failure")
    return userid


def verify_csrf(st: store.Store, userid: str, token: str | None) -> bool:
    if not token or ":" not in token:
        return False
    ts, sig = token.split(":", 1)
    try:
        age = time.time() - int(ts, 16)
    except ValueError:
        return False
    return -300 < age < TICKET_LIFETIME and hmac.compare_digest(sig, _sign(st, f"{ts}:{userid}"))


def check_password(st: store.Store, userid: str, password: str) -> bool:
    if userid == "root@pam":
        want = st.read_text(ROOT_PASSWORD_FILE).rstrip("\n")
        return bool(want) and hmac.compare_digest(want, password)
    # pve realm users: priv/shadow.cfg "user:HASH:" (the lab stores a salted sha256)
    name, _, realm = userid.partition("@")
    if realm != "pve":
        return False
    for line in st.read_text("priv/shadow.cfg").splitlines():
        parts = line.split(":")
        if len(parts) >= 2 and parts[0] == name:
            return verify_password_hash(parts[1], password)
    return False


def hash_password(password: str) -> str:
    salt = secrets.token_hex(8)
    return f"$lab-sha256${salt}${hashlib.sha256((salt + password).encode()).hexdigest()}"


def verify_password_hash(h: str, password: str) -> bool:
    parts = h.split("$")
    if len(parts) == 4 and parts[1] == "lab-sha256":
        return hmac.compare_digest(parts[3], hashlib.sha256((parts[2] + password).encode()).hexdigest())
    return False


def set_password(st: store.Store, userid: str, password: str) -> None:
    name, _, realm = userid.partition("@")
    if realm != "pve":
        return  # pam passwords live in the system's shadow; the lab does not touch it
    with st.lock("file-priv_shadow_cfg"):
        lines = [ln for ln in st.read_text("priv/shadow.cfg").splitlines() if ln and ln.split(":")[0] != name]
        lines.append(f"{name}:{hash_password(password)}:")
        st.write_text("priv/shadow.cfg", "\n".join(lines) + "\n", 0o600)


# ---------------------------------------------------------------- request authentication
def authenticate(st: store.Store, headers, method: str) -> Identity:
    auth = headers.get("Authorization") or ""
    if auth.startswith("PVEAPIToken"):
        rest = auth[len("PVEAPIToken"):].lstrip(" =:")
        if "=" not in rest:
            raise AuthError("authentication failure")
        full, value = rest.split("=", 1)
        user, sep, name = full.partition("!")
        if not sep or not name:
            raise AuthError("authentication failure")
        cfg = read_users(st)
        u = cfg["users"].get(user)
        if not u or not u.get("enable"):
            raise AuthError("authentication failure")
        tok = u["tokens"].get(name)
        if tok is None:
            raise AuthError("authentication failure")
        now = time.time()
        if (tok.get("expire") and tok["expire"] < now) or (u.get("expire") and u["expire"] < now):
            raise AuthError("authentication failure")
        secret = read_token_secrets(st).get(full)
        if not secret or not hmac.compare_digest(secret, value.strip()):
            raise AuthError("authentication failure")
        return Identity(userid=user, tokenid=name, privsep=int(tok.get("privsep", 1)))
    cookie = headers.get("Cookie") or ""
    ticket = None
    for part in cookie.split(";"):
        k, _, v = part.strip().partition("=")
        if k == "PVEAuthCookie":
            import urllib.parse
            ticket = urllib.parse.unquote(v)
    if not ticket:
        raise AuthError("No ticket")
    userid = verify_ticket(st, ticket)
    cfg = read_users(st)
    u = cfg["users"].get(userid)
    if not u or not u.get("enable"):
        raise AuthError("authentication failure")
    ident = Identity(userid=userid, ticket=True)
    if method not in ("GET", "HEAD") and not verify_csrf(st, userid, headers.get("CSRFPreventionToken")):
        raise AuthError("Permission denied - invalid csrf token")
    return ident


# ---------------------------------------------------------------- permissions (PVE::RPCEnvironment::permissions)
def _role_privs(cfg: dict, role: str) -> set:
    if role in BUILTIN_ROLES:
        return BUILTIN_ROLES[role]
    return set(cfg["roles"].get(role, []))


def _prefixes(path: str) -> list[str]:
    if path == "/":
        return ["/"]
    parts = [p for p in path.split("/") if p]
    return ["/"] + ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _roles_for(cfg: dict, kind: str, ident: str, path: str) -> set:
    roles: set = set()
    groups = [g for g, d in cfg["groups"].items() if ident in d["users"]] if kind == "users" else []
    for p in _prefixes(path):
        node = cfg["acl"].get(p)
        if not node:
            continue
        final = p == path
        found = None
        if groups:
            gr = set()
            for g in groups:
                gr |= {r for r, prop in node["groups"].get(g, {}).items() if final or prop}
            if gr:
                found = gr
        own = {r for r, prop in node[kind].get(ident, {}).items() if final or prop}
        if own:
            found = own
        if found is not None:
            roles = found
    return roles


def privileges(cfg: dict, ident: Identity, path: str) -> set:
    if ident.superuser:
        return set(ALL_PRIVS)

    def of(roles):
        if "NoAccess" in roles:
            return set()
        out = set()
        for r in roles:
            out |= _role_privs(cfg, r)
        return out

    user_privs = set(ALL_PRIVS) if ident.userid == "root@pam" else of(_roles_for(cfg, "users", ident.userid, path))
    if ident.tokenid and ident.privsep:
        return user_privs & of(_roles_for(cfg, "tokens", ident.authid, path))
    return user_privs


def has(cfg: dict, ident: Identity, path: str, privs, any_of: bool = False) -> bool:
    privs = [privs] if isinstance(privs, str) else list(privs)
    mine = privileges(cfg, ident, path)
    return any(p in mine for p in privs) if any_of else all(p in mine for p in privs)


def check(cfg: dict, ident: Identity, path: str, privs, any_of: bool = False) -> None:
    privs = [privs] if isinstance(privs, str) else list(privs)
    mine = privileges(cfg, ident, path)
    if any_of:
        if not any(p in mine for p in privs):
            raise PermissionDenied(path, privs)
        return
    for p in privs:
        if p not in mine:
            raise PermissionDenied(path, p)
