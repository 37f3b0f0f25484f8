"""What PVE's API-generated CLIs (`pveum`, `pvesh`) share: options by the API method's exact parameter names,
and a call of the lab API's own handler as root@pam, so what the API refuses the CLI refuses (exit 255)."""
from __future__ import annotations

from lab.api import auth
from lab.api import routes
from lab.api import schema
from lab.api.core import APIError
from lab.api.dispatch import PVEAPI

from . import pvelib as L


def api() -> PVEAPI:
    return PVEAPI(L.PVE, L.nodename(), pve_version=L.pve_major())


def options(argv: list[str], params_schema: dict, usage: str) -> tuple[list[str], dict[str, str]]:
    """Getopt::Long over the schema: `--name value`, `--name=value`, a bare boolean; no '-'/'_' folding."""
    positional, found, i = [], {}, 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-") and len(arg) > 1:
            name, _, value = arg.lstrip("-").partition("=")
            if name not in params_schema:
                raise L.PVEError(f"Unknown option: {name}\n400 unable to parse option\n{usage}", 255)
            if not value:
                boolean = params_schema[name].get("type") == "boolean"
                if boolean and (i + 1 >= len(argv) or argv[i + 1].startswith("-")):
                    value = "1"
                elif i + 1 < len(argv):
                    value, i = argv[i + 1], i + 1
                else:
                    raise L.PVEError(f"400 Parameter verification failed.\n{name}: no value given", 255)
            found[name] = value
        else:
            positional.append(arg)
        i += 1
    return positional, found


def call(server: PVEAPI, method: str, template: str, params: dict[str, str]):
    """Run the handler the HTTPS API serves for (method, template), with the API's validation and quorum rule."""
    params_schema = schema.endpoint_schema(method, template, server.major)
    handler = routes.find(method, template).handler
    try:
        schema.validate(params_schema, params)
        server.refuse_write_without_quorum(method)
        return handler(server, auth.Identity(userid="root@pam"), params)
    except (schema.ParamError, APIError, auth.AuthError, auth.PermissionDenied) as error:
        # PVE's CLI prints a parameter error as the API's 400 and its per-parameter messages.
        details = "".join(f"\n{k}: {v}" for k, v in (getattr(error, "errors", None) or {}).items())
        message = "400 Parameter verification failed." if isinstance(error, schema.ParamError) else error.msg
        raise L.PVEError(f"{message}{details}", 255) from None
