"""The lab API's route table: every (method, path template) it serves -> its handler function, and the
privilege checked before the parameters where PVE's method declares a fixed one (`permissions => {check =>
['perm', '/', [PRIV]]}`); other handlers check their own, as their PVE methods do. A handler is called as
handler(api, ident, params) with dispatch.PVEAPI as `api`. schema.ENDPOINTS lists the same endpoints (for
their parameters; tests/api/test_routes.py keeps the two equal); the pvesh and pveum shims find handlers here.
"""
from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable

from . import access, cluster, cluster_backup, cluster_ha, nodes, storage

AUDIT = ("/", "Sys.Audit")
CONSOLE = ("/", "Sys.Console")
MODIFY = ("/", "Sys.Modify")


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # PVE's path template, e.g. /cluster/ha/groups/{group}
    handler: Callable
    perm: tuple[str, str] | None = None  # (ACL path, privilege) checked before the parameters
    regex: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        object.__setattr__(self, "regex", re.compile("^" + pattern + "$"))


ROUTES: tuple[Route, ...] = (
    # nodes.py
    Route("GET", "/version", nodes.get_version),
    Route("GET", "/nodes", nodes.list_nodes),
    Route("GET", "/nodes/{node}/status", nodes.node_status),
    Route("GET", "/nodes/{node}/version", nodes.node_version),
    Route("GET", "/nodes/{node}/subscription", nodes.node_subscription),
    Route("GET", "/nodes/{node}/qemu", nodes.list_qemu),
    Route("GET", "/nodes/{node}/lxc", nodes.list_lxc),
    Route("GET", "/nodes/{node}/qemu/{vmid}/config", nodes.qemu_config),
    Route("GET", "/nodes/{node}/lxc/{vmid}/config", nodes.lxc_config),
    Route("GET", "/nodes/{node}/replication", nodes.list_replication),
    # cluster.py
    Route("GET", "/cluster/status", cluster.cluster_status),
    Route("GET", "/cluster/resources", cluster.cluster_resources),
    Route("GET", "/cluster/config/qdevice", cluster.qdevice),
    # cluster_ha.py
    Route("GET", "/cluster/ha/groups", cluster_ha.list_groups, AUDIT),
    Route("POST", "/cluster/ha/groups", cluster_ha.create_group, CONSOLE),
    Route("GET", "/cluster/ha/groups/{group}", cluster_ha.get_group, AUDIT),
    Route("PUT", "/cluster/ha/groups/{group}", cluster_ha.update_group, CONSOLE),
    Route("DELETE", "/cluster/ha/groups/{group}", cluster_ha.delete_group, CONSOLE),
    Route("GET", "/cluster/ha/resources", cluster_ha.list_resources, AUDIT),
    Route("POST", "/cluster/ha/resources", cluster_ha.create_resource, CONSOLE),
    Route("GET", "/cluster/ha/resources/{sid}", cluster_ha.get_resource, AUDIT),
    Route("PUT", "/cluster/ha/resources/{sid}", cluster_ha.update_resource, CONSOLE),
    Route("DELETE", "/cluster/ha/resources/{sid}", cluster_ha.delete_resource, CONSOLE),
    Route("GET", "/cluster/ha/rules", cluster_ha.list_rules, AUDIT),
    Route("POST", "/cluster/ha/rules", cluster_ha.create_rule, CONSOLE),
    Route("GET", "/cluster/ha/rules/{rule}", cluster_ha.get_rule, AUDIT),
    Route("PUT", "/cluster/ha/rules/{rule}", cluster_ha.update_rule, CONSOLE),
    Route("DELETE", "/cluster/ha/rules/{rule}", cluster_ha.delete_rule, CONSOLE),
    Route("GET", "/cluster/ha/status/current", cluster_ha.current_status, AUDIT),
    # cluster.py
    Route("GET", "/cluster/options", cluster.get_options),
    Route("PUT", "/cluster/options", cluster.update_options),
    # storage.py
    Route("GET", "/storage", storage.list_storage),
    Route("POST", "/storage", storage.create_storage),
    Route("GET", "/storage/{storage}", storage.get_storage),
    Route("PUT", "/storage/{storage}", storage.update_storage),
    Route("DELETE", "/storage/{storage}", storage.delete_storage),
    # cluster_backup.py
    Route("GET", "/cluster/backup", cluster_backup.list_jobs, AUDIT),
    Route("POST", "/cluster/backup", cluster_backup.create_job, MODIFY),
    Route("GET", "/cluster/backup/{id}", cluster_backup.get_job, AUDIT),
    Route("PUT", "/cluster/backup/{id}", cluster_backup.update_job, MODIFY),
    Route("DELETE", "/cluster/backup/{id}", cluster_backup.delete_job, MODIFY),
    Route("GET", "/cluster/backup-info/not-backed-up", cluster_backup.not_backed_up, AUDIT),
    # access.py (POST /access/ticket is the one route served without authentication)
    Route("POST", "/access/ticket", access.create_ticket),
    Route("GET", "/access/users", access.list_users),
    Route("POST", "/access/users", access.create_user),
    Route("GET", "/access/users/{userid}", access.get_user),
    Route("PUT", "/access/users/{userid}", access.update_user),
    Route("DELETE", "/access/users/{userid}", access.delete_user),
    Route("GET", "/access/users/{userid}/token", access.list_tokens),
    Route("GET", "/access/users/{userid}/token/{tokenid}", access.get_token),
    Route("POST", "/access/users/{userid}/token/{tokenid}", access.create_token),
    Route("PUT", "/access/users/{userid}/token/{tokenid}", access.update_token),
    Route("DELETE", "/access/users/{userid}/token/{tokenid}", access.delete_token),
    Route("GET", "/access/acl", access.list_acl),
    Route("PUT", "/access/acl", access.update_acl),
)
_BY_ENDPOINT = {(r.method, r.template): r for r in ROUTES}


def find(method: str, template: str) -> Route:
    """The route of (METHOD, path template); KeyError when the lab API does not serve it."""
    return _BY_ENDPOINT[(method, template)]


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route that serves METHOD on PATH (e.g. /cluster/ha/groups/g1) and its path parameters, unquoted."""
    for route in ROUTES:
        if route.method == method:
            found = route.regex.match(path)
            if found:
                return route, {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
    return None
