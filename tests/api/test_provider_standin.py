"""The proxmoxve stand-in plugin against the lab API: bpg's calls, read-backs and refusals (lab/providers)."""
from __future__ import annotations

import subprocess
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
    assert failures == [] and inputs["privilegesSeparation"] is True
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
    _, failures = pve.Hagroup(config).check({"group": "g", "nodes": {"pve1": 1.0}, "maxWorkers": 1.0})
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
        assert stub.GetPluginInfo(empty_pb2.Empty(), timeout=10).version == "1.2.1"
        checked = stub.Check(provider_pb2.CheckRequest(type="command:remote:Command", news=to_struct({"create": "true"})), timeout=10)
        assert [f.property for f in checked.failures] == ["connection"]
        checked = stub.Check(provider_pb2.CheckRequest(
            type="command:remote:Command", news=to_struct({"connection": {"host": "10.0.0.1"}})), timeout=10)
        assert dict(checked.inputs["connection"])["user"] == "root" and dict(checked.inputs["connection"])["port"] == 22
    finally:
        plugin.kill()
        plugin.wait()


# --- bpg's provider configuration (fwprovider/provider.go Configure, proxmox/api) -------------------------------
from lab.providers.grpc_plugin import UNKNOWN, Provider  # noqa: E402
from lab.providers.pve_rest import Client  # noqa: E402


class Aborted(Exception):
    pass


class Context:
    """A gRPC servicer context: abort raises, as grpc's does."""

    def abort(self, code, details):
        raise Aborted(code, details)


def provider(config, engine=None):
    served = Provider(pve.VERSION, pve.RESOURCES, "proxmoxve:config:", configure=pve_rest.configure, engine=engine)
    served.config = config
    return served


@pytest.fixture(autouse=True)
def no_proxmox_env(monkeypatch):
    for name in ("PROXMOX_VE_ENDPOINT", "PROXMOX_VE_API_TOKEN", "PROXMOX_VE_INSECURE", "PROXMOX_VE_MIN_TLS",
                 "PROXMOX_VE_USERNAME", "PROXMOX_VE_PASSWORD", "PROXMOX_VE_AUTH_TICKET", "PROXMOX_VE_CSRF_PREVENTION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


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
