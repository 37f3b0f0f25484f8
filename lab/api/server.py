"""The HTTPS side of the lab's PVE API: /api2/json requests to dispatch.PVEAPI, TLS listeners (APIServer,
serve) and make_cert. The API itself follows PVE's tree in nodes.py, cluster.py, cluster_ha.py,
cluster_backup.py, storage.py and access.py, routed by routes.py; lab/README.md ("API emulation") lists
the endpoints and lab/api/schema.py validates their parameters.
"""
from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .core import API_PREFIX
from .dispatch import PVEAPI


# ---------------------------------------------------------------- HTTP layer
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"
    api: PVEAPI = None  # set per server class

    def log_message(self, fmt, *args):
        if os.environ.get("LAB_API_LOG"):
            super().log_message(fmt, *args)

    def _params(self) -> dict:
        url = urllib.parse.urlsplit(self.path)
        params = {}
        for k, v in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
            params[k] = v
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if body:
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype == "application/json":
                try:
                    data = json.loads(body.decode() or "{}")
                except ValueError:
                    data = {}
                for k, v in (data or {}).items():
                    if isinstance(v, bool):
                        v = "1" if v else "0"
                    elif isinstance(v, list):
                        v = ",".join(map(str, v))
                    elif v is None:
                        continue
                    params[k] = str(v)
            else:
                for k, v in urllib.parse.parse_qsl(body.decode(errors="replace"), keep_blank_values=True):
                    params[k] = v
        return params

    def _serve(self, method):
        url = urllib.parse.urlsplit(self.path)
        if not url.path.startswith(API_PREFIX + "/") and url.path != API_PREFIX:
            status, reason, body = 501, f"Method '{method} {url.path}' not implemented", {"data": None}
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
        else:
            params = self._params()
            status, reason, body = self.api.handle(method, url.path, params, self.headers)
        payload = json.dumps(body).encode()
        reason = re.sub(r"[\r\n]+", " ", reason)[:200]
        self.send_response(status, reason)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "max-age=0")
        self.send_header("Pragma", "no-cache")
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")

    def do_PATCH(self):
        self._serve("PATCH")

    def do_OPTIONS(self):
        self._serve("OPTIONS")


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, ctx: ssl.SSLContext):
        import socket
        host = addr[0]
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__(addr, handler)
        self.socket = ctx.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def get_request(self):
        sock, addr = self.socket.accept()
        return sock, addr

    def finish_request(self, request, client_address):
        try:
            request.settimeout(30)
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)


def parse_listen(spec: str) -> tuple[str, int]:
    if spec.startswith("["):
        host, _, port = spec[1:].partition("]:")
        return host, int(port)
    host, _, port = spec.rpartition(":")
    return host or "0.0.0.0", int(port)


class APIServer:
    """The HTTPS listeners of one node. start() runs them in threads; stop() shuts them down."""

    def __init__(self, pve_dir, listen, cert, key, node, pve_version=8, quorum=None, members=None):
        self.api = PVEAPI(pve_dir, node, pve_version, quorum=quorum, members=members)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(cert), str(key))
        handler = type("Handler", (_Handler,), {"api": self.api})
        self.servers = [_TLSServer(parse_listen(spec) if isinstance(spec, str) else tuple(spec), handler, ctx)
                        for spec in ([listen] if isinstance(listen, (str, tuple)) else listen)]
        self.threads: list[threading.Thread] = []

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [s.server_address[:2] for s in self.servers]

    def start(self) -> "APIServer":
        for s in self.servers:
            t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self) -> None:
        for s in self.servers:
            s.shutdown()
            s.server_close()
        for t in self.threads:
            t.join(timeout=5)


def serve(pve_dir, listen, cert, key, node, pve_version=8, quorum=None, members=None, block=True):
    """Serve the API over HTTPS on every `listen` address ("ADDR:PORT" or a list of them).
    With block=False returns the started APIServer (call .stop()); otherwise runs until interrupted."""
    srv = APIServer(pve_dir, listen, cert, key, node, pve_version, quorum=quorum, members=members).start()
    if not block:
        return srv
    import signal
    done = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *a: done.set())
    try:
        while not done.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return srv


def make_cert(directory, name: str) -> tuple[Path, Path]:
    """Self-signed EC certificate for NAME (SANs: NAME, localhost, 127.0.0.1) -> (cert, key)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cert, key = d / f"{name}.pem", d / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "3650", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name},DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key
