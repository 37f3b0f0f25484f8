"""The proxmoxve stand-in's Check against bpg v0.111.1's schema validators, as pulumi-terraform-bridge reports them.

Each table holds values bpg accepts and values it refuses, with the exact reason the bridge gives: no property,
`<Summary>. <Detail>. Examine values at '<name>.<path>'.` Go's semantics decide the corner cases (RE2's `$` and
`\\S`, strconv.Atoi, time.Parse(RFC3339)).
"""
from __future__ import annotations

import pytest

from lab.providers import proxmoxve as pve
from lab.providers import tfschema as tf
from lab.providers.grpc_plugin import UNKNOWN

GROUP_MSG = ("must start with a letter, end with a letter or number, be composed of letters, numbers, '-', '_' and "
             "'.', and must be at least 2 characters long")


def check(cls, inputs, name="res"):
    resource = cls({})
    resource.urn = f"urn:pulumi:lab::proxmox-ha::{cls.token}::{name}"
    checked, failures = resource.check(inputs)
    assert checked == inputs  # Check adds nothing: bpg's defaults are planned, not inputs
    assert all(prop == "" for prop, _ in failures), failures  # the bridge leaves Property empty
    return [reason for _, reason in failures]


def table(cls, base, rows, prop=None):
    """Each row (value, reasons) checked on `base` with `prop` set to the value (or the row's value merged in);
    the mismatches, all at once."""
    wrong = []
    for row in rows:
        *key, value, reasons = row
        changes = {key[0] if key else prop: value} if (key or prop) else value
        inputs = {k: v for k, v in {**base, **changes}.items() if v is not None}
        got = check(cls, inputs)
        if got != reasons:
            wrong.append((changes, got, reasons))
    return wrong


def match(path, detail, where):
    return f"Invalid Attribute Value Match. Attribute {path} {detail}. Examine values at 'res.{where}'."


GROUP = {"group": "critical", "nodes": {"pve1": 1.0}}


GROUP_ROWS = [
    ("critical", []), ("a.b", []), ("ab", []), ("A-b_c.9", []),
    ("critical_", [match("group", f"{GROUP_MSG}, got: critical_", "group")]),
    ("critical-", [match("group", f"{GROUP_MSG}, got: critical-", "group")]),
    ("a", [match("group", f"{GROUP_MSG}, got: a", "group")]),
    ("1ab", [match("group", f"{GROUP_MSG}, got: 1ab", "group")]),
    ("ab\n", [match("group", f"{GROUP_MSG}, got: ab\n", "group")]),  # Go's $ is the end of the text
]


def test_hagroup_group():
    assert table(pve.Hagroup, GROUP, GROUP_ROWS, "group") == []


LENGTH = "Invalid Attribute Value Length. Attribute comment UTF-8 character count must be at least 1, got: 0. " \
         "Examine values at 'res.comment'."


COMMENT_ROWS = [
    ("x", []), ("é", []), ("a b", []),
    ("\vx\v", []),           # Go's \s has no \v
    ("x\u00a0", []),         # nor any non-ASCII space
    ("", [LENGTH]),
    (" x", [match("comment", "must not start with whitespace, got:  x", "comment")]),
    ("x\n", [match("comment", "must not end with whitespace, got: x\n", "comment")]),
    ("\tx ", [match("comment", "must not start with whitespace, got: \tx ", "comment"),
              match("comment", "must not end with whitespace, got: \tx ", "comment")]),
]


def test_comment_of_every_ha_resource():
    bases = [(pve.Hagroup, GROUP), (pve.Haresource, {"resourceId": "vm:100"}),
             (pve.Harule, {"rule": "r1", "type": "node-affinity", "resources": ["vm:100"], "nodes": {"pve1": None}})]
    assert [(cls.__name__, table(cls, base, COMMENT_ROWS, "comment")) for cls, base in bases] == [
        (cls.__name__, []) for cls, _ in bases]


NODE_NAME = "must be a valid Proxmox node name"


NODES_ROWS = [
    ({"pve1": 0.0, "pve2": 1000.0, "pve3": None}, []), ({"1pve": 1.0, "PVE-a": 2.0}, []), ({"pve1": UNKNOWN}, []),
    ({}, ["Invalid Attribute Value. Attribute nodes map must contain at least 1 elements, got: 0. "
          "Examine values at 'res.nodes'."]),
    ({"pve_1": 1.0}, [match('nodes["pve_1"]', f"{NODE_NAME}, got: pve_1", "nodes.pve_1")]),
    ({"-pve": 1.0}, [match('nodes["-pve"]', f"{NODE_NAME}, got: -pve", 'nodes["-pve"]')]),
    ({"pve1": 1001.0}, ['Invalid Attribute Value. Attribute nodes["pve1"] value must be between 0 and 1000, got: 1001. '
                        "Examine values at 'res.nodes.pve1'."]),
    ({"pve1": -1.0}, ['Invalid Attribute Value. Attribute nodes["pve1"] value must be between 0 and 1000, got: -1. '
                      "Examine values at 'res.nodes.pve1'."]),
]


def test_hagroup_nodes():
    assert table(pve.Hagroup, GROUP, NODES_ROWS, "nodes") == []


RES_ID = "value must be a valid HA resource identifier"


RESOURCE_ID_ROWS = [
    ("vm:100", []), ("ct:999999999", []), ("vm:0100", []), ("vm:+100", []),  # strconv.Atoi takes a sign and zeros
    ("vm:99", [match("resource_id", f'{RES_ID}, got: "vm:99"', "resourceId")]),
    ("vm:1000000000", [match("resource_id", f'{RES_ID}, got: "vm:1000000000"', "resourceId")]),
    ("lxc:100", [match("resource_id", f'{RES_ID}, got: "lxc:100"', "resourceId")]),
    ("vm: 100", [match("resource_id", f'{RES_ID}, got: "vm: 100"', "resourceId")]),
    ("vm:１００", [match("resource_id", f'{RES_ID}, got: "vm:１００"', "resourceId")]),  # Atoi: ASCII digits only
    ("vm:1_000", [match("resource_id", f'{RES_ID}, got: "vm:1_000"', "resourceId")]),
    ("100", [match("resource_id", f'{RES_ID}, got: "100"', "resourceId")]),
    ("vm:100\n", [match("resource_id", f'{RES_ID}, got: "vm:100\\n"', "resourceId")]),  # the value is %q-quoted
]


def test_haresource_resource_id():
    assert table(pve.Haresource, {}, RESOURCE_ID_ROWS, "resourceId") == []


HARESOURCE_ROWS = [
    *[("state", s, []) for s in ("started", "enabled", "stopped", "disabled", "ignored")],
    ("state", "running", [match("state", 'value must be a valid HA resource state, got: "running"', "state")]),
    ("state", "Started", [match("state", 'value must be a valid HA resource state, got: "Started"', "state")]),
    ("type", "vm", []), ("type", "ct", []),
    ("type", "lxc", [match("type", 'value must be a valid HA resource type, got: "lxc"', "type")]),
    ("group", "a.b", []),
    ("group", "critical_", [match("group", f"{GROUP_MSG}, got: critical_", "group")]),
    ("maxRestart", 0.0, []), ("maxRestart", 10.0, []), ("maxRelocate", 10.0, []),
    ("maxRestart", 11.0, ["Invalid Attribute Value. Attribute max_restart value must be between 0 and 10, got: 11. "
                          "Examine values at 'res.maxRestart'."]),
    ("maxRelocate", -1.0, ["Invalid Attribute Value. Attribute max_relocate value must be between 0 and 10, got: -1. "
                           "Examine values at 'res.maxRelocate'."]),
    ("state", UNKNOWN, []), ("group", UNKNOWN, []),
]


def test_haresource_attributes():
    assert table(pve.Haresource, {"resourceId": "vm:100"}, HARESOURCE_ROWS) == []


NODE_RULE = {"rule": "prefer-pve1", "type": "node-affinity", "resources": ["vm:100"], "nodes": {"pve1": 2.0}}
RES_RULE = {"rule": "apart", "type": "resource-affinity", "resources": ["vm:100", "vm:101"], "affinity": "negative"}
RESOURCES = "must be in format type:id (e.g. vm:100, ct:101)"


def combination(summary, detail, where):
    return f"{summary}. {detail}.. Examine values at 'res.{where}'."  # bpg's detail ends in a full stop


HARULE_ROWS = [
    (NODE_RULE, {}, []), (RES_RULE, {}, []), (NODE_RULE, {"rule": "a.b", "strict": True, "disable": True}, []),
    (RES_RULE, {"strict": False}, []),
    (NODE_RULE, {"rule": "critical_"}, [match("rule", f"{GROUP_MSG}, got: critical_", "rule")]),
    (NODE_RULE, {"type": "foo"}, [match("type", 'value must be one of: ["node-affinity" "resource-affinity"], '
                                                'got: "foo"', "type")]),
    (RES_RULE, {"affinity": "both"}, [match("affinity", 'value must be one of: ["positive" "negative"], got: "both"',
                                            "affinity")]),
    (NODE_RULE, {"resources": ["vm:1", "ct:99999999999"]}, []),  # no minimum id here
    (NODE_RULE, {"resources": []}, ["Invalid Attribute Value. Attribute resources set must contain at least 1 "
                                    "elements, got: 0. Examine values at 'res.resources'."]),
    (NODE_RULE, {"resources": ["vm:100", "lxc:1"]},
     [match('resources[Value("lxc:1")]', f"{RESOURCES}, got: lxc:1", "resources")]),  # a set element adds nothing
    (NODE_RULE, {"resources": ["vm:100\n"]}, [match('resources[Value("vm:100\\n")]', f"{RESOURCES}, got: vm:100\n",
                                                    "resources")]),
    (NODE_RULE, {"nodes": {"pve_1": 1.0}}, [match('nodes["pve_1"]', f"{NODE_NAME}, got: pve_1", "nodes.pve_1")]),
    # ValidateConfig, per type
    (NODE_RULE, {"nodes": None}, [combination("Missing required attribute",
                                              'The `nodes` attribute is required when `type` is "node-affinity"', "nodes")]),
    (NODE_RULE, {"affinity": "positive"}, [combination(
        "Invalid attribute combination", 'The `affinity` attribute is only valid when `type` is "resource-affinity"',
        "affinity")]),
    (RES_RULE, {"affinity": None}, [combination(
        "Missing required attribute", 'The `affinity` attribute is required when `type` is "resource-affinity"',
        "affinity")]),
    (RES_RULE, {"nodes": {"pve1": 1.0}}, [combination(
        "Invalid attribute combination", 'The `nodes` attribute is only valid when `type` is "node-affinity"', "nodes")]),
    (RES_RULE, {"strict": True}, [combination(
        "Invalid Attribute Combination", 'The `strict` attribute is only valid when `type` is "node-affinity"', "strict")]),
    (RES_RULE, {"strict": UNKNOWN}, []),
    (RES_RULE, {"type": UNKNOWN, "nodes": {"pve1": 1.0}}, []),  # the type unknown: ValidateConfig waits
]


def test_harule():
    wrong = [(base, changes, got, reasons) for base, changes, reasons in HARULE_ROWS
             if (got := check(pve.Harule, {k: v for k, v in {**base, **changes}.items() if v is not None})) != reasons]
    assert wrong == []


TOKEN = {"userId": "monitoring@pve", "tokenName": "exporter"}
DATE = "must be a valid RFC3339 date"


TOKEN_ROWS = [
    ("tokenName", "exporter", []), ("tokenName", "1ab", []), ("tokenName", "!x-1", []),  # unanchored: any `[A-Za-z].+`
    ("tokenName", "a", [match("token_name", "must be a valid token identifier, got: a", "tokenName")]),
    ("tokenName", "1a", [match("token_name", "must be a valid token identifier, got: 1a", "tokenName")]),
    ("tokenName", "a!", [match("token_name", "must be a valid token identifier, got: a!", "tokenName")]),
    ("expirationDate", "2030-01-01T00:00:00Z", []), ("expirationDate", "2030-01-01T00:00:00.5+02:00", []),
    ("expirationDate", "2030-01-01T1:00:00Z", []),  # Go's general parser takes a one-digit hour
    ("expirationDate", "2030-01-01", [match("expiration_date", f'{DATE}, got: "2030-01-01"', "expirationDate")]),
    ("expirationDate", "2030-02-30T00:00:00Z", [match("expiration_date", f'{DATE}, got: "2030-02-30T00:00:00Z"',
                                                      "expirationDate")]),
    ("expirationDate", "2030-01-01t00:00:00z", [match("expiration_date", f'{DATE}, got: "2030-01-01t00:00:00z"',
                                                      "expirationDate")]),
]


def test_token():
    assert table(pve.Token, TOKEN, TOKEN_ROWS) == []


ACL = {"path": "/", "roleId": "PVEAuditor"}
CONFLICT = "Invalid Attribute Combination. These attributes cannot be configured together: [group_id,token_id,user_id]. " \
           "Examine values at 'res.{}'."


ACL_ROWS = [
    ({"userId": "u@pve"}, []), ({"groupId": "g"}, []), ({"tokenId": "u@pve!t"}, []),
    ({}, []),  # bpg checks no minimum (PVE refuses the call)
    ({"userId": "u@pve", "tokenId": UNKNOWN}, []),  # unknown does not count
    ({"userId": "u@pve", "tokenId": "u@pve!t"}, [CONFLICT.format("tokenId")]),
    ({"userId": "u@pve", "groupId": "g"}, [CONFLICT.format("groupId")]),
    ({"userId": "u@pve", "groupId": ""}, [CONFLICT.format("groupId")]),  # empty is configured
    ({"userId": "u@pve", "groupId": "g", "tokenId": "u@pve!t"}, [CONFLICT.format("groupId")]),
]


def test_acl_entities():
    assert table(pve.Acl, ACL, ACL_ROWS) == []


def test_the_reason_names_the_resource_and_unmodelled_inputs_keep_their_property():
    resource = pve.Hagroup({})
    resource.urn = "urn:pulumi:lab::proxmox-ha::proxmox-ha:index:HighAvailability$proxmoxve:index/hagroup:Hagroup::ha-critical_"
    _, failures = resource.check({"group": "critical_", "nodes": {"pve1": 1.0}, "maxWorkers": 1.0})
    assert failures == [
        ("maxWorkers", "the lab's stand-in proxmoxve provider does not model 'maxWorkers' of proxmoxve:index/hagroup:Hagroup"),
        ("", f"Invalid Attribute Value Match. Attribute group {GROUP_MSG}, got: critical_. "
             "Examine values at 'ha-critical_.group'."),
    ]


@pytest.mark.parametrize("text, seconds", [
    ("1970-01-01T00:00:00Z", 0), ("2030-01-01T00:00:00Z", 1893456000), ("2030-01-01T02:00:00+02:00", 1893456000),
    ("2030-01-01T00:00:00.999Z", 1893456000), ("2030-01-01T00:00:00,5Z", 1893456000), ("2024-02-29T00:00:00Z", 1709164800),
    ("2023-02-29T00:00:00Z", None), ("2030-01-01T00:00:00+24:00", 1893369600), ("2030-01-01T00:00:00+25:00", None),
    ("2030-01-01T24:00:00Z", None), ("2030-01-01T00:00:00", None), ("2030-01-01T00:00:00Z\n", None),
])
def test_rfc3339_is_gos(text, seconds):
    assert tf.parse_rfc3339(text) == seconds
    if seconds is not None and text.endswith("00:00:00Z") and "." not in text:
        assert tf.format_rfc3339_utc(seconds) == text


@pytest.mark.parametrize("endpoint, parsed", [
    ("https://pve1:8006/", ("https", "pve1:8006")), ("https://[::1]:8006", ("https", "[::1]:8006")),
    ("http://pve1", ("http", "pve1")), ("https:pve1", ("https", "")), ("*", ("", "")),
    ("pve1:8006", ("pve1", "")),  # a scheme of `pve1`, opaque: then not https
    ("//pve1/", ("", "")),  # a path: no host, no scheme
    ("", None), ("pve1", None), ("https://pve 1/", None), ("https://pve1:80a/", None),
    ("https://pve1:1:2/", None), ("https://[127.0.0.1]/", None), ("https://pve1/%zz", None), ("https://pve1/\n", None),
])
def test_request_uri_is_gos(endpoint, parsed):
    assert tf.parse_request_uri(endpoint) == parsed


@pytest.mark.parametrize("pattern, text, matches", [
    (r"^[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]$", "ab", True), (r"^[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]$", "ab\n", False),
    (r"^\S|^$", "\vab", True), (r"^\S|^$", "\tab", False), (r"\S$|^$", "ab\u00a0", True), (r"\S$|^$", "", True),
    (r"^(vm|ct):\d+$", "vm:1", True), (r"^(vm|ct):\d+$", "vm:１００", False),
    (r"[A-Za-z][A-Za-z0-9.\-_]+", "1ab", True), (r"[A-Za-z][A-Za-z0-9.\-_]+", "1a", False),
    (r"^\S+@\S+!\S+=([a-zA-Z0-9-]+)$", "root@pam!t=abc-123", True),
    (r"^\S+@\S+!\S+=([a-zA-Z0-9-]+)$", "root@pam!t=abc-123\n", False),
    (r"^\S+@\S+!\S+=([a-zA-Z0-9-]+)$", "root@pam!t\v=abc", True),
])
def test_regexes_match_as_re2(pattern, text, matches):
    assert tf.go_match(tf.go_regex(pattern), text) is matches


@pytest.mark.parametrize("text, value", [
    ("100", 100), ("+100", 100), ("0100", 100), ("-5", -5), ("1_000", None), ("１００", None), (" 100", None), ("", None),
    ("+", None), ("9223372036854775807", 9223372036854775807), ("9223372036854775808", None),
])
def test_atoi_is_gos(text, value):
    assert tf.go_atoi(text) == value


@pytest.mark.parametrize("text, quoted", [
    ("vm:99", '"vm:99"'), ('a"b\\c', '"a\\"b\\\\c"'), ("a\nb\t", '"a\\nb\\t"'), ("\x00\x7f", '"\\x00\\x7f"'),
    ("é", '"é"'), ("\u00a0\u200b", '"\\u00a0\\u200b"'), ("\U000e0001", '"\\U000e0001"'),
])
def test_quote_is_gos(text, quoted):
    assert tf.go_quote(text) == quoted
