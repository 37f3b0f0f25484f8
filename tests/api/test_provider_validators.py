"""Go's semantics as the proxmoxve stand-in needs them (lab/providers/tfschema.py), checked against what Go 1.26 returns.

bpg's verdicts hang on them: RE2's `$` and `\\S`, strconv.Atoi, time.Parse(RFC3339), url.ParseRequestURI.
"""
from __future__ import annotations

import pytest

from lab.providers import tfschema as tf


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
