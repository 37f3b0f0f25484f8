"""Authentication (tokens, tickets, CSRF) and the permission model."""
from lab.api import auth as A
from lab.api import store as S


def test_missing_and_bad_tokens_are_401(lab):
    status, reason, body = lab.client(None).get("/version")
    assert (status, reason) == (401, "No ticket")
    assert body["data"] is None
    for bad in ("root@pam!pulumi=00000000-0000-0000-0000-000000000000", "root@pam!nope=x", "garbage"):
        status, reason, _ = lab.client(bad).get("/version")
        assert (status, reason) == (401, "authentication failure")


def test_root_token_and_version(lab):
    status, _, body = lab.client().get("/version")
    assert status == 200
    assert body["data"]["version"].startswith("8.") and body["data"]["release"] == "8.4"


def test_bootstrap_token_is_idempotent(lab):
    st = S.Store(lab.pve)
    again = A.bootstrap_token(st, "root@pam", "pulumi")
    assert again == lab.root_token
    assert "token:root@pam!pulumi:0:0::" in (lab.pve / "user.cfg").read_text()
    secret = lab.root_token.split("=", 1)[1]
    assert (lab.pve / "priv" / "token.cfg").read_text() == f"root@pam!pulumi {secret}\n"
    assert secret not in (lab.pve / "user.cfg").read_text()


def test_cli_token(lab):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "lab.api", "token", "--pve-dir", str(lab.pve), "--user", "root@pam",
                          "--name", "pulumi"], capture_output=True, text=True, check=True).stdout.strip()
    assert out == lab.root_token


def test_expired_token_is_401(lab):
    c = lab.client()
    c.post("/access/users/root@pam/token/old", {"privsep": "0", "expire": "1000"})
    st = S.Store(lab.pve)
    secret = A.read_token_secrets(st)["root@pam!old"]
    status, _, _ = lab.client(f"root@pam!old={secret}").get("/version")
    assert status == 401


def _auditor(lab):
    c = lab.client()
    assert c.post("/access/users", {"userid": "monitoring@pve", "comment": "exporter"})[0] == 200
    status, _, body = c.post("/access/users/monitoring@pve/token/exporter", {"privsep": "1"})
    assert status == 200
    token = f"{body['data']['full-tokenid']}={body['data']['value']}"
    # privsep token: needs an ACL for the user *and* for the token
    assert c.put("/access/acl", {"path": "/", "roles": "PVEAuditor", "users": "monitoring@pve"})[0] == 200
    assert c.put("/access/acl", {"path": "/", "roles": "PVEAuditor", "tokens": "monitoring@pve!exporter",
                                 "propagate": "1"})[0] == 200
    return lab.client(token)


def test_auditor_token_reads_but_cannot_write(lab):
    aud = _auditor(lab)
    for path in ("/cluster/ha/groups", "/cluster/status", "/cluster/resources", "/cluster/backup",
                 "/cluster/options", "/nodes/pve1/status", "/cluster/ha/status/current",
                 "/cluster/backup-info/not-backed-up", "/storage", "/version"):
        status, _, body = aud.get(path)
        assert status == 200, (path, body)
    status, reason, body = aud.post("/cluster/ha/groups", {"group": "g1", "nodes": "pve1"})
    assert status == 403 and reason == "Permission check failed (/, Sys.Console)"
    assert aud.put("/cluster/options", {"keyboard": "de"})[0] == 403
    assert aud.post("/storage", {"storage": "x1", "type": "dir", "path": "/tmp/x1"})[0] == 403
    assert aud.post("/cluster/backup", {"schedule": "02:00", "all": "1", "storage": "local"})[0] == 403
    # the storage listing is filtered to Datastore.Audit, which PVEAuditor has
    assert [s["storage"] for s in aud.get("/storage")[2]["data"]] == ["local"]


def test_privsep_token_without_token_acl_sees_nothing(lab):
    c = lab.client()
    c.post("/access/users", {"userid": "mon2@pve"})
    body = c.post("/access/users/mon2@pve/token/t1", {})[2]["data"]
    assert body["info"]["privsep"] == 1
    c.put("/access/acl", {"path": "/", "roles": "PVEAuditor", "users": "mon2@pve"})
    tok = lab.client(f"{body['full-tokenid']}={body['value']}")
    assert tok.get("/cluster/ha/groups")[0] == 403
    assert tok.get("/version")[0] == 200


def test_token_value_returned_once(lab):
    c = lab.client()
    status, _, body = c.post("/access/users/root@pam/token/automation", {"comment": "ci", "privsep": "1"})
    assert status == 200
    data = body["data"]
    assert data["full-tokenid"] == "root@pam!automation"
    assert len(data["value"]) == 36 and data["info"] == {"privsep": 1, "comment": "ci"}
    status, _, got = c.get("/access/users/root@pam/token/automation")
    assert status == 200 and got["data"] == {"privsep": 1, "expire": 0, "comment": "ci"}
    assert data["value"] not in str(c.get("/access/users/root@pam/token")[2])
    assert data["value"] not in str(c.get("/access/users", {"full": "1"})[2])
    # creating again is refused, like PVE
    status, _, err = c.post("/access/users/root@pam/token/automation", {})
    assert status == 400 and err["errors"] == {"tokenid": "Token already exists."}
    # update and delete
    assert c.put("/access/users/root@pam/token/automation", {"comment": "changed"})[2]["data"]["comment"] == "changed"
    assert c.delete("/access/users/root@pam/token/automation")[0] == 200
    status, reason, _ = c.get("/access/users/root@pam/token/automation")
    assert status == 500 and reason == "no such token 'automation' for user 'root@pam'"
    assert "root@pam!automation" not in (lab.pve / "priv" / "token.cfg").read_text()


def test_acl_format_and_get(lab):
    c = lab.client()
    c.post("/access/users", {"userid": "monitoring@pve"})
    c.post("/access/users/monitoring@pve/token/exporter", {"privsep": "1"})
    assert c.put("/access/acl", {"path": "/", "roles": "PVEAuditor", "tokens": "monitoring@pve!exporter",
                                 "propagate": "1"})[0] == 200
    assert "acl:1:/:monitoring@pve!exporter:PVEAuditor:" in (lab.pve / "user.cfg").read_text()
    acl = c.get("/access/acl")[2]["data"]
    assert {"path": "/", "type": "token", "ugid": "monitoring@pve!exporter", "roleid": "PVEAuditor",
            "propagate": 1} in acl
    assert c.put("/access/acl", {"path": "/", "roles": "PVEAuditor", "tokens": "monitoring@pve!exporter",
                                 "delete": "1"})[0] == 200
    assert c.get("/access/acl")[2]["data"] == []
    status, _, err = c.put("/access/acl", {"path": "/", "roles": "PVEAuditor"})
    assert status == 400 and set(err["errors"]) == {"users", "groups", "tokens"}
    status, reason, _ = c.put("/access/acl", {"path": "/", "roles": "NoSuchRole", "users": "root@pam"})
    assert (status, reason) == (500, "role 'NoSuchRole' does not exist")


def test_ticket_login_and_csrf(lab):
    anon = lab.client(None)
    status, reason, _ = anon.post("/access/ticket", {"username": "root@pam", "password": "wrong"})
    assert (status, reason) == (401, "authentication failure")
    status, _, body = anon.post("/access/ticket", {"username": "root@pam", "password": "lab-root-pw"})
    assert status == 200
    t = body["data"]
    assert t["ticket"].startswith("PVE:root@pam:") and t["username"] == "root@pam"
    anon.cookie = t["ticket"]
    assert anon.get("/cluster/status")[0] == 200
    status, reason, _ = anon.put("/cluster/options", {"keyboard": "de"})
    assert status == 401 and "csrf" in reason
    anon.csrf = t["CSRFPreventionToken"]
    assert anon.put("/cluster/options", {"keyboard": "de"})[0] == 200
    # realm given separately
    assert anon.post("/access/ticket", {"username": "root", "realm": "pam", "password": "lab-root-pw"})[0] == 200


def test_pve_user_password_login(lab):
    c = lab.client()
    assert c.post("/access/users", {"userid": "ops@pve", "password": "secret-pw-1"})[0] == 200
    anon = lab.client(None)
    assert anon.post("/access/ticket", {"username": "ops@pve", "password": "secret-pw-1"})[0] == 200
    assert anon.post("/access/ticket", {"username": "ops@pve", "password": "nope"})[0] == 401
