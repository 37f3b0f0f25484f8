"""Fixtures: a temp /etc/pve, a self-signed cert, the API server on 127.0.0.1 (free port), HTTPS clients."""
from __future__ import annotations

import json
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from lab.api import auth as A
from lab.api import server as srv
from lab.api import store as S
from lab import pbs as pbs_standin
from lab.common import CLUSTER_NAME, DEFAULT_HOSTS, host_index, mgmt_addr

# The lab's own cluster of three, as pvecm writes it.
COROSYNC = f"totem {{\n  cluster_name: {CLUSTER_NAME}\n  config_version: 3\n}}\nnodelist {{\n" + "".join(
    f"  node {{\n    name: {n}\n    nodeid: {host_index(n)}\n    ring0_addr: {mgmt_addr(n)}\n  }}\n"
    for n in DEFAULT_HOSTS) + "}\n"


@pytest.fixture(scope="session")
def cert(tmp_path_factory):
    return srv.make_cert(tmp_path_factory.mktemp("cert"), "pve1")


class Client:
    def __init__(self, base: str, ctx: ssl.SSLContext, auth: str | None = None):
        self.base, self.ctx, self.auth = base, ctx, auth
        self.cookie = self.csrf = None

    def call(self, method: str, path: str, params: dict | None = None, headers: dict | None = None,
             json_body: bool = False):
        url = self.base + path
        data = None
        h = dict(headers or {})
        if params and method in ("GET", "DELETE"):
            url += "?" + urllib.parse.urlencode(params)
        elif params is not None:
            if json_body:
                data = json.dumps(params).encode()
                h["Content-Type"] = "application/json"
            else:
                data = urllib.parse.urlencode(params).encode()
                h["Content-Type"] = "application/x-www-form-urlencoded"
        if self.auth:
            h["Authorization"] = self.auth
        if self.cookie:
            h["Cookie"] = "PVEAuthCookie=" + urllib.parse.quote(self.cookie)
            if self.csrf:
                h["CSRFPreventionToken"] = self.csrf
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
                return r.status, r.reason, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, e.reason, json.loads(e.read() or b"null")

    def get(self, path, params=None):
        return self.call("GET", path, params)

    def post(self, path, params=None, **kw):
        return self.call("POST", path, params or {}, **kw)

    def put(self, path, params=None, **kw):
        return self.call("PUT", path, params or {}, **kw)

    def delete(self, path, params=None):
        return self.call("DELETE", path, params)


class Lab:
    def __init__(self, pve: Path, server: srv.APIServer, ctx, quorum_state: dict):
        self.pve, self.server, self.ctx, self.quorum = pve, server, ctx, quorum_state
        host, port = server.addresses[0]
        self.base = f"https://127.0.0.1:{port}/api2/json"
        self.root_token = A.bootstrap_token(S.Store(pve), "root@pam", "pulumi")

    def client(self, token: str | None = "root") -> Client:
        if token == "root":
            token = self.root_token
        return Client(self.base, self.ctx, f"PVEAPIToken={token}" if token else None)


def _start(tmp_path, cert, version):
    pve = tmp_path / "pve"
    for d in ("priv", "priv/storage", "ha", "nodes/pve1"):
        (pve / d).mkdir(parents=True, exist_ok=True)
    (pve / "corosync.conf").write_text(COROSYNC)
    (pve / "user.cfg").write_text("user:root@pam:1:0:::root@localhost::\n\n")
    (pve / "datacenter.cfg").write_text("keyboard: en-us\n")
    (pve / "storage.cfg").write_text("dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\n")
    (pve / "priv" / "lab-root-password").write_text("lab-root-pw\n")
    (pve / "nodes" / "pve1" / "pve-ssl.pem").write_text(Path(cert[0]).read_text())
    # Guests, as PVE's cluster filesystem holds them: VMs 100 and 101 on pve1, container 200 on pve2.
    for node, kind, vmid in (("pve1", "qemu-server", 100), ("pve1", "qemu-server", 101), ("pve2", "lxc", 200)):
        (pve / "nodes" / node / kind).mkdir(parents=True, exist_ok=True)
        (pve / "nodes" / node / kind / f"{vmid}.conf").write_text(f"memory: 512\nname: guest{vmid}\n")
    state = {"quorate": True}
    server = srv.APIServer(pve, "127.0.0.1:0", cert[0], cert[1], "pve1", pve_version=version,
                           quorum=lambda: state["quorate"]).start()
    ctx = ssl.create_default_context(cafile=str(cert[0]))
    return Lab(pve, server, ctx, state)


@pytest.fixture
def lab(tmp_path, cert, monkeypatch):
    monkeypatch.setenv("PROXMOX_HA_LAB_PVE_MAJOR", "8")  # what the shims' helpers the API calls read on a host
    lab = _start(tmp_path, cert, 8)
    yield lab
    lab.server.stop()


@pytest.fixture
def lab9(tmp_path, cert, monkeypatch):
    monkeypatch.setenv("PROXMOX_HA_LAB_PVE_MAJOR", "9")  # what the shims' helpers the API calls read on a host
    lab = _start(tmp_path, cert, 9)
    yield lab
    lab.server.stop()


class Pbs:
    """The lab's PBS stand-in on 127.0.0.1: datastore lab-backups, user backup@pbs with password s3cret."""

    def __init__(self, server, cert: Path):
        self.server, self.port = server, server.server_address[1]
        out = srv.subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(cert)],
                                 capture_output=True, text=True, check=True).stdout
        self.fingerprint = out.strip().split("=", 1)[1]

    def storage(self, **overrides) -> dict:
        """POST /storage parameters of a pbs storage pointing at this server."""
        return {"storage": "pbs-backup", "type": "pbs", "server": "127.0.0.1", "port": str(self.port),
                "datastore": "lab-backups", "username": "backup@pbs", "password": "s3cret",
                "fingerprint": self.fingerprint, "content": "backup", **overrides}


@pytest.fixture(scope="session")
def pbs(tmp_path_factory):
    cert, key = srv.make_cert(tmp_path_factory.mktemp("pbs"), "pbs")
    server = pbs_standin.make_server("127.0.0.1:0", str(cert), str(key), ["lab-backups"], {"backup@pbs": "s3cret"})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Pbs(server, cert)
    server.shutdown()
