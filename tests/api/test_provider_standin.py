"""The proxmoxve stand-in plugin against the lab API: bpg's calls, read-backs and refusals (lab/providers)."""
from __future__ import annotations

import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from lab.providers import proxmoxve as pve
from lab.providers import pve_rest
from lab.providers.grpc_plugin import ResourceError, to_struct

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(lab):
    return {"endpoint": lab.base.removesuffix("/api2/json"), "apiToken": lab.root_token, "insecure": "true"}


def test_the_provider_config_is_checked_as_bpg_does(config):
    with pytest.raises(ResourceError, match="secure endpoint"):
        pve.Hagroup({**config, "endpoint": config["endpoint"].replace("https", "http")}).api
    with pytest.raises(ResourceError, match="USER@REALM!TOKENID=UUID"):
        pve.Hagroup({**config, "apiToken": "root@pam=secret"}).api


def test_token_value_is_the_full_token_id_and_a_missing_token_is_an_error(lab, config):
    lab.client().post("/access/users", {"userid": "monitoring@pve"})
    token = pve.Token(config)
    inputs, failures = token.check({"userId": "monitoring@pve", "tokenName": "exporter"})
    assert failures == [] and "privilegesSeparation" not in inputs
    id_, state = token.create("urn:x::exporter", inputs)
    assert id_ == "monitoring@pve!exporter"
    user, _, secret = state["value"].partition("=")
    assert user == "monitoring@pve!exporter" and len(secret) == 36
    token.delete(id_, state)
    with pytest.raises(ResourceError, match="HTTP"):
        token.read(id_, state)


def test_acl_round_trip_and_unknown_inputs_are_refused(lab, config):
    lab.client().post("/access/users", {"userid": "monitoring@pve"})
    acl = pve.Acl(config)
    inputs, failures = acl.check({"path": "/", "roleId": "PVEAuditor", "userId": "monitoring@pve"})
    assert failures == []
    id_, state = acl.create("urn:x::acl", inputs)
    assert id_ == "/?monitoring@pve?PVEAuditor" and acl.read(id_, state)["propagate"] is True
    acl.delete(id_, state)
    assert acl.read(id_, state) is None
    _, failures = acl.check({"path": "/", "roleId": "PVEAuditor", "userId": "u@pve", "groupId": "g"})
    assert failures
    _, failures = pve.Hagroup(config).check({"group": "critical", "nodes": {"pve1": 1.0}, "maxWorkers": 1.0})
    assert "does not model 'maxWorkers'" in failures[0][1]


def test_ha_group_update_deletes_a_removed_comment_and_errors_read_as_bpgs(lab, config):
    group = pve.Hagroup(config)
    inputs, _ = group.check({"group": "critical", "nodes": {"pve1": 2.0, "pve2": 1.0}, "comment": "x"})
    id_, state = group.create("urn:x::critical", inputs)
    assert state["nodes"] == {"pve1": 2.0, "pve2": 1.0} and state["comment"] == "x"
    without = {k: v for k, v in inputs.items() if k != "comment"}
    assert group.diff(state, without, inputs)[0] == ["comment"]
    assert group.update(id_, state, without)["comment"] is None
    with pytest.raises(ResourceError, match=r"received an HTTP \d+ response - Reason: "):
        group.create("urn:x::again", inputs)


def test_the_plugin_serves_grpc_and_prints_its_port_first():
    import grpc

    plugin = subprocess.Popen([str(REPO / "lab" / "providers" / "bin" / "pulumi-resource-command")], stdout=subprocess.PIPE, text=True)
    try:
        port = int(plugin.stdout.readline())
        stub = provider_pb2_grpc.ResourceProviderStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        from google.protobuf import empty_pb2
        assert stub.GetPluginInfo(empty_pb2.Empty(), timeout=10).version == version("pulumi-command")
        checked = stub.Check(provider_pb2.CheckRequest(type="command:remote:Command", news=to_struct({"create": "true"})), timeout=10)
        assert [f.property for f in checked.failures] == ["connection"]
        checked = stub.Check(provider_pb2.CheckRequest(
            type="command:remote:Command", news=to_struct({"connection": {"host": "10.0.0.1"}})), timeout=10)
        assert dict(checked.inputs["connection"])["user"] == "root" and dict(checked.inputs["connection"])["port"] == 22
    finally:
        plugin.kill()
        plugin.wait()


# --- bpg v0.111.1 through the bridge: plan, preview, errors, warnings, bodies ---------------------------------
import grpc  # noqa: E402
from concurrent import futures  # noqa: E402

from google.protobuf import empty_pb2  # noqa: E402
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc  # noqa: E402

from lab.providers.grpc_plugin import UNKNOWN, Provider, to_py  # noqa: E402
from lab.providers.pve_rest import Client, NotFound, encode  # noqa: E402


class Aborted(Exception):
    pass


class Context:
    """A gRPC servicer context: abort raises, as grpc's does."""

    def abort(self, code, details):
        raise Aborted(code, details)


def urn(cls, name="res"):
    return f"urn:pulumi:lab::proxmox-ha::{cls.token}::{name}"


def made(cls, config, name="res"):
    """The resource as the provider hands it a request: its URN set, its log lines kept."""
    resource = cls(config)
    resource.urn, resource.logged = urn(cls, name), []
    resource.log = lambda severity, message: resource.logged.append((severity, message))
    return resource


@pytest.fixture
def calls(monkeypatch):
    """Every API call the stand-in makes, as (method, path, form fields sent)."""
    seen = []
    real = Client.call

    def spy(self, method, path, params=None):
        seen.append((method, path, {k: encode(v) for k, v in (params or {}).items() if v is not None}))
        return real(self, method, path, params)
    monkeypatch.setattr(Client, "call", spy)
    return seen


def answer(monkeypatch, method, path, outcome):
    """Make one call (method, path) raise `outcome` (an exception) or return it (a 200's `data`)."""
    real = Client.call

    def call(self, m, p, params=None):
        if (m, p) == (method, path):
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        return real(self, m, p, params)
    monkeypatch.setattr(Client, "call", call)


GONE = NotFound("the requested resource does not exist\nreceived an HTTP 404 response - Reason: Not Found")


def provider(config, engine=None):
    served = Provider(pve.VERSION, pve.RESOURCES, "proxmoxve:config:", configure=pve_rest.configure, engine=engine)
    served.config = config
    return served


@pytest.fixture(autouse=True)
def no_proxmox_env(monkeypatch):
    for name in ("PROXMOX_VE_ENDPOINT", "PROXMOX_VE_API_TOKEN", "PROXMOX_VE_INSECURE", "PROXMOX_VE_MIN_TLS",
                 "PROXMOX_VE_USERNAME", "PROXMOX_VE_PASSWORD", "PROXMOX_VE_AUTH_TICKET", "PROXMOX_VE_CSRF_PREVENTION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_planned_into_the_state_not_the_inputs_and_an_unchanged_up_changes_nothing(lab, config):
    lab.client().post("/access/users", {"userid": "monitoring@pve"})
    cases = [
        (pve.Hagroup, {"group": "critical", "nodes": {"pve1": 2.0, "pve2": None}}, {"noFailback": False, "restricted": False},
         {"noFailback": True}),
        (pve.Haresource, {"resourceId": "vm:100"}, {"state": "started", "type": "vm"}, {"state": "stopped"}),
        (pve.Token, {"userId": "monitoring@pve", "tokenName": "exporter"}, {"privilegesSeparation": True},
         {"privilegesSeparation": False}),
        (pve.Acl, {"path": "/", "roleId": "PVEAuditor", "userId": "monitoring@pve"}, {"propagate": True}, {"propagate": False}),
    ]
    for cls, given, defaults, change in cases:
        resource = made(cls, config)
        inputs, failures = resource.check(given)
        assert failures == [] and inputs == given, cls
        id_, state = resource.create(urn(cls), inputs)
        assert {k: state[k] for k in defaults} == defaults and state["id"] == id_, cls
        assert resource.diff(state, inputs, inputs) == ([], []), cls
        assert resource.diff(resource.read(id_, state), inputs, inputs) == ([], []), cls
        assert resource.diff(state, {**inputs, **change}, inputs) == (list(change), []), cls
    # A default set explicitly, then left out again: planned back to the default.
    group = made(pve.Hagroup, config, "again")
    _, state = group.create("u", {"group": "again", "nodes": {"pve1": 1.0}, "noFailback": True})
    assert group.diff(state, {"group": "again", "nodes": {"pve1": 1.0}}, {}) == (["noFailback"], [])


def test_the_checked_inputs_the_engine_gets_hold_no_defaults(config):
    served = provider(config)
    checked = served.Check(provider_pb2.CheckRequest(urn=urn(pve.Hagroup, "ha-critical"), type=pve.Hagroup.token, news=to_struct(
        {"group": "critical_", "nodes": {"pve1": 1.0}})), Context())
    assert to_py(checked.inputs) == {"group": "critical_", "nodes": {"pve1": 1.0}}
    assert [(f.property, f.reason) for f in checked.failures] == [("", (
        "Invalid Attribute Value Match. Attribute group must start with a letter, end with a letter or number, be composed "
        "of letters, numbers, '-', '_' and '.', and must be at least 2 characters long, got: critical_. "
        "Examine values at 'ha-critical.group'."))]


def test_a_preview_shows_bpgs_plan(config):
    served = provider(config)

    def create(cls, inputs):
        response = served.Create(provider_pb2.CreateRequest(urn=urn(cls), type=cls.token, properties=to_struct(inputs),
                                                            preview=True), Context())
        return to_py(response.properties)

    assert create(pve.Haresource, {"resourceId": "vm:100"}) == {"resourceId": "vm:100", "state": "started",
                                                                 "type": UNKNOWN, "id": UNKNOWN}
    assert create(pve.Haresource, {"resourceId": "ct:200", "type": "ct"})["type"] == "ct"
    assert create(pve.Hagroup, {"group": "g1", "nodes": {"pve1": 1.0}}) == {
        "group": "g1", "nodes": {"pve1": 1.0}, "noFailback": False, "restricted": False, "id": UNKNOWN}
    assert create(pve.Token, {"userId": "u@pve", "tokenName": "t"}) == {
        "userId": "u@pve", "tokenName": "t", "privilegesSeparation": True, "id": UNKNOWN, "value": UNKNOWN}
    assert create(pve.Acl, {"path": "/", "roleId": "R", "tokenId": UNKNOWN})["tokenId"] == UNKNOWN
    olds = {"userId": "u@pve", "tokenName": "t", "privilegesSeparation": True, "id": "u@pve!t", "value": "u@pve!t=secret"}
    updated = served.Update(provider_pb2.UpdateRequest(
        id="u@pve!t", urn=urn(pve.Token), type=pve.Token.token, olds=to_struct(olds),
        news=to_struct({"userId": "u@pve", "tokenName": "t", "comment": "new"}), preview=True), Context())
    assert to_py(updated.properties) == {**olds, "comment": "new"}  # value: UseStateForUnknown
    olds = {"resourceId": "vm:100", "state": "started", "type": "vm", "id": "vm:100", "maxRestart": 2.0}
    updated = served.Update(provider_pb2.UpdateRequest(
        id="vm:100", urn=urn(pve.Haresource), type=pve.Haresource.token, olds=to_struct(olds),
        news=to_struct({"resourceId": "vm:100", "state": "stopped"}), preview=True), Context())
    assert to_py(updated.properties) == {"resourceId": "vm:100", "state": "stopped", "type": "vm", "id": "vm:100"}


def test_deleting_an_ha_object_already_gone_warns_and_succeeds(lab, config, monkeypatch):
    group = made(pve.Hagroup, config)
    group.delete("critical", {"group": "critical"})  # PVE: "no such ha group": not found
    assert group.logged == [("warning", "[WARNING] Could not delete HA group 'critical', it does not exist or has been "
                                        "deleted outside of Terraform.: HA group does not exist")]
    resource = made(pve.Haresource, config)
    with pytest.raises(ResourceError) as error:  # PVE says "not HA managed!": not a not-found to bpg, so an error
        resource.delete("vm:100", {})
    assert str(error.value) == ("Error deleting HA resource: Could not delete HA resource 'vm:100', unexpected error: "
                                "error deleting HA resource vm:100: received an HTTP 500 response - Reason: "
                                "cannot delete service 'vm:100', not HA managed!")
    answer(monkeypatch, "DELETE", "/cluster/ha/resources/vm:100", GONE)
    resource.delete("vm:100", {})
    assert resource.logged == [("warning", "[WARNING] Could not delete HA resource 'vm:100', it does not exist or has "
                                           "been deleted outside of Terraform.: HA resource does not exist")]
    answer(monkeypatch, "DELETE", "/cluster/ha/rules/r1", GONE)
    rule = made(pve.Harule, config)
    rule.delete("r1", {"rule": "r1"})
    assert rule.logged == [("warning", "[WARNING] Could not delete HA rule 'r1', it does not exist or has been deleted "
                                       "outside of Terraform.: HA rule does not exist")]


def test_the_warning_reaches_the_engine_with_the_resource(lab, config):
    class Engine(engine_pb2_grpc.EngineServicer):
        logs = []

        def Log(self, request, context):
            self.logs.append((request.severity, request.urn, request.message))
            return empty_pb2.Empty()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    engine_pb2_grpc.add_EngineServicer_to_server(Engine(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        served = provider(config, engine=f"127.0.0.1:{port}")
        served.Delete(provider_pb2.DeleteRequest(id="critical", urn=urn(pve.Hagroup, "ha-critical"), type=pve.Hagroup.token,
                                                 properties=to_struct({"group": "critical"})), Context())
    finally:
        server.stop(None)
    assert Engine.logs == [(engine_pb2.WARNING, urn(pve.Hagroup, "ha-critical"),
                            "[WARNING] Could not delete HA group 'critical', it does not exist or has been deleted "
                            "outside of Terraform.: HA group does not exist")]


def test_token_and_acl_delete_and_read_errors_stay_errors(lab, config):
    lab.client().post("/access/users", {"userid": "monitoring@pve"})
    token, state = made(pve.Token, config), {"userId": "monitoring@pve", "tokenName": "exporter"}
    missing = "received an HTTP 500 response - Reason: no such token 'exporter' for user 'monitoring@pve'"
    with pytest.raises(ResourceError) as error:
        token.delete("monitoring@pve!exporter", state)
    assert str(error.value) == f"Error deleting user token: error deleting user token: {missing}"
    with pytest.raises(ResourceError) as error:
        token.read("monitoring@pve!exporter", state)
    assert str(error.value) == f"Error reading user token: error retrieving user token: {missing}"
    acl = made(pve.Acl, config)
    with pytest.raises(ResourceError) as error:
        acl.delete("/?ghost@pve?PVEAuditor", {"path": "/", "roleId": "PVEAuditor", "userId": "ghost@pve", "propagate": True})
    assert str(error.value) == ("Unable to delete old ACL: API call failed: failed to update access control list: the "
                                "requested resource does not exist\nreceived an HTTP 500 response - Reason: user "
                                "'ghost@pve' does not exist")
    assert token.logged == acl.logged == []


def test_a_failed_read_back_is_bpgs_error_not_a_crash(lab9, monkeypatch):
    config = {"endpoint": lab9.base.removesuffix("/api2/json"), "apiToken": lab9.root_token, "insecure": "true"}
    served = provider(config)
    resource = made(pve.Haresource, config)
    resource.create("u", {"resourceId": "vm:100"})
    answer(monkeypatch, "GET", "/cluster/ha/rules/r1", GONE)
    with pytest.raises(Aborted) as aborted:
        served.Create(provider_pb2.CreateRequest(urn=urn(pve.Harule), type=pve.Harule.token, properties=to_struct(
            {"rule": "r1", "type": "node-affinity", "resources": ["vm:100"], "nodes": {"pve1": 1.0}})), Context())
    assert aborted.value.args == (grpc.StatusCode.UNKNOWN,
                                  "Unable to Read HA Rule: Failed to find the rule when trying to read back the HA rule's data.")
    answer(monkeypatch, "GET", "/cluster/ha/resources/vm:101", GONE)
    with pytest.raises(ResourceError) as error:
        made(pve.Haresource, config).create("u", {"resourceId": "vm:101"})
    assert str(error.value) == ("HA resource not found after update: Failed to find the resource when trying to read back "
                                "the updated HA resource's data.")


def test_a_read_without_data_is_an_error(lab, config, monkeypatch):
    answer(monkeypatch, "GET", "/cluster/ha/groups/critical", None)
    with pytest.raises(ResourceError) as error:
        made(pve.Hagroup, config).create("u", {"group": "critical", "nodes": {"pve1": 1.0}})
    assert str(error.value) == 'Could not read HA group "critical": the server did not include a data object in the response'
    answer(monkeypatch, "GET", "/cluster/ha/rules/r1", None)
    with pytest.raises(ResourceError) as error:
        made(pve.Harule, config).read("r1", {"rule": "r1"})
    assert str(error.value) == "Unable to Read HA Rule: the server did not include a data object in the response"
    answer(monkeypatch, "GET", "/access/users/u@pve/token/t", None)
    with pytest.raises(ResourceError) as error:
        made(pve.Token, config).read("u@pve!t", {"userId": "u@pve", "tokenName": "t"})
    assert str(error.value) == "Error reading user token: the server did not include a data object in the response"


def test_create_errors_are_wrapped_as_bpgs(lab, config):
    group = made(pve.Hagroup, config)
    group.create("u", {"group": "critical", "nodes": {"pve1": 1.0}})
    with pytest.raises(ResourceError) as error:
        group.create("u", {"group": "critical", "nodes": {"pve1": 1.0}})
    assert str(error.value) == ("Could not create HA group 'critical'.: error creating HA group: received an HTTP 500 "
                                "response - Reason: create ha group failed: ha group ID 'critical' already defined")
    with pytest.raises(ResourceError) as error:
        made(pve.Haresource, config).create("u", {"resourceId": "vm:999"})
    assert str(error.value) == ("Could not create HA resource 'vm:999'.: error creating HA resource: the requested resource "
                                "does not exist\nreceived an HTTP 500 response - Reason: resource 'vm:999' does not exist "
                                "in cluster")
    lab.client().post("/access/users", {"userid": "monitoring@pve"})
    token = made(pve.Token, config)
    token.create("u", {"userId": "monitoring@pve", "tokenName": "exporter"})
    with pytest.raises(ResourceError) as error:
        token.create("u", {"userId": "monitoring@pve", "tokenName": "exporter"})
    assert str(error.value) == ("Error creating user token: error creating user token: the requested resource already "
                                "exists\nreceived an HTTP 400 response - Reason: Parameter verification failed. "
                                "(tokenid: Token already exists.)")


def test_a_read_error_is_wrapped_as_bpgs(lab9):
    config = {"endpoint": lab9.base.removesuffix("/api2/json"), "apiToken": lab9.root_token, "insecure": "true"}
    with pytest.raises(ResourceError) as error:  # PVE 9 without groups: a read error that is not "not found"
        made(pve.Hagroup, config).read("critical", {"group": "critical"})
    assert str(error.value) == ('Could not read HA group "critical": error reading HA group: received an HTTP 500 '
                                "response - Reason: cannot read group: ha groups have been migrated to rules")


def test_token_expire_is_sent_as_bpg_does(lab, config, calls):
    lab.client().post("/access/users", {"userid": "monitoring@pve"})
    token = made(pve.Token, config)
    path = "/access/users/monitoring@pve/token/exporter"
    _, state = token.create("u", {"userId": "monitoring@pve", "tokenName": "exporter", "expirationDate": "2030-01-01T02:00:00+02:00"})
    assert calls[-1] == ("POST", path, {"privsep": "1", "expire": "1893456000"})
    assert lab.client().get(path)[2]["data"]["expire"] == 1893456000
    assert token.read("monitoring@pve!exporter", {**state, "expirationDate": None})["expirationDate"] == "2030-01-01T00:00:00Z"
    state = token.update("monitoring@pve!exporter", state, {"userId": "monitoring@pve", "tokenName": "exporter"})
    assert calls[-1] == ("PUT", path, {"privsep": "1", "expire": "0"})  # cleared: reset
    assert lab.client().get(path)[2]["data"].get("expire", 0) == 0 and state.get("expirationDate") is None
    assert token.read("monitoring@pve!exporter", {**state, "expirationDate": "kept"})["expirationDate"] == "kept"
    token.update("monitoring@pve!exporter", state, {"userId": "monitoring@pve", "tokenName": "exporter", "comment": "c"})
    assert calls[-1] == ("PUT", path, {"privsep": "1", "comment": "c"})  # unset before and after: no expire
    token.delete("monitoring@pve!exporter", state)
    token.create("u", {"userId": "monitoring@pve", "tokenName": "exporter"})
    assert calls[-1] == ("POST", path, {"privsep": "1"})  # unset: no expire at all


def test_ha_bodies_are_bpgs(lab9, calls):
    config = {"endpoint": lab9.base.removesuffix("/api2/json"), "apiToken": lab9.root_token, "insecure": "true"}
    resource = made(pve.Haresource, config)
    _, state = resource.create("u", {"resourceId": "vm:100", "state": "enabled", "maxRestart": 2.0})
    assert calls[0] == ("POST", "/cluster/ha/resources/", {"sid": "vm:100", "type": "vm", "state": "started",
                                                           "max_restart": "2"})
    assert state["state"] == "started"
    resource.update("vm:100", state, {"resourceId": "vm:100", "state": "stopped", "type": "vm"})
    assert [c for c in calls if c[0] == "PUT"] == [("PUT", "/cluster/ha/resources/vm:100", {"state": "stopped",
                                                                                            "delete": "max_restart"})]
    resource.create("u", {"resourceId": "vm:101"})
    rule = made(pve.Harule, config)
    del calls[:]
    _, state = rule.create("u", {"rule": "prefer", "type": "node-affinity", "resources": ["vm:100"], "nodes": {"pve1": 2.0}})
    assert calls[0] == ("POST", "/cluster/ha/rules/", {"rule": "prefer", "type": "node-affinity", "disable": "0",
                                                       "resources": "vm:100", "nodes": "pve1:2", "strict": "0"})
    assert state["strict"] is False and state["affinity"] is None
    _, state = rule.create("u", {"rule": "apart", "type": "resource-affinity", "resources": ["vm:101", "vm:100"],
                                 "affinity": "negative"})
    assert calls[2] == ("POST", "/cluster/ha/rules/", {"rule": "apart", "type": "resource-affinity", "disable": "0",
                                                       "resources": "vm:101,vm:100", "affinity": "negative"})
    assert rule.diff(state, {"rule": "apart", "type": "resource-affinity", "resources": ["vm:100", "vm:101"],
                             "affinity": "negative"}, {}) == ([], [])  # a set: its order is no change
    del calls[:]
    rule.update("apart", state, {"rule": "apart", "type": "resource-affinity", "resources": ["vm:100", "vm:101"],
                                 "affinity": "positive", "comment": "x"})
    assert calls[0] == ("PUT", "/cluster/ha/rules/apart", {"type": "resource-affinity", "disable": "0",
                                                           "resources": "vm:100,vm:101", "affinity": "positive",
                                                           "comment": "x"})
    assert rule.read("apart", {**state, "type": "node-affinity"})["type"] == "resource-affinity"  # from the API


def test_the_provider_config_is_refused_as_bpgs_configure_does(lab, config, monkeypatch):
    def refusal(**changes):
        with pytest.raises(ResourceError) as error:
            Client({k: v for k, v in {**config, **changes}.items() if v is not None})
        return str(error.value)

    credentials, connection = "Unable to create Proxmox VE API credentials: ", "Unable to create Proxmox VE API connection: "
    none = credentials + "must provide either username and password, an API token, or a ticket"
    assert refusal(apiToken="") == refusal(apiToken=None) == none  # empty falls through to the other ways
    assert refusal(apiToken=config["apiToken"] + "\n") == credentials + "the API token must be in the format " \
                                                                       "'USER@REALM!TOKENID=UUID'"
    assert refusal(endpoint="") == (
        '[AttributeName("endpoint")] Missing Proxmox VE API Endpoint: The provider cannot create the Proxmox VE API client '
        "as there is a missing or empty value for the API endpoint. Set the host value in the configuration or use the "
        "PROXMOX_VE_ENDPOINT environment variable. If either is already set, ensure the value is not empty.")
    assert refusal(endpoint="pve1") == connection + "you must specify a valid endpoint for the Proxmox Virtual " \
                                                    "Environment API (valid: https://host:port/)"
    assert refusal(endpoint="http://pve1:8006") == connection + "you must specify a secure endpoint for the Proxmox " \
                                                                "Virtual Environment API (valid: https://host:port/)"
    assert refusal(minTls="1.4") == connection + "unsupported minimal TLS version 1.4, must be one of: , 1.0, 1.1, 1.2, 1.3"
    assert Client(config).tls.minimum_version == pve_rest.ssl.TLSVersion.TLSv1_3
    assert Client({**config, "minTls": "1.2"}).tls.minimum_version == pve_rest.ssl.TLSVersion.TLSv1_2
    monkeypatch.setenv("PROXMOX_VE_API_TOKEN", config["apiToken"])  # bpg's environment, where the config is silent
    assert Client({**config, "apiToken": None}).call("GET", "/version")["version"]
    with pytest.raises(Aborted) as aborted:  # refused when the provider is configured, as bpg's Configure does
        provider({}).Configure(provider_pb2.ConfigureRequest(args=to_struct({**config, "apiToken": "x"})), Context())
    assert aborted.value.args[1] == credentials + "the API token must be in the format 'USER@REALM!TOKENID=UUID'"
    provider({}).Configure(provider_pb2.ConfigureRequest(args=to_struct({**config, "endpoint": UNKNOWN})), Context())


def test_api_errors_read_as_bpgs_client_reports_them(lab, config):
    api = Client(config)
    with pytest.raises(pve_rest.NotFound) as error:  # a 500 saying it does not exist is "not found"
        api.call("GET", "/cluster/ha/groups/nope")
    assert str(error.value) == ("the requested resource does not exist\n"
                                "received an HTTP 500 response - Reason: no such ha group 'nope'")
    lab.client().post("/access/users", {"userid": "monitoring@pve"})
    api.call("POST", "/access/users/monitoring@pve/token/tk")
    with pytest.raises(pve_rest.AlreadyExists) as error:
        api.call("POST", "/access/users/monitoring@pve/token/tk")
    assert str(error.value) == ("the requested resource already exists\nreceived an HTTP 400 response - Reason: "
                                "Parameter verification failed. (tokenid: Token already exists.)")
    with pytest.raises(pve_rest.ApiError) as error:
        api.call("POST", "/access/users/nobody@pve/token/tk")
    assert type(error.value) is pve_rest.ApiError
    assert str(error.value) == "received an HTTP 500 response - Reason: no such user ('nobody@pve')"
