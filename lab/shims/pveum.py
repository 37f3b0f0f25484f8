"""Lab shim for `pveum`: users, API tokens and ACLs, through the lab API's own handlers as root@pam.

PVE's `pveum` is generated from the API schema: each subcommand calls one API method in-process as the
calling user (root@pam here), and its options are that method's parameters, by their exact names. So
this shim parses options against the lab API's schema (no '-'/'_' folding) and calls the same handler
the HTTPS API serves: what the API refuses, `pveum` refuses, with PVE's exit code 255.
"""
from __future__ import annotations

import json
import sys

from lab.api import schema

from . import apicli
from . import pvelib as L

# subcommand words -> (HTTP method, API path template, positional parameters in order)
COMMANDS = {
    ("user", "add"): ("POST", "/access/users", ["userid"]),
    ("user", "modify"): ("PUT", "/access/users/{userid}", ["userid"]),
    ("user", "delete"): ("DELETE", "/access/users/{userid}", ["userid"]),
    ("user", "list"): ("GET", "/access/users", []),
    ("user", "token", "add"): ("POST", "/access/users/{userid}/token/{tokenid}", ["userid", "tokenid"]),
    ("user", "token", "remove"): ("DELETE", "/access/users/{userid}/token/{tokenid}", ["userid", "tokenid"]),
    ("acl", "modify"): ("PUT", "/access/acl", ["path"]),
    ("acl", "list"): ("GET", "/access/acl", []),
}
USAGE = "USAGE: pveum " + "\n       pveum ".join(
    " ".join(words) + "".join(f" <{p}>" for p in params) + " [OPTIONS]" for words, (_, _, params) in COMMANDS.items()
) + "\n\n(proxmox-ha lab shim for Proxmox VE's `pveum`: options are the API method's parameters, exact names)"


@L.shim_main
def main(argv):
    words = next((w for w in sorted(COMMANDS, key=len, reverse=True) if tuple(argv[:len(w)]) == w), None)
    if words is None:
        print(USAGE)
        return 0 if not argv or argv[0] in ("help", "-h", "--help") else 255
    method, template, names = COMMANDS[words]
    server = apicli.api()
    params_schema = schema.endpoint_schema(method, template, server.major)
    positional, params = apicli.options(argv[len(words):], {k: v for k, v in params_schema.items() if k not in names},
                                        USAGE)
    if len(positional) != len(names):
        raise L.PVEError(f"400 wrong number of arguments\n{USAGE}", 255)
    params.update(zip(names, positional))
    result = apicli.call(server, method, template, params)
    if result:  # list and create calls print what the API returns (e.g. a new token's value)
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
