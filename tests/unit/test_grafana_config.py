"""`proxmox-ha:monitoring.grafana`: an http(s) URL without credentials, and the secret grafanaToken it needs."""
from __future__ import annotations

import pytest

from models import ConfigError, check_secrets, parse_stack_config, required_secrets


def _problems(sections: dict) -> list[str]:
    try:
        parse_stack_config(sections)
    except ConfigError as error:
        return [str(p) for p in error.problems]
    return []


@pytest.mark.parametrize("url", ["http://grafana.lan:3000", "https://grafana.example.com/", "https://10.0.0.5/grafana",
                                 "http://[fd00::5]:3000"])
def test_an_http_or_https_url_is_taken(homelab, url):
    homelab["monitoring"] = {"grafana": {"url": url}}
    assert _problems(homelab) == []
    assert parse_stack_config(homelab).monitoring.grafana.url == url


@pytest.mark.parametrize("url, rule", [
    ("ftp://grafana.lan", "http:// or https://"),
    ("grafana.lan:3000", "http:// or https://"),
    ("https://", "http:// or https://"),
    ("https://grafana.lan/ x", "http:// or https://"),
    ("https://grafana.lan:99999", "valid port"),
    ("https://admin:secret@grafana.lan", "credentials"),
    ("https://grafana.lan/?orgId=1", "no ?query"),
])
def test_a_bad_url_is_refused_naming_the_key(homelab, url, rule):
    homelab["monitoring"] = {"grafana": {"url": url}}
    (problem,) = _problems(homelab)
    assert problem.startswith("proxmox-ha:monitoring.grafana.url: ") and rule in problem


def test_grafana_needs_a_url_and_nothing_else(homelab):
    homelab["monitoring"] = {"grafana": {"url": "https://g", "token": "x"}}
    assert _problems(homelab) == ["proxmox-ha:monitoring.grafana.token: is not a known key "
                                  "(check its spelling; keys are camelCase)"]
    homelab["monitoring"] = {"grafana": {}}
    assert _problems(homelab) == ["proxmox-ha:monitoring.grafana.url: is required"]


def test_the_token_is_required_only_when_grafana_is_set_and_monitoring_on(homelab):
    assert required_secrets(parse_stack_config(homelab))["grafanaToken"] is False
    homelab["monitoring"] = {"grafana": {"url": "https://grafana.lan"}}
    assert required_secrets(parse_stack_config(homelab))["grafanaToken"] is True
    homelab["monitoring"]["enabled"] = False  # no Monitoring component, no dashboard to put anywhere
    assert required_secrets(parse_stack_config(homelab))["grafanaToken"] is False


def _token_problems(value: str | None) -> list[str]:
    try:
        check_secrets({"grafanaToken": True}, {"grafanaToken": value})
    except ConfigError as error:
        return [str(p) for p in error.problems]
    return []


def test_a_missing_token_is_named():
    assert _token_problems(None) == [
        "proxmox-ha:grafanaToken: is required; set it with `pulumi config set --secret proxmox-ha:grafanaToken ...`"]


@pytest.mark.parametrize("token, ok", [
    ("glsa_R2hKe0X1bB8cQvT3yqk9Zp4sLwD6fNmA_3c9a1b2f", True),
    ("eyJrIjoiT0tTcG1pUlY2RnVKZTFVaDFsNFZXdE9ZWmNrMkZYbk==", True),  # an older API key, not glsa_
    ("", False), ("  ", False), ("glsa_abc\n", False), ("glsa_abc\nsecond-line", False), ("glsa abc", False),
])
def test_the_token_must_be_one_word(token, ok):
    problems = _token_problems(token)
    assert (problems == []) is ok
    if not ok:
        assert problems[0].startswith("proxmox-ha:grafanaToken: is not a Grafana token")
