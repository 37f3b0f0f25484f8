"""The proxmoxve stand-in plugin against the lab API: bpg's calls, read-backs and refusals (lab/providers)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from lab.providers import proxmoxve as pve
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
