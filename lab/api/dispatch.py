"""PVEAPI, one node's API: handle() turns a request into PVE's reply. It authenticates the caller, finds the
handler in routes.ROUTES, checks the route's privilege and the method's parameters (schema.py), refuses
writes on a member without quorum, and calls handler(self, ident, params). Handlers use its store, node,
major (the PVE major emulated), cluster (core.ClusterView) and the permission helpers users/check/has."""
from __future__ import annotations

from . import auth
from . import routes
from . import schema
from . import store
from .core import API_PREFIX, APIError, ClusterView, fail
from ..pve import release
from ..pve.errors import PVEError


class PVEAPI:
    def __init__(self, pve_dir, node: str, pve_version: int | None = 8, quorum=None, members=None):
        """`pve_version` None: the host's own release, read on each request (pveproxy restarts when apt upgrades
        pve-manager)."""
        self.store = store.Store(pve_dir)
        store.mkdirs(self.store)
        self.node = node
        self._major = None if pve_version is None else int(str(pve_version).split(".")[0])
        self.cluster = ClusterView(self.store, node, quorum=quorum, members=members)

    @property
    def major(self) -> int:
        return self._major if self._major is not None else release.host_major()

    # ------------------------------------------------------------ dispatch
    def handle(self, method: str, path: str, params: dict, headers) -> tuple[int, str, dict]:
        """-> (status, reason, body). Never raises."""
        try:
            data = self._dispatch(method, path, params, headers)
            return 200, "OK", {"data": data}
        except APIError as e:
            body = {"data": None, "message": e.msg + "\n"}
            if e.errors:
                body["errors"] = e.errors
            return e.status, e.msg.split("\n")[0], body
        except auth.AuthError as e:
            return 401, e.msg, {"data": None, "message": e.msg + "\n"}
        except auth.PermissionDenied as e:
            return 403, e.msg, {"data": None, "message": e.msg + "\n"}
        except schema.ParamError as e:
            return 400, "Parameter verification failed.", {"data": None, "errors": e.errors,
                                                           "message": "Parameter verification failed.\n"}
        except PVEError as e:  # a cfs lock timeout, as pmxcfs reports it
            return 500, e.msg.split("\n")[-1], {"data": None, "message": e.msg + "\n"}

    def _dispatch(self, method, path, params, headers):
        rel = path[len(API_PREFIX):] if path.startswith(API_PREFIX) else path
        rel = "/" + rel.strip("/")
        if method == "POST" and rel == "/access/ticket":
            params_schema = schema.endpoint_schema(method, rel, self.major)
            return routes.find(method, rel).handler(self, None, schema.validate(params_schema, dict(params)))
        ident = auth.authenticate(self.store, headers, method)
        found = routes.match(method, rel)
        if found:
            route, path_params = found
            params_schema = schema.endpoint_schema(method, route.template, self.major)
            if params_schema is not None:
                full = {**params, **path_params}
                if route.perm:
                    self.check(ident, *route.perm)
                schema.validate(params_schema, full)
                self.refuse_write_without_quorum(method)
                return route.handler(self, ident, full)
        raise APIError(501, f"Method '{method} {rel}' not implemented")

    def refuse_write_without_quorum(self, method: str) -> None:
        """A member without quorum has a read-only /etc/pve: every write is refused."""
        if method != "GET" and self.cluster.quorate() is False:
            fail("cluster not ready - no quorum?")

    # ------------------------------------------------------------ permission helpers
    def users(self) -> dict:
        return auth.read_users(self.store)

    def check(self, ident, path, privs, any_of=False):
        auth.check(self.users(), ident, path, privs, any_of)

    def has(self, ident, path, privs, any_of=False) -> bool:
        return auth.has(self.users(), ident, path, privs, any_of)

    # ------------------------------------------------------------ the cluster's nodes
    def node_names(self) -> list[str]:
        return [n["name"] for n in self.cluster.nodes()]

    def online(self) -> set:
        return set(self.cluster.members())
