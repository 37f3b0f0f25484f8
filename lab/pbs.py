"""The lab's Proxmox Backup Server stand-in: a TLS endpoint on its own address, for PVE's storage activation.

It lives in its own network namespace `pbs` (its slot's, lab/common.py) at 10.254.10.50 (slot 0) on the management bridge and answers what PVE
asks a PBS when a `pbs` storage is created (pve-storage PBSPlugin::activate_storage): a login
(POST /api2/json/access/ticket) and the datastore list (GET /api2/json/admin/datastore). Its certificate
is self-signed and kept across `lab down`, so its SHA-256 fingerprint is stable; the user's password
is new with every `lab up`.
"""
from __future__ import annotations

import argparse
import json
import secrets
import ssl
import subprocess
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .common import MGMT_BRIDGE, MGMT_PREFIX, REPO_ROOT, SLOT, Paths, log, netns, pid_alive, read_pid, run
from .machine import veth_names

NETNS = netns("pbs")
ADDRESS = f"{MGMT_PREFIX}.50"
PORT = 8007
DATASTORE = "lab-backups"
USER = "backup@pbs"
VETH = veth_names("pbs")[0]  # its management link, named as a host's


# ---------------------------------------------------------------- the server
class _Handler(BaseHTTPRequestHandler):
    server_version = "proxmox-backup-api"
    tickets: set[str] = set()

    def log_message(self, fmt, *args):
        sys.stderr.write("pbs: " + (fmt % args) + "\n")

    def _reply(self, status: int, reason: str, data=None):
        body = json.dumps({"data": data} if status == 200 else {"message": reason}).encode()
        self.send_response(status, reason)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if self.path.split("?")[0] != "/api2/json/access/ticket":
            return self._reply(404, "Path not found.")
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        user, password = form.get("username", [""])[0], form.get("password", [""])[0]
        if self.server.users.get(user) is None or not secrets.compare_digest(self.server.users[user], password):
            time.sleep(0.3)  # PBS delays a failed login (3 s); a short one keeps tests quick
            return self._reply(401, "authentication failure")
        ticket = f"PBS:{user}:{secrets.token_hex(8)}"
        self.tickets.add(ticket)
        self._reply(200, "OK", {"username": user, "ticket": ticket, "CSRFPreventionToken": secrets.token_hex(8)})

    def do_GET(self):
        cookies = dict(c.strip().split("=", 1) for c in self.headers.get("Cookie", "").split(";") if "=" in c)
        if urllib.parse.unquote(cookies.get("PBSAuthCookie", "")) not in self.tickets:
            return self._reply(401, "authentication failure")
        if self.path.split("?")[0] == "/api2/json/admin/datastore":
            return self._reply(200, "OK", [{"store": name, "comment": ""} for name in self.server.datastores])
        if self.path.split("?")[0] == "/api2/json/version":
            return self._reply(200, "OK", {"version": "3.4", "release": "1", "repoid": "lab"})
        self._reply(404, "Path not found.")


def make_server(listen: str, cert: str, key: str, datastores: list[str], users: dict[str, str]) -> ThreadingHTTPServer:
    host, port = listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), _Handler)
    server.datastores, server.users = datastores, users
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    return server


# ---------------------------------------------------------------- in the lab
def _dir(paths: Paths) -> Path:
    return paths.root / "pbs"


def certificate(paths: Paths) -> tuple[Path, Path]:
    """Kept with the hosts' identities, so the fingerprint a stack pins survives `lab down`."""
    cert, key = paths.ssh / "pbs-ssl.pem", paths.ssh / "pbs-ssl.key"
    if not cert.exists():
        from .api.server import make_cert
        made_cert, made_key = make_cert(paths.ssh, "pbs-ssl")
        assert (made_cert, made_key) == (cert, key)
    return cert, key


def fingerprint(paths: Paths) -> str:
    cert, _ = certificate(paths)
    out = run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(cert)]).stdout
    return out.strip().split("=", 1)[1].upper()


def password_file(paths: Paths) -> Path:
    return _dir(paths) / "password"


def up(paths: Paths) -> None:
    d = _dir(paths)
    d.mkdir(parents=True, exist_ok=True)
    pidfile = d / "pbs.pid"
    pid = read_pid(pidfile)
    if pid and pid_alive(pid):
        return
    if not password_file(paths).exists():
        password_file(paths).touch(mode=0o600)
        password_file(paths).write_text(secrets.token_urlsafe(18) + "\n")
    users = d / "users.json"
    users.touch(mode=0o600)
    users.write_text(json.dumps({USER: password_file(paths).read_text().strip()}))
    if not Path(f"/run/netns/{NETNS}").exists():
        run(["ip", "netns", "add", NETNS])
    if run(["ip", "link", "show", VETH], check=False).returncode != 0:
        run(["ip", "link", "add", VETH, "type", "veth", "peer", "name", "eth0", "address", f"02:ba:1a:b{SLOT}:50:01", "netns", NETNS])
    run(["ip", "link", "set", VETH, "master", MGMT_BRIDGE, "up"])
    run(["ip", "-n", NETNS, "addr", "replace", f"{ADDRESS}/24", "dev", "eth0"])
    run(["ip", "-n", NETNS, "link", "set", "eth0", "up"])
    run(["ip", "-n", NETNS, "link", "set", "lo", "up"])
    cert, key = certificate(paths)
    logf = open(paths.logs / "pbs.log", "ab")
    proc = subprocess.Popen(
        ["ip", "netns", "exec", NETNS, sys.executable, "-m", "lab.pbs", "serve", "--listen", f"{ADDRESS}:{PORT}",
         "--cert", str(cert), "--key", str(key), "--datastore", DATASTORE, "--users", str(users)],
        cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    logf.close()
    pidfile.write_text(f"{proc.pid}\n")
    log(f"pbs: backup server stand-in on {ADDRESS}:{PORT} (pid {proc.pid})")


def describe(paths: Paths) -> dict:
    return {"address": ADDRESS, "port": PORT, "datastore": DATASTORE, "username": USER,
            "fingerprint": fingerprint(paths), "password_file": str(password_file(paths))}


def down(paths: Paths, terminate) -> None:
    pid = read_pid(_dir(paths) / "pbs.pid")
    if pid and pid_alive(pid):
        terminate([pid])
    run(["ip", "netns", "del", NETNS], check=False)
    run(["ip", "link", "del", VETH], check=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m lab.pbs")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("serve", help="serve the PBS stand-in (runs until SIGTERM)")
    sp.add_argument("--listen", required=True)
    sp.add_argument("--cert", required=True)
    sp.add_argument("--key", required=True)
    sp.add_argument("--datastore", action="append", required=True)
    sp.add_argument("--users", required=True, help="JSON file {userid: password}")
    args = ap.parse_args(argv)
    make_server(args.listen, args.cert, args.key, args.datastore, json.loads(Path(args.users).read_text())).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
