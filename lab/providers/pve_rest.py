"""The PVE REST client of the proxmoxve stand-in, behaving as bpg's (proxmox/api/client.go, v0.111.1).

https only, TLS 1.3 at least, `Authorization: PVEAPIToken=USER@REALM!TOKENID=UUID`, form bodies with
sorted keys, and errors as `received an HTTP CODE response - Reason: ...`; a 404, or a 500 saying the
object does not exist, is "not found".
"""
from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .grpc_plugin import ResourceError

TOKEN_FORMAT = re.compile(r"^\S+@\S+!\S+=([a-zA-Z0-9-]+)$")
_NOT_FOUND = ("does not exist", "no such resource", "no such ha", "No such file or directory")


class NotFound(ResourceError):
    pass


def encode(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ",".join(encode(v) for v in value)
    return str(value)


class Client:
    def __init__(self, config: dict[str, Any]):
        endpoint = str(config.get("endpoint") or "")
        if not endpoint:
            raise ResourceError("Missing Proxmox VE API Endpoint")
        url = urllib.parse.urlsplit(endpoint)
        if url.scheme != "https":
            raise ResourceError("you must specify a secure endpoint for the Proxmox Virtual Environment API (valid: https://host:port/)")
        self.base = f"https://{url.netloc}/api2/json"
        token = str(config.get("apiToken") or "")
        if not TOKEN_FORMAT.match(token):
            raise ResourceError("the API token must be in the format 'USER@REALM!TOKENID=UUID'")
        self.token = token
        self.tls = ssl.create_default_context()
        self.tls.minimum_version = ssl.TLSVersion.TLSv1_3
        if str(config.get("insecure", "false")).lower() == "true":
            self.tls.check_hostname = False
            self.tls.verify_mode = ssl.CERT_NONE

    def call(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        form = urllib.parse.urlencode(sorted((k, encode(v)) for k, v in (params or {}).items() if v is not None))
        url, body = f"{self.base}{path}", None
        if method in ("GET", "DELETE"):
            url += f"?{form}" if form else ""
        elif form:
            body = form.encode()
        request = urllib.request.Request(url, data=body, method=method, headers={
            "Accept": "application/json", "Authorization": f"PVEAPIToken={self.token}",
            **({"Content-Type": "application/x-www-form-urlencoded"} if body else {}),
        })
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=60) as response:
                return json.loads(response.read() or b"{}").get("data")
        except urllib.error.HTTPError as error:
            raise self._error(error) from None
        except urllib.error.URLError as error:
            raise ResourceError(f"failed to perform HTTP {method} request (path: {path}) - Reason: {error.reason}") from None

    @staticmethod
    def _error(error: urllib.error.HTTPError) -> ResourceError:
        msg = str(error.reason)
        try:
            body = json.loads(error.read() or b"{}")
        except ValueError:
            body = {}
        parts = [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
        parts += [line for line in str(body.get("message") or "").splitlines() if line and not line.startswith(msg)]
        if parts:
            msg = f"{msg} ({' - '.join(parts)})"
        text = f"received an HTTP {error.code} response - Reason: {msg}"
        gone = error.code == 404 or (error.code == 500 and any(s in msg for s in _NOT_FOUND))
        return NotFound(text) if gone else ResourceError(text)
