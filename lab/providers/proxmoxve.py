"""Stand-in for pulumi-proxmoxve 8.6.0 (bpg/terraform-provider-proxmox v0.111.1 behind pulumi-terraform-bridge):
the resources the program creates.

Each resource makes the REST calls bpg's makes (method, path, form fields, read-back), to the provider config's
endpoint with its API token, so the lab's PVE API sees exactly what a real cluster would. Matched to bpg's source
(fwprovider/..., proxmox/...) and to the bridge's handling of it, not copied from either:
- Check refuses what bpg's schema validators and ValidateConfig refuse, with the bridge's texts (tfschema.py), and
  returns the inputs as given: bpg's schema defaults are planned values, so they appear in the outputs, not in
  the checked inputs. A preview shows bpg's plan: defaults filled in, `id` (and Haresource's `type`, Token's
  `value`) unknown on a create and the state's on an update.
- Errors read as the bridge reports bpg's diagnostics (`<Summary>: <Detail>`); deleting an HA group, resource or
  rule that is already gone is a warning, logged to the engine, and succeeds.
- user.Token's `value` is `USER@REALM!TOKENID=UUID`; a token read that fails is an error, even when not found.
- No storage.Pbs or backup.Job: the released plugin panics in its ID override after creating them
  (muhlba91/pulumi-proxmoxve#967), so the program makes them with pvesh. No cluster.Options: bpg's
  owns the whole datacenter.cfg (deletes what it does not set), so the program sets its one option
  with pvesh too.
Inputs the stand-in does not model are refused in Check, so nothing passes here unexamined.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Callable
from urllib.parse import quote

from . import tfschema as tf
from .grpc_plugin import UNKNOWN, Provider, Resource, ResourceError, serve
from .pve_rest import NO_DATA, ApiError, Client, NotFound, configure
from .tfschema import Diag, known

# As in command.py: the version the SDK package asks for, and the release the stand-in was matched to.
VERSION = version("pulumi-proxmoxve")
READ_AGAINST = "8.6.0"


def fail(summary: str, detail: str) -> ResourceError:
    """An error diagnostic of bpg's, as the bridge returns it."""
    return ResourceError(tf.error_text(summary, detail))


def path_escape(text: str) -> str:
    """url.PathEscape."""
    return quote(text, safe="$&+:=@")


@dataclass(frozen=True)
class Attr:
    tf: str                # bpg's attribute
    name: str              # the Pulumi property
    validators: tuple = ()


def parse_ha_resource_id(text: str) -> tuple[str, str] | None:
    """types.ParseHAResourceID: `vm:N` or `ct:N`, N as strconv.Atoi reads it, 100..999999999; (type, name)."""
    kind, sep, name = text.partition(":")
    if not sep or kind not in ("vm", "ct"):
        return None
    number = tf.go_atoi(name)
    return (kind, name) if number is not None and 100 <= number <= 999_999_999 else None


HA_STATES = {"started": "started", "enabled": "started", "stopped": "stopped", "disabled": "disabled",
             "ignored": "ignored"}


def parse_nodes(text: str, owner: str) -> tuple[dict[str, float | None], list[Diag]]:
    """parseNodePriorities: `name[:prio]` entries; a bad entry or priority is a warning, not an error."""
    nodes, warnings = {}, []
    for entry in text.split(","):
        parts = entry.split(":")
        if len(parts) > 2:
            warnings.append(Diag("Could not parse HA node entry", f"Received node entry '{entry}' for HA resource '{owner}'"))
            continue
        priority = None
        if len(parts) == 2:
            priority = tf.go_atoi(parts[1])
            if priority is None:
                warnings.append(Diag("Could not parse HA node priority", f"Node priority string '{parts[1]}' for node "
                                                                         f"{parts[0]} of HA resource '{owner}'"))
        nodes[parts[0]] = float(priority) if priority is not None else None
    return nodes, warnings


def nodes_string(nodes: dict[str, Any]) -> str:
    return ",".join(n if p is None else f"{n}:{int(p)}" for n, p in sorted(nodes.items()))


def _bool(value: Any) -> bool:
    return value in (1, True, "1")


def _int(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


class PveResource(Resource):
    """A bpg Plugin-Framework resource: its schema (attributes and validators), plan and API calls."""

    schema: tuple[Attr, ...] = ()
    # Schema Defaults: planned when the config leaves them null.
    defaults: dict[str, Any] = {}
    # Optional+Computed without a Default, with UseStateForUnknown (as `id` is): unknown on create, the state's after.
    keep_state: tuple[str, ...] = ()
    # Set attributes: compared as sets.
    sets: tuple[str, ...] = ()
    # Resource-level validators: (config, names) -> [Diag].
    config_validators: tuple[Callable, ...] = ()

    @property
    def names(self) -> dict[str, str]:
        return {a.tf: a.name for a in self.schema}

    def properties(self) -> list[str]:
        return [a.name for a in self.schema]

    @property
    def api(self) -> Client:
        return Client(self.config)

    # --- Check: ValidateResourceConfig, as the bridge reports it ------------------------------------
    def check(self, news):
        unknown = sorted(set(news) - set(self.properties()) - {"__defaults"})
        failures = [(k, f"the lab's stand-in proxmoxve provider does not model '{k}' of {self.token}") for k in unknown]
        failures += [("", tf.check_reason(d, self.name, self.names)) for d in self.validate(news)]
        return news, failures

    def validate(self, config: dict[str, Any]) -> list[Diag]:
        """The framework's order: resource validators, ValidateConfig, then each attribute's validators."""
        diags = [d for v in self.config_validators for d in v(config, self.names)]
        diags += self.validate_config(config)
        for a in sorted(self.schema, key=lambda a: a.tf):
            for validator in a.validators:
                diags += validator((("attr", a.tf),), config.get(a.name))
        return diags

    def validate_config(self, config: dict[str, Any]) -> list[Diag]:
        return []

    # --- Plan, Diff, preview ---------------------------------------------------------------------
    def plan(self, news: dict[str, Any], olds: dict[str, Any] | None = None) -> dict[str, Any]:
        """The planned state: the config's values, Defaults where it leaves them null, and computed values
        (UseStateForUnknown) unknown on a create and the state's on an update."""
        plan = {a.name: news.get(a.name) for a in self.schema}
        for k, default in self.defaults.items():
            if plan.get(k) is None:
                plan[k] = default
        for k in ("id",) + self.keep_state + self.computed:
            if plan.get(k) is None:
                plan[k] = olds[k] if olds and olds.get(k) is not None else UNKNOWN
        return plan

    def plan_update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """The plan of an update: `id` is the resource's ID (a state written before the stand-in kept `id` has none)."""
        return self.plan(news, {**olds, "id": olds.get("id") or id_})

    def preview(self, news, olds=None):
        return self.plan(news, olds)

    def _same(self, key: str, a: Any, b: Any) -> bool:
        if key in self.sets and a is not None and b is not None and a != UNKNOWN:
            return sorted(tf.set_elements(a)) == sorted(tf.set_elements(b))
        return a == b

    def diff(self, olds, news, old_inputs):
        """The bridge's Diff: the planned state against the prior one."""
        plan = self.plan(news, olds)
        changed = [k for k in self.properties() if k not in self.computed and not self._same(k, plan.get(k), olds.get(k))]
        return changed, [k for k in changed if k in self.replace_on]

    # --- helpers ----------------------------------------------------------------------------------
    def warn(self, summary: str, detail: str) -> None:
        """A warning diagnostic: the bridge logs it to the engine and the operation carries on."""
        self.log("warning", tf.warning_text(Diag(summary, detail, warning=True)))

    @staticmethod
    def removed(olds: dict[str, Any], plan: dict[str, Any], candidates: dict[str, str]) -> str | None:
        """`delete=`: the API keys of candidates (property -> key) null in the plan and set in the state."""
        gone = [key for prop, key in candidates.items() if plan.get(prop) is None and olds.get(prop) is not None]
        return ",".join(gone) or None


class Hagroup(PveResource):
    """fwprovider/cluster/ha/resource_hagroup.go."""
    token = "proxmoxve:index/hagroup:Hagroup"
    schema = (Attr("group", "group", (tf.HA_ID,)), Attr("comment", "comment", tf.COMMENT),
              Attr("nodes", "nodes", tf.NODES), Attr("no_failback", "noFailback"), Attr("restricted", "restricted"))
    defaults = {"noFailback": False, "restricted": False}

    @staticmethod
    def path(group: str) -> str:
        return f"/cluster/ha/groups/{path_escape(group)}"

    def _body(self, plan):
        return {"comment": plan.get("comment"), "nodes": nodes_string(plan.get("nodes") or {}),
                "nofailback": bool(plan["noFailback"]), "restricted": bool(plan["restricted"])}

    def create(self, urn, inputs):
        plan, api = self.plan(inputs), self.api
        group = plan["group"]
        try:
            api.call("POST", "/cluster/ha/groups/", {"group": group, "type": "group", **self._body(plan)})
        except ApiError as error:
            raise fail(f"Could not create HA group '{group}'.", f"error creating HA group: {error}") from None
        return group, self._read_back(api, {**plan, "id": group})

    def update(self, id_, olds, news):
        plan, api = self.plan_update(id_, olds, news), self.api
        body = {**self._body(plan), "delete": self.removed(olds, plan, {"comment": "comment"})}
        try:
            api.call("PUT", self.path(olds["group"]), body)
        except ApiError as error:
            raise fail("Error updating HA group", f"Could not update HA group '{olds['group']}', unexpected error: "
                                                  f"error updating HA group: {error}") from None
        return self._read_back(api, plan)

    def _read_back(self, api, base):
        state = self._fetch(api, base)
        if state is None:
            raise fail("HA group not found after update",
                       "Failed to find the group when trying to read back the updated HA group's data.")
        return state

    def _fetch(self, api, base):
        group = base.get("group")
        try:
            data = api.call("GET", self.path(group))
        except NotFound:
            return None
        except ApiError as error:
            raise fail(f"Could not read HA group {tf.go_quote(group)}", f"error reading HA group: {error}") from None
        if data is None:
            raise fail(f"Could not read HA group {tf.go_quote(group)}", NO_DATA)
        nodes, warnings = parse_nodes(str(data.get("nodes") or ""), group)
        for w in warnings:
            self.warn(w.summary, w.detail)
        return {**base, "comment": data.get("comment"), "nodes": nodes,
                "noFailback": _bool(data.get("nofailback")), "restricted": _bool(data.get("restricted"))}

    def read(self, id_, state):
        return self._fetch(self.api, {**state, "group": state.get("group") or id_, "id": state.get("id") or id_})

    def delete(self, id_, state):
        group, api = state.get("group") or id_, self.api
        try:
            api.call("DELETE", self.path(group))
        except NotFound:
            self.warn("HA group does not exist", f"Could not delete HA group '{group}', it does not exist or has been "
                                                 "deleted outside of Terraform.")
        except ApiError as error:
            raise fail("Error deleting HA group", f"Could not delete HA group '{group}', unexpected error: "
                                                  f"error deleting HA group: {error}") from None


class Haresource(PveResource):
    """fwprovider/cluster/ha/resource_haresource.go, model_haresource.go."""
    token = "proxmoxve:index/haresource:Haresource"
    schema = (
        Attr("resource_id", "resourceId", (tf.parses(parse_ha_resource_id, "value must be a valid HA resource identifier"),)),
        Attr("state", "state", (tf.parses(HA_STATES.get, "value must be a valid HA resource state"),)),
        Attr("type", "type", (tf.parses({"vm": "vm", "ct": "ct"}.get, "value must be a valid HA resource type"),)),
        Attr("comment", "comment", tf.COMMENT),
        Attr("failback", "failback"),
        Attr("group", "group", (tf.HA_ID,)),
        Attr("max_relocate", "maxRelocate", (tf.between(0, 10),)),
        Attr("max_restart", "maxRestart", (tf.between(0, 10),)),
    )
    defaults = {"state": "started"}
    keep_state = ("type",)
    optional = {"comment": "comment", "failback": "failback", "group": "group", "maxRelocate": "max_relocate",
                "maxRestart": "max_restart"}

    @staticmethod
    def path(sid: str) -> str:
        return f"/cluster/ha/resources/{path_escape(sid)}"

    def _body(self, plan):
        """toRequestBase: the state always (canonical: `enabled` is sent as `started`), the rest when set."""
        body = {key: plan.get(prop) for prop, key in self.optional.items()}
        body["state"] = HA_STATES[plan.get("state") or "started"]
        for key in ("max_relocate", "max_restart"):
            body[key] = None if body[key] is None else int(body[key])
        return body

    def create(self, urn, inputs):
        plan, api = self.plan(inputs), self.api
        kind, name = parse_ha_resource_id(plan["resourceId"])
        sid = f"{kind}:{name}"
        try:
            api.call("POST", "/cluster/ha/resources/", {**self._body(plan), "sid": sid, "type": kind})
        except ApiError as error:
            raise fail(f"Could not create HA resource '{sid}'.", f"error creating HA resource: {error}") from None
        return sid, self._read_back(api, sid, {**plan, "id": sid})

    def update(self, id_, olds, news):
        plan, api = self.plan_update(id_, olds, news), self.api
        body = {**self._body(plan), "delete": self.removed(olds, plan, self.optional)}  # no `type` on update
        try:
            api.call("PUT", self.path(id_), body)
        except ApiError as error:
            # bpg names the resource's HA group here, not the resource.
            raise fail("Error updating HA resource", f"Could not update HA resource '{olds.get('group') or ''}', "
                                                     f"unexpected error: error updating HA resource {id_}: {error}") from None
        return self._read_back(api, id_, plan)

    def _read_back(self, api, sid, base):
        state = self._fetch(api, sid, base)
        if state is None:
            raise fail("HA resource not found after update",
                       "Failed to find the resource when trying to read back the updated HA resource's data.")
        return state

    def _fetch(self, api, sid, base):
        """read + ImportFromAPI: id, resourceId and type from the API (type `vm` if absent), state canonical, the
        optional fields null when absent."""
        try:
            data = api.call("GET", self.path(sid))
        except NotFound:
            return None
        except ApiError as error:
            raise fail(f"Could not read HA resource {tf.go_quote(sid)}", f"error reading HA resource: {error}") from None
        if data is None:
            raise fail(f"Could not read HA resource {tf.go_quote(sid)}", NO_DATA)
        sid = data.get("sid") or sid
        return {**base, "id": sid, "resourceId": sid, "type": data.get("type") or "vm",
                "state": HA_STATES.get(data.get("state") or "started", data.get("state")),
                "comment": data.get("comment"), "failback": _bool(data["failback"]) if data.get("failback") is not None else None,
                "group": data.get("group"), "maxRelocate": _int(data.get("max_relocate")),
                "maxRestart": _int(data.get("max_restart"))}

    def read(self, id_, state):
        return self._fetch(self.api, id_, state)

    def delete(self, id_, state):
        api = self.api
        try:
            api.call("DELETE", self.path(id_))
        except NotFound:
            self.warn("HA resource does not exist", f"Could not delete HA resource '{id_}', it does not exist or has "
                                                    "been deleted outside of Terraform.")
        except ApiError as error:
            raise fail("Error deleting HA resource", f"Could not delete HA resource '{id_}', unexpected error: "
                                                     f"error deleting HA resource {id_}: {error}") from None


NODE_AFFINITY, RESOURCE_AFFINITY = "node-affinity", "resource-affinity"


class Harule(PveResource):
    """fwprovider/cluster/ha/resource_harule.go, model_harule.go (PVE 9)."""
    token = "proxmoxve:index/harule:Harule"
    schema = (
        Attr("rule", "rule", (tf.HA_ID,)),
        Attr("type", "type", (tf.one_of(NODE_AFFINITY, RESOURCE_AFFINITY),)),
        Attr("comment", "comment", tf.COMMENT),
        Attr("disable", "disable"),
        Attr("resources", "resources", (tf.set_size_at_least(1), tf.set_values_are(
            tf.regex_matches(r"^(vm|ct):\d+$", "must be in format type:id (e.g. vm:100, ct:101)")))),
        Attr("nodes", "nodes", tf.NODES),
        Attr("strict", "strict"),
        Attr("affinity", "affinity", (tf.one_of("positive", "negative"),)),
    )
    defaults = {"strict": False, "disable": False}
    sets = ("resources",)
    replace_on = frozenset({"rule", "type"})

    def validate_config(self, config):
        """ValidateConfig: what each type needs and refuses (skipped while the type is null or unknown)."""
        kind, diags = config.get("type"), []
        if kind == NODE_AFFINITY:
            if config.get("nodes") is None:
                diags.append(Diag("Missing required attribute",
                                  'The `nodes` attribute is required when `type` is "node-affinity".', (("attr", "nodes"),)))
            if config.get("affinity") is not None:
                diags.append(Diag("Invalid attribute combination",
                                  'The `affinity` attribute is only valid when `type` is "resource-affinity".',
                                  (("attr", "affinity"),)))
        elif kind == RESOURCE_AFFINITY:
            if config.get("affinity") is None:
                diags.append(Diag("Missing required attribute",
                                  'The `affinity` attribute is required when `type` is "resource-affinity".',
                                  (("attr", "affinity"),)))
            if config.get("nodes") is not None:
                diags.append(Diag("Invalid attribute combination",
                                  'The `nodes` attribute is only valid when `type` is "node-affinity".', (("attr", "nodes"),)))
            if known(config.get("strict")) and config["strict"] is True:
                diags.append(Diag("Invalid Attribute Combination",
                                  'The `strict` attribute is only valid when `type` is "node-affinity".', (("attr", "strict"),)))
        return diags

    @staticmethod
    def path(rule: str) -> str:
        return f"/cluster/ha/rules/{path_escape(rule)}"

    def _body(self, plan):
        """Common fields, then per type: node-affinity sends nodes and strict, resource-affinity only affinity."""
        body = {"type": plan["type"], "comment": plan.get("comment"), "disable": bool(plan["disable"]),
                "resources": ",".join(tf.set_elements(plan.get("resources") or []))}
        if plan["type"] == NODE_AFFINITY:
            body.update(nodes=nodes_string(plan.get("nodes") or {}), strict=bool(plan["strict"]))
        elif plan["type"] == RESOURCE_AFFINITY:
            body.update(affinity=plan.get("affinity"))
        return body

    def create(self, urn, inputs):
        plan, api = self.plan(inputs), self.api
        rule = plan["rule"]
        try:
            api.call("POST", "/cluster/ha/rules/", {"rule": rule, **self._body(plan)})
        except ApiError as error:
            raise fail("Unable to Create HA Rule", f"Could not create HA rule '{rule}': error creating HA rule: {error}") from None
        return rule, self._read_back(api, {**plan, "id": rule})

    def update(self, id_, olds, news):
        plan, api = self.plan_update(id_, olds, news), self.api
        body = {**self._body(plan), "delete": self.removed(olds, plan, {"comment": "comment"})}
        try:
            api.call("PUT", self.path(olds["rule"]), body)
        except ApiError as error:
            raise fail("Unable to Update HA Rule", f"Could not update HA rule '{olds['rule']}': "
                                                   f"error updating HA rule: {error}") from None
        return self._read_back(api, plan)

    def _read_back(self, api, base):
        state = self._fetch(api, base)
        if state is None:
            raise fail("Unable to Read HA Rule", "Failed to find the rule when trying to read back the HA rule's data.")
        return state

    def _fetch(self, api, base):
        rule = base.get("rule")
        try:
            data = api.call("GET", self.path(rule))
        except NotFound:
            return None
        except ApiError as error:
            raise fail("Unable to Read HA Rule", f"error reading HA rule: {error}") from None
        if data is None:
            raise fail("Unable to Read HA Rule", NO_DATA)
        state = {**base, "rule": data.get("rule") or rule, "type": data.get("type"), "comment": data.get("comment"),
                 "disable": _bool(data.get("disable")),
                 "resources": [r.strip() for r in str(data.get("resources") or "").split(",") if r.strip()]}
        if data.get("type") == NODE_AFFINITY:
            nodes, warnings = (None, []) if data.get("nodes") is None else parse_nodes(str(data["nodes"]), rule)
            for w in warnings:
                self.warn(w.summary, w.detail)
            state.update(nodes=nodes, strict=_bool(data.get("strict")), affinity=None)
        elif data.get("type") == RESOURCE_AFFINITY:
            state.update(nodes=None, strict=False, affinity=data.get("affinity"))
        return state

    def read(self, id_, state):
        return self._fetch(self.api, {**state, "rule": state.get("rule") or id_, "id": state.get("id") or id_})

    def delete(self, id_, state):
        rule, api = state.get("rule") or id_, self.api
        try:
            api.call("DELETE", self.path(rule))
        except NotFound:
            self.warn("HA rule does not exist", f"Could not delete HA rule '{rule}', it does not exist or has been "
                                                "deleted outside of Terraform.")
        except ApiError as error:
            raise fail("Unable to Delete HA Rule", f"Could not delete HA rule '{rule}': error deleting HA rule: {error}") from None


class Token(PveResource):
    """fwprovider/access/resource_user_token.go."""
    token = "proxmoxve:user/token:Token"
    schema = (
        Attr("comment", "comment"),
        Attr("expiration_date", "expirationDate", (tf.parses(tf.parse_rfc3339, "must be a valid RFC3339 date"),)),
        Attr("privileges_separation", "privilegesSeparation"),
        Attr("token_name", "tokenName", (tf.regex_matches(r"[A-Za-z][A-Za-z0-9.\-_]+", "must be a valid token identifier"),)),
        Attr("user_id", "userId"),
    )
    defaults = {"privilegesSeparation": True}
    replace_on = frozenset({"userId", "tokenName"})
    computed = ("value",)

    @staticmethod
    def path(user: str, name: str) -> str:
        return f"/access/users/{path_escape(user)}/token/{path_escape(name)}"

    def _body(self, plan):
        return {"comment": plan.get("comment"), "privsep": bool(plan["privilegesSeparation"])}

    @staticmethod
    def _expire(plan) -> int | None:
        """The plan's expiration date as Unix seconds; None when it is null or empty."""
        date = plan.get("expirationDate")
        if date in (None, ""):
            return None
        seconds = tf.parse_rfc3339(date)
        if seconds is None:
            raise fail("Error parsing expiration date", f"parsing time {tf.go_quote(date)} as "
                                                        f'"2006-01-02T15:04:05Z07:00": cannot parse {tf.go_quote(date)}')
        return seconds

    def create(self, urn, inputs):
        plan, api = self.plan(inputs), self.api
        user, name = plan["userId"], plan["tokenName"]
        body = {**self._body(plan), "expire": self._expire(plan)}  # no `expire` at all when unset
        try:
            made = api.call("POST", self.path(user, name), body)
        except ApiError as error:
            raise fail("Error creating user token", f"error creating user token: {error}") from None
        if made is None:
            raise fail("Error creating user token", NO_DATA)  # bpg dereferences the missing data and panics
        id_ = f"{user}!{name}"
        return id_, {**plan, "id": id_, "value": f"{made['full-tokenid']}={made['value']}"}

    def update(self, id_, olds, news):
        plan, api = self.plan_update(id_, olds, news), self.api
        expire = self._expire(plan)
        if expire is None and olds.get("expirationDate") is not None:
            expire = 0  # cleared: reset it
        try:
            api.call("PUT", self.path(plan["userId"], plan["tokenName"]), {**self._body(plan), "expire": expire})
        except ApiError as error:
            raise fail("Error updating user token", f"error updating user token: {error}") from None
        return plan  # `value` kept from the state (UseStateForUnknown)

    def read(self, id_, state):
        user, _, name = id_.partition("!")
        user, name = state.get("userId") or user, state.get("tokenName") or name
        try:
            data = self.api.call("GET", self.path(user, name))
        except ApiError as error:  # even not found: bpg does not drop the token from the state
            raise fail("Error reading user token", f"error retrieving user token: {error}") from None
        if data is None:
            raise fail("Error reading user token", NO_DATA)
        state = {**state, "comment": data.get("comment"),
                 "privilegesSeparation": _bool(data["privsep"]) if data.get("privsep") is not None else None}
        expire = tf.go_atoi(str(data.get("expire") or 0))
        if expire is not None and expire > 0:  # otherwise the state's value stands
            state["expirationDate"] = tf.format_rfc3339_utc(expire)
        return state

    def delete(self, id_, state):
        user, _, name = id_.partition("!")
        try:
            self.api.call("DELETE", self.path(state.get("userId") or user, state.get("tokenName") or name))
        except ApiError as error:
            raise fail("Error deleting user token", f"error deleting user token: {error}") from None


class Acl(PveResource):
    """fwprovider/access/resource_acl.go, model_acl.go."""
    token = "proxmoxve:index/acl:Acl"
    schema = (Attr("group_id", "groupId"), Attr("path", "path"), Attr("propagate", "propagate"),
              Attr("role_id", "roleId"), Attr("token_id", "tokenId"), Attr("user_id", "userId"))
    defaults = {"propagate": True}
    replace_on = frozenset({"path", "roleId", "userId", "groupId", "tokenId"})
    # At most one entity (bpg checks no minimum: with none, PVE refuses the call).
    config_validators = (tf.conflicting("group_id", "token_id", "user_id"),)
    entities = (("groupId", "groups", "group"), ("tokenId", "tokens", "token"), ("userId", "users", "user"))

    def _body(self, plan):
        """intoUpdateBody: path, role, propagate, and whichever entities are set."""
        body = {"path": plan["path"], "roles": plan["roleId"], "propagate": bool(plan.get("propagate", True))}
        body.update({key: plan[prop] for prop, key, _ in self.entities if plan.get(prop) is not None})
        return body

    def _put(self, api, body, summary, done):
        try:
            api.call("PUT", "/access/acl", body)
        except ApiError as error:
            raise fail(summary, f"API call failed: failed to update access control list: {error}") from None
        return done

    def create(self, urn, inputs):
        plan, api = self.plan(inputs), self.api
        self._put(api, self._body(plan), "Unable to create ACL", None)
        id_ = f"{plan['path']}?{''.join(plan.get(p) or '' for p, _, _ in self.entities)}?{plan['roleId']}"
        return id_, {**plan, "id": id_}

    def update(self, id_, olds, news):
        plan, api = self.plan_update(id_, olds, news), self.api
        self._put(api, {**self._body(olds), "delete": True}, "Unable to delete old ACL", None)
        return self._put(api, self._body(plan), "Unable to create ACL", plan)

    def read(self, id_, state):
        try:
            entries = self.api.call("GET", "/access/acl")
        except ApiError as error:
            raise fail("Unable to read ACL", f"API call failed: failed to get access control list: {error}") from None
        if entries is None:
            raise fail("Unable to read ACL", f"API call failed: {NO_DATA}")
        wanted = {kind: state.get(prop) or "" for prop, _, kind in self.entities}
        for entry in entries:
            if entry.get("type") in wanted and entry.get("ugid") == wanted[entry["type"]] and \
                    entry.get("path") == state.get("path") and entry.get("roleid") == state.get("roleId"):
                propagate = entry.get("propagate")
                return {**state, "propagate": True if propagate is None else _bool(propagate)}
        return None

    def delete(self, id_, state):
        self._put(self.api, {**self._body(state), "delete": True}, "Unable to delete old ACL", None)


RESOURCES: dict[str, Callable[[dict[str, Any]], Resource]] = {
    cls.token: cls for cls in (Hagroup, Haresource, Harule, Token, Acl)
}


def main() -> None:
    serve(Provider(VERSION, RESOURCES, config_prefix="proxmoxve:config:", configure=configure))


if __name__ == "__main__":
    main()
