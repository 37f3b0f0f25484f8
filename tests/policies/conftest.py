"""Fake validation args built directly (no engine), in the style of pulumi-policy-aws's tests."""
from __future__ import annotations

from typing import Any, Mapping

import pytest
from google.protobuf import json_format, struct_pb2

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from tests.policies import POLICY_DIR  # noqa: F401  (puts the pack's folder on sys.path, as the pack runs)
from pack import POLICIES, keep_secret_markers

BY_NAME = {p.name: p for p in POLICIES}


def _opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def violations(policy_name: str, resources: list[tuple[str, str, Mapping[str, Any]]], config: Mapping[str, Any] | None = None) -> list[str]:
    """Run one policy over (type, name, props) resources as the engine would; return its messages."""
    policy = BY_NAME[policy_name]
    found: list[str] = []
    report = lambda message, urn=None: found.append(message)  # noqa: E731
    if isinstance(policy, StackValidationPolicy):
        resources_ = [PolicyResource(t, p, f"urn:pulumi:test::proxmox-ha::{t}::{n}", n, _opts(), None, None, [], {}) for t, n, p in resources]
        policy.validate(StackValidationArgs(resources_, config or {}), report)
    else:
        for t, n, p in resources:
            policy.validate(ResourceValidationArgs(t, p, f"urn:pulumi:test::proxmox-ha::{t}::{n}", n, _opts(), None, config or {}), report)
    return found


def as_engine_sends(props: dict):
    """Props through the pack's own deserialization path (what a validation receives from the engine)."""
    import pulumi_policy.policy as sdk
    from pulumi_policy.proxy import unknown_checking_proxy

    message = struct_pb2.Struct()
    message.update(props)
    return unknown_checking_proxy(sdk.deserialize_properties(json_format.MessageToDict(message)))


@pytest.fixture
def secret_markers():
    import pulumi_policy.policy as sdk

    original = sdk.deserialize_properties
    keep_secret_markers()
    yield
    sdk.deserialize_properties = original
