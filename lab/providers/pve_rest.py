"""The PVE REST client of the proxmoxve stand-in, behaving as bpg's (proxmox/api/client.go, credentials.go, v0.111.1).

https only, TLS 1.3 at least unless `minTls` says otherwise, `Authorization: PVEAPIToken=USER@REALM!TOKENID=UUID`,
form bodies with sorted keys, and errors as bpg's: `received an HTTP CODE response - Reason: ...`, prefixed with
`the requested resource does not exist` (a 404, or a 500 saying the object does not exist) or `the requested
resource already exists`. The provider's settings come from its config, else from bpg's environment variables.
"""
from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .grpc_plugin import UNKNOWN, ResourceError
from .tfschema import error_text, go_regex, parse_request_uri

TOKEN_FORMAT = go_regex(r"^\S+@\S+!\S+=([a-zA-Z0-9-]+)$")  # RE2: no newline before $, \S is [^\t\n\f\r ]
_NOT_FOUND = ("does not exist", "no such resource", "no such ha", "No such file or directory")
NO_DATA = "the server did not include a data object in the response"
TLS_VERSIONS = {"": ssl.TLSVersion.TLSv1_3, "1.3": ssl.TLSVersion.TLSv1_3, "1.2": ssl.TLSVersion.TLSv1_2,
                "1.1": ssl.TLSVersion.TLSv1_1, "1.0": ssl.TLSVersion.TLSv1}
# Provider config key -> bpg's environment variable, read when the config leaves the key unset.
SETTINGS = {"endpoint": "PROXMOX_VE_ENDPOINT", "apiToken": "PROXMOX_VE_API_TOKEN", "insecure": "PROXMOX_VE_INSECURE",
            "minTls": "PROXMOX_VE_MIN_TLS", "username": "PROXMOX_VE_USERNAME", "password": "PROXMOX_VE_PASSWORD",
            "authTicket": "PROXMOX_VE_AUTH_TICKET", "csrfPreventionToken": "PROXMOX_VE_CSRF_PREVENTION_TOKEN"}


class ApiError(ResourceError):
    """A failed API call, worded as bpg's client reports it."""


class NotFound(ApiError):
    pass


class AlreadyExists(ApiError):
    pass


def encode(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ",".join(encode(v) for v in value)
    return str(value)


def settings(config: dict[str, Any]) -> dict[str, Any]:
    """The provider's settings: the config's value where set (even empty), else the environment's."""
    return {k: config[k] if config.get(k) is not None else os.environ.get(env, "") for k, env in SETTINGS.items()}


def _truthy(value: Any) -> bool:
    return value is True or str(value) in ("1", "t", "T", "TRUE", "true", "True")  # strconv.ParseBool


def configure(config: dict[str, Any]) -> None:
    """Configure's refusals (fwprovider/provider.go), raised when the provider is configured: nothing else checks
    them before the first API call. Unknown values (a preview) are left to that call."""
    if not any(v == UNKNOWN for v in config.values()):
        Client(config)


class Client:
    def __init__(self, config: dict[str, Any]):
        s = settings(config)
        if s["endpoint"] == UNKNOWN:
            raise ResourceError(error_text(
                "Unknown Proxmox VE API Endpoint",
                "The provider cannot create the Proxmox VE API client as there is an unknown configuration value for "
                "the API endpoint. Either target apply the source of the value first, set the value statically in the "
                "configuration, or use the PROXMOX_VE_ENDPOINT environment variable.", (("attr", "endpoint"),)))
        if not s["endpoint"]:
            raise ResourceError(error_text(
                "Missing Proxmox VE API Endpoint",
                "The provider cannot create the Proxmox VE API client as there is a missing or empty value for the API "
                "endpoint. Set the host value in the configuration or use the PROXMOX_VE_ENDPOINT environment variable. "
                "If either is already set, ensure the value is not empty.", (("attr", "endpoint"),)))
        problem = self._credentials(s)
        if problem:
            raise ResourceError(error_text("Unable to create Proxmox VE API credentials", problem))
        problem = self._connection(s)
        if problem:
            raise ResourceError(error_text("Unable to create Proxmox VE API connection", problem))

    def _credentials(self, s: dict[str, Any]) -> str | None:
        """api.NewCredentials: a token if one is given (and well-formed), else a ticket, else a user and password."""
        token = str(s["apiToken"])
        if token:
            if not TOKEN_FORMAT.search(token):
                return "the API token must be in the format 'USER@REALM!TOKENID=UUID'"
            self.token = token
            return None
        if s["authTicket"] and s["csrfPreventionToken"]:
            raise ResourceError("the lab's stand-in proxmoxve provider authenticates with an API token only, not a ticket")
        if s["username"] and s["password"]:
            if "@" not in str(s["username"]):
                return "the username must end with '@pve' or '@pam'"
            raise ResourceError("the lab's stand-in proxmoxve provider authenticates with an API token only, "
                                "not a username and password")
        return "must provide either username and password, an API token, or a ticket"

    def _connection(self, s: dict[str, Any]) -> str | None:
        """api.NewConnection: a valid https endpoint (its path dropped) and a known minimal TLS version."""
        parsed = parse_request_uri(str(s["endpoint"]))
        if parsed is None:
            return "you must specify a valid endpoint for the Proxmox Virtual Environment API (valid: https://host:port/)"
        scheme, host = parsed
        if scheme != "https":
            return "you must specify a secure endpoint for the Proxmox Virtual Environment API (valid: https://host:port/)"
        min_tls = str(s["minTls"])
        if min_tls.strip() not in TLS_VERSIONS:
            return f"unsupported minimal TLS version {min_tls}, must be one of: {', '.join(sorted(TLS_VERSIONS))}"
        self.base = f"https://{host}/api2/json"
        self.tls = ssl.create_default_context()
        self.tls.minimum_version = TLS_VERSIONS[min_tls.strip()]
        if _truthy(s["insecure"]):
            self.tls.check_hostname = False
            self.tls.verify_mode = ssl.CERT_NONE
        return None

    def call(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        """The response's `data` (None when the server sent none); an ApiError when the call failed."""
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
            where = path.lstrip("/") + (f"?{form}" if form and method in ("GET", "DELETE") else "")
            raise ApiError(f"failed to perform HTTP {method} request (path: {where}) - Reason: {error.reason}") from None

    @staticmethod
    def _error(error: urllib.error.HTTPError) -> ApiError:
        """validateResponseCode: the status text, then the body's `errors` and the new lines of its `message`."""
        msg = str(error.reason)
        try:
            body = json.loads(error.read() or b"{}")
        except ValueError:
            body = None
        parts = []
        if isinstance(body, dict):
            parts = [f"{k}: {str(v).rstrip(chr(10) + chr(13))}" for k, v in (body.get("errors") or {}).items()]
            lines = str(body.get("message") or "").split("\n")
            compact = [line for i, line in enumerate(lines) if i == 0 or line != lines[i - 1]]
            parts += [line for line in compact if line and not line.startswith(msg)]
        if parts:
            msg = f"{msg} ({' - '.join(parts)})"
        text = f"received an HTTP {error.code} response - Reason: {msg}"
        if error.code == 404 or (error.code == 500 and any(s in msg for s in _NOT_FOUND)):
            return NotFound(f"the requested resource does not exist\n{text}")
        if "already exists" in msg:
            return AlreadyExists(f"the requested resource already exists\n{text}")
        return ApiError(text)
