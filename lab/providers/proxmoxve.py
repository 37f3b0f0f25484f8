"""Stand-in for pulumi-proxmoxve 8.6.0 (bpg/terraform-provider-proxmox): the resources the program creates.

Each resource makes the REST calls bpg's makes (method, path, form fields, read-back), to the provider
config's endpoint with its API token, so the lab's PVE API sees exactly what a real cluster would.
Matched to bpg v0.111.1's source (fwprovider/..., proxmox/...), not copied from it. Notable behaviour
kept on purpose:
- user.Token's `value` is `USER@REALM!TOKENID=UUID`; a token read that fails is an error.
- No storage.Pbs or backup.Job: the released plugin panics in its ID override after creating them
  (muhlba91/pulumi-proxmoxve#967), so the program makes them with pvesh. No cluster.Options: bpg's
  owns the whole datacenter.cfg (deletes what it does not set), so the program sets its one option
  with pvesh too.
Inputs the stand-in does not model are refused in Check, so nothing passes here unexamined.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import quote

from .grpc_plugin import Provider, Resource, ResourceError, serve
from .pve_rest import Client, NotFound, configure

VERSION = "8.6.0"


@dataclass(frozen=True)
class Field:
    name: str        # Pulumi property
    key: str         # PVE API parameter
    kind: str = "str"  # str | bool | int | list | nodes


def _to_api(kind: str, value: Any) -> Any:
    if kind == "nodes":
        return ",".join(f"{n}:{int(p)}" if p is not None else n for n, p in sorted(value.items()))
    if kind == "int":
        return int(value)
    return value


def _from_api(kind: str, value: Any) -> Any:
    if kind == "bool":
        return value in (1, True, "1")
    if kind == "int":
        return float(value)
    if kind == "list":
        return [v.strip() for v in str(value).split(",") if v.strip()]
    if kind == "nodes":
        nodes = {}
        for entry in str(value).split(","):
            name, _, prio = entry.strip().partition(":")
            if name:
                nodes[name] = float(prio) if prio.isdigit() else None
        return nodes
    return value


class PveResource(Resource):
    fields: tuple[Field, ...] = ()
    # Inputs always present in the state (bpg's computed defaults).
    defaults: dict[str, Any] = {}
    # Inputs the stand-in accepts without a field (identity, path parts).
    identity: tuple[str, ...] = ()
    # Optional+Computed fields: left unset, they keep the state's value. Any other field left unset is
    # planned as null, so a value PVE holds for it is a change (bpg then deletes it).
    keep_state: tuple[str, ...] = ()

    def properties(self) -> list[str]:
        return [f.name for f in self.fields] + list(self.identity)

    def diff(self, olds, news, old_inputs):
        changed = [k for k in self.properties() if (k in news or k not in self.keep_state)
                   and news.get(k) != olds.get(k) and k not in self.computed]
        return changed, [k for k in changed if k in self.replace_on]

    @property
    def api(self) -> Client:
        return Client(self.config)

    def check(self, news):
        unknown = sorted(set(news) - set(self.properties()) - {"__defaults"})
        failures = [(k, f"the lab's stand-in proxmoxve provider does not model '{k}' of {self.token}") for k in unknown]
        return {**self.defaults, **news}, failures

    def params(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The API parameters for what is set (Check has filled bpg's defaults, which it always sends)."""
        return {f.key: _to_api(f.kind, inputs[f.name]) for f in self.fields if inputs.get(f.name) not in (None, [])}

    def removed(self, olds: dict[str, Any], news: dict[str, Any], candidates: tuple[str, ...]) -> str | None:
        gone = [f.key for f in self.fields if f.key in candidates and olds.get(f.name) not in (None, [], {})
                and news.get(f.name) in (None, [], {})]
        return ",".join(gone) or None

    def state_from(self, data: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        state = dict(base)
        for f in self.fields:
            state[f.name] = _from_api(f.kind, data[f.key]) if data.get(f.key) not in (None, "") else self.defaults.get(f.name)
        return state

    def read(self, id_, state):
        try:
            return self.state_from(self.api.call("GET", self.path(id_)) or {}, state)
        except NotFound:
            return None

    def read_back(self, id_: str, inputs: dict[str, Any], missing: str) -> dict[str, Any]:
        """The state after a write, read back as bpg does; gone by then is an error, worded as bpg's."""
        state = self.read(id_, inputs)
        if state is None:
            raise ResourceError(missing)
        return state

    def path(self, id_: str) -> str:
        raise NotImplementedError

    def delete(self, id_, state):
        try:
            self.api.call("DELETE", self.path(id_))
        except NotFound:
            pass  # already gone: bpg warns and carries on


class Hagroup(PveResource):
    token = "proxmoxve:index/hagroup:Hagroup"
    fields = (Field("nodes", "nodes", "nodes"), Field("noFailback", "nofailback", "bool"),
              Field("restricted", "restricted", "bool"), Field("comment", "comment"))
    identity = ("group",)
    defaults = {"noFailback": False, "restricted": False}
    keep_state = ("noFailback", "restricted")

    def path(self, id_):
        return f"/cluster/ha/groups/{quote(id_, safe='')}"

    def create(self, urn, inputs):
        self.api.call("POST", "/cluster/ha/groups/", {"group": inputs["group"], "type": "group", **self.params(inputs)})
        return inputs["group"], self.read_back(inputs["group"], inputs, "HA group not found after update")

    def update(self, id_, olds, news):
        self.api.call("PUT", self.path(olds["group"]), {**self.params(news), "delete": self.removed(olds, news, ("comment",))})
        return self.read_back(news["group"], news, "HA group not found after update")


class Haresource(PveResource):
    token = "proxmoxve:index/haresource:Haresource"
    fields = (Field("state", "state"), Field("type", "type"), Field("comment", "comment"), Field("failback", "failback", "bool"),
              Field("group", "group"), Field("maxRelocate", "max_relocate", "int"), Field("maxRestart", "max_restart", "int"))
    identity = ("resourceId",)
    defaults = {"state": "started"}
    keep_state = ("state", "type")
    optional = ("comment", "failback", "group", "max_relocate", "max_restart")

    def path(self, id_):
        return f"/cluster/ha/resources/{quote(id_, safe=':')}"

    def check(self, news):
        inputs, failures = super().check(news)
        kind, _, vmid = str(inputs.get("resourceId", "")).partition(":")
        if kind not in ("vm", "ct") or not vmid.isdigit() or not 100 <= int(vmid) <= 999999999:
            failures.append(("resourceId", f"invalid HA resource ID {inputs.get('resourceId')!r}: want vm:N or ct:N, N in 100..999999999"))
        return inputs, failures

    # params() sends only what is set, so failback (which a PVE-8 schema lacks) goes only when set, as in bpg.
    def create(self, urn, inputs):
        sid = inputs["resourceId"]
        self.api.call("POST", "/cluster/ha/resources/", {**self.params(inputs), "sid": sid, "type": sid.split(":")[0]})
        return sid, self._read_back(sid, inputs)

    def update(self, id_, olds, news):
        params = {**self.params(news), "delete": self.removed(olds, news, self.optional)}
        params.pop("type", None)
        self.api.call("PUT", self.path(id_), params)
        return self._read_back(id_, news)

    def _read_back(self, sid, inputs):
        state = self.read_back(sid, inputs, f"HA resource {sid} not found after it was written")
        state["resourceId"] = sid
        state["state"] = "started" if state.get("state") == "enabled" else state.get("state") or "started"
        state["type"] = state.get("type") or "vm"
        return state


class Harule(PveResource):
    token = "proxmoxve:index/harule:Harule"
    fields = (Field("resources", "resources", "list"), Field("nodes", "nodes", "nodes"), Field("strict", "strict", "bool"),
              Field("affinity", "affinity"), Field("comment", "comment"), Field("disable", "disable", "bool"))
    identity = ("rule", "type")
    defaults = {"strict": False, "disable": False}
    keep_state = ("strict", "disable")
    replace_on = frozenset({"rule", "type"})

    def path(self, id_):
        return f"/cluster/ha/rules/{quote(id_, safe='')}"

    def _params(self, inputs):
        params = self.params(inputs)
        params["resources"] = ",".join(sorted(inputs.get("resources") or []))
        if inputs["type"] == "node-affinity":
            params.update(nodes=_to_api("nodes", inputs.get("nodes") or {}), strict=bool(inputs.get("strict")))
        return params

    def create(self, urn, inputs):
        self.api.call("POST", "/cluster/ha/rules/", {"rule": inputs["rule"], "type": inputs["type"], **self._params(inputs)})
        return inputs["rule"], self.read(inputs["rule"], inputs)

    def update(self, id_, olds, news):
        self.api.call("PUT", self.path(id_), {"type": news["type"], **self._params(news),
                                               "delete": self.removed(olds, news, ("comment",))})
        return self.read(id_, news)


class Token(PveResource):
    token = "proxmoxve:user/token:Token"
    fields = (Field("comment", "comment"), Field("privilegesSeparation", "privsep", "bool"))
    identity = ("userId", "tokenName", "expirationDate")
    defaults = {"privilegesSeparation": True}
    keep_state = ("privilegesSeparation",)
    replace_on = frozenset({"userId", "tokenName"})
    computed = ("value",)

    def path(self, id_):
        user, _, name = id_.partition("!")
        return f"/access/users/{quote(user, safe='@')}/token/{quote(name, safe='')}"

    def create(self, urn, inputs):
        id_ = f"{inputs['userId']}!{inputs['tokenName']}"
        made = self.api.call("POST", self.path(id_), self.params(inputs)) or {}
        return id_, {**inputs, "value": f"{made['full-tokenid']}={made['value']}"}

    def update(self, id_, olds, news):
        self.api.call("PUT", self.path(id_), self.params(news))
        return {**news, "value": olds.get("value")}

    def read(self, id_, state):
        data = self.api.call("GET", self.path(id_)) or {}  # bpg reports any error here, even not-found
        return {**state, "comment": data.get("comment"), "privilegesSeparation": _from_api("bool", data["privsep"])
                if "privsep" in data else None}

    def delete(self, id_, state):
        self.api.call("DELETE", self.path(id_))


class Acl(PveResource):
    token = "proxmoxve:index/acl:Acl"
    fields = (Field("propagate", "propagate", "bool"),)
    identity = ("path", "roleId", "userId", "groupId", "tokenId")
    defaults = {"propagate": True}
    keep_state = ("propagate",)
    replace_on = frozenset({"path", "roleId", "userId", "groupId", "tokenId"})
    entities = (("userId", "users", "user"), ("groupId", "groups", "group"), ("tokenId", "tokens", "token"))

    def check(self, news):
        inputs, failures = super().check(news)
        if sum(1 for prop, _, _ in self.entities if inputs.get(prop)) != 1:
            failures.append(("userId", "exactly one of userId, groupId or tokenId must be set"))
        return inputs, failures

    def _body(self, inputs):
        prop, key, _ = next(e for e in self.entities if inputs.get(e[0]))
        return {"path": inputs["path"], "roles": inputs["roleId"], "propagate": bool(inputs.get("propagate", True)),
                key: inputs[prop]}

    def create(self, urn, inputs):
        self.api.call("PUT", "/access/acl", self._body(inputs))
        entity = next(inputs[p] for p, _, _ in self.entities if inputs.get(p))
        return f"{inputs['path']}?{entity}?{inputs['roleId']}", inputs

    def update(self, id_, olds, news):
        self.api.call("PUT", "/access/acl", {**self._body(olds), "delete": True})
        self.api.call("PUT", "/access/acl", self._body(news))
        return news

    def read(self, id_, state):
        prop, _, kind = next(e for e in self.entities if state.get(e[0]))
        for entry in self.api.call("GET", "/access/acl") or []:
            if (entry.get("type"), entry.get("ugid"), entry.get("path"), entry.get("roleid")) == (
                    kind, state[prop], state["path"], state["roleId"]):
                return {**state, "propagate": _from_api("bool", entry.get("propagate", 1))}
        return None

    def delete(self, id_, state):
        self.api.call("PUT", "/access/acl", {**self._body(state), "delete": True})


RESOURCES: dict[str, Callable[[dict[str, Any]], Resource]] = {
    cls.token: cls for cls in (Hagroup, Haresource, Harule, Token, Acl)
}


def main() -> None:
    serve(Provider(VERSION, RESOURCES, config_prefix="proxmoxve:config:", configure=configure))


if __name__ == "__main__":
    main()
