"""Lab shim for `pvesh`: PVE's API on the command line, through the lab API's own handlers as root@pam.

`pvesh VERB PATH --param value ...` calls the API method at PATH (get=GET, create=POST, set=PUT,
delete=DELETE) with the method's parameters by their exact names, as PVE's does in-process.
"""
from __future__ import annotations

import json
import sys

from lab.api import routes
from lab.api import schema

from . import apicli
from . import pvelib as L

VERBS = {"get": "GET", "create": "POST", "set": "PUT", "delete": "DELETE"}
USAGE = """USAGE: pvesh <get|create|set|delete> <api_path> [OPTIONS] [--output-format json|json-pretty]   (proxmox-ha lab shim)

Stands in for Proxmox VE's `pvesh` over the lab API's endpoints; results print as JSON.
"""


@L.shim_main
def main(argv):
    if len(argv) < 2 or argv[0] not in VERBS:
        print(USAGE)
        return 0 if not argv or argv[0] in ("help", "-h", "--help") else 255
    method, path = VERBS[argv[0]], "/" + argv[1].strip("/")
    server = apicli.api()
    found = routes.match(method, path)
    # A path the lab serves for the other PVE major only (HA rules on 8) is as unknown as on PVE.
    params_schema = schema.endpoint_schema(method, found[0].template, server.major) if found else None
    if params_schema is None:
        raise L.PVEError(f"No '{argv[0]}' handler defined for '{path}'", 255)
    route, path_params = found
    wanted = {k: v for k, v in params_schema.items() if k not in path_params}
    _, params = apicli.options(argv[2:], {**wanted, "output-format": {"type": "string"}}, USAGE)
    fmt = params.pop("output-format", "json")
    result = apicli.call(server, method, route.template, {**params, **path_params})
    if result is not None:
        print(json.dumps(result, indent=2 if fmt == "json-pretty" else None, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
