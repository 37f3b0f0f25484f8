"""What PVE does with a new `pbs` storage before it saves it: activate it (pve-storage PBSPlugin).

activate_storage logs in to the PBS over TLS (PVE::APIClient::LWP: the pinned fingerprint, else a
CA-signed certificate), lists its datastores and looks for the configured one. Any failure fails the
create, with these words. POST /storage (lab/api/storage.py) and `pvesm add` (lab/shims/pvesm.py) both
activate; this module imports neither.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import ssl
import urllib.parse


class ActivationError(Exception):
    pass


def _fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _connect(server: str, port: int, pinned: str | None, timeout: float) -> http.client.HTTPSConnection:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        sock = socket.create_connection((server, port), timeout=timeout)
    except socket.timeout:
        raise ActivationError(f"500 Can't connect to {server}:{port} (Connection timed out)") from None
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise ActivationError(f"500 Can't connect to {server}:{port} ({reason})") from None
    tls = context.wrap_socket(sock)
    actual = _fingerprint(tls.getpeercert(binary_form=True))
    # A self-signed PBS certificate is trusted only through the pinned fingerprint.
    if pinned is None or pinned.upper() != actual:
        tls.close()
        raise ActivationError(f"fingerprint '{actual}' not verified, abort!")
    conn = http.client.HTTPSConnection(server, port, timeout=timeout, context=context)
    conn.sock = tls
    return conn


def _request(conn, method: str, path: str, body: dict | None = None, cookie: str | None = None):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["Cookie"] = "PBSAuthCookie=" + urllib.parse.quote(cookie)
    conn.request(method, path, urllib.parse.urlencode(body) if body else None, headers)
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        raise ActivationError(f"{response.status} {response.reason}")
    return json.loads(payload)["data"]


def activate(storeid: str, scfg: dict, password: str | None, timeout: float = 7) -> None:
    """PBSPlugin::activate_storage for the storage config `scfg`; raises ActivationError with PVE's message."""
    server, port = scfg["server"], int(scfg.get("port", 8007))
    try:
        conn = _connect(server, port, scfg.get("fingerprint"), timeout)
        try:
            ticket = _request(conn, "POST", "/api2/json/access/ticket",
                              {"username": scfg.get("username", "root@pam"), "password": password or ""})["ticket"]
            stores = _request(conn, "GET", "/api2/json/admin/datastore", cookie=ticket)
        finally:
            conn.close()
    except ActivationError as error:
        raise ActivationError(f"{storeid}: error fetching datastores - {error}") from None
    if not any(store.get("store") == scfg["datastore"] for store in stores):
        raise ActivationError(f"{storeid}: Cannot find datastore '{scfg['datastore']}', check permissions and existence!")
