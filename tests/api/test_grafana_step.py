"""The grafana-dashboard step, run for real under bash against the Grafana stand-in, the token on stdin as Host.run
sends it; a `curl` on PATH that logs its argv shows the token is in no command line."""
from __future__ import annotations

import copy
import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from components.connection import _bash
from lab.grafana import GrafanaStandIn
from remote.grafana_steps import MARKER, grafana_dashboard, prepared

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = json.loads((ROOT / "monitoring" / "grafana" / "proxmox-ha.json").read_text())


@pytest.fixture
def grafana():
    with GrafanaStandIn() as g:
        yield g


@pytest.fixture
def curl_log(tmp_path, monkeypatch):
    """A curl wrapper first on PATH: it appends its argv (NUL-separated, one call a line) to the log."""
    real, log, bin_dir = shutil.which("curl"), tmp_path / "curl-argv", tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "curl"
    wrapper.write_text(f"#!/bin/bash\nprintf '%s\\0' \"$@\" >> {shlex.quote(str(log))}\necho >> {shlex.quote(str(log))}\n"
                       f"exec {shlex.quote(real)} \"$@\"\n")
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return log


def run(step, token: str) -> subprocess.CompletedProcess:
    # Host.run: `bash -c SCRIPT` with the secrets as stdin, one line each.
    return subprocess.run(shlex.split(_bash(step.script())), input=f"{token}\n", capture_output=True, text=True,
                          timeout=60)


def test_creates_then_skips_then_updates(grafana, curl_log):
    step = grafana_dashboard("pve1", grafana.url, DASHBOARD)
    first = run(step, grafana.token)
    assert first.returncode == 0, first.stderr
    assert "grafana-dashboard on pve1: done" in first.stderr
    (post,) = grafana.posts()
    sent = json.loads(post.body)
    assert sent["overwrite"] is True and sent["message"] == "proxmox-ha"
    assert sent["dashboard"]["id"] is None and sent["dashboard"]["uid"] == "proxmox-ha" and "version" not in sent["dashboard"]
    stored = grafana.dashboards["proxmox-ha"]["dashboard"]
    assert stored["version"] == 1 and stored["panels"] == DASHBOARD["panels"]

    again = run(step, grafana.token)
    assert again.returncode == 0, again.stderr
    assert "already done, skipped" in again.stderr and len(grafana.posts()) == 1

    changed = copy.deepcopy(DASHBOARD)
    changed["panels"][1]["title"] = "Quorum"
    update = run(grafana_dashboard("pve1", grafana.url + "/", changed), grafana.token)
    assert update.returncode == 0, update.stderr
    assert len(grafana.posts()) == 2 and grafana.dashboards["proxmox-ha"]["dashboard"]["version"] == 2
    assert grafana.dashboards["proxmox-ha"]["dashboard"]["panels"][1]["title"] == "Quorum"


def test_a_wrong_token_fails_naming_401_and_posts_nothing(grafana, curl_log):
    result = run(grafana_dashboard("pve1", grafana.url, DASHBOARD), "glsa_wrong")
    assert result.returncode != 0
    assert ("step 'grafana-dashboard' failed on node pve1: Grafana answered GET /api/dashboards/uid/proxmox-ha "
            "with HTTP 401: Unauthorized") in result.stderr
    assert grafana.posts() == []


def test_a_read_only_token_fails_naming_403_and_grafanas_message(grafana, curl_log):
    result = run(grafana_dashboard("pve1", grafana.url, DASHBOARD), grafana.viewer_token)
    assert result.returncode != 0
    assert "Grafana answered POST /api/dashboards/db with HTTP 403: Access denied to save dashboard" in result.stderr


def test_the_token_is_in_no_argv_and_only_in_the_authorization_header(grafana, curl_log):
    step = grafana_dashboard("pve1", grafana.url, DASHBOARD)
    assert grafana.token not in step.script()
    for _ in range(2):
        assert run(step, grafana.token).returncode == 0
    calls = curl_log.read_bytes().split(b"\n")[:-1]
    assert len(calls) == 4  # GET, POST, GET (verify); then GET (skipped)
    assert all(grafana.token.encode() not in argv for argv in calls)
    assert all(b"-H\0@/dev/fd/" in argv for argv in calls)
    assert grafana.leaks(grafana.token) == []
    assert all(dict(r.headers)["Authorization"] == f"Bearer {grafana.token}" for r in grafana.requests)


def test_an_unreachable_grafana_fails_naming_it(curl_log):
    with GrafanaStandIn() as g:
        url = g.url
    result = run(grafana_dashboard("pve1", url, DASHBOARD), "glsa_x")
    assert result.returncode != 0
    assert f"cannot reach Grafana: curl GET {url}/api/dashboards/uid/proxmox-ha exited with status 7" in result.stderr


def test_a_same_titled_dashboard_taken_over_by_grafana_fails_the_step(grafana, curl_log):
    grafana.save(json.dumps({"dashboard": {"title": DASHBOARD["title"], "uid": "made-by-hand"}}).encode(), "editor")
    result = run(grafana_dashboard("pve1", grafana.url, DASHBOARD), grafana.token)
    assert result.returncode != 0
    assert "Grafana saved the dashboard under another uid than proxmox-ha" in result.stderr


def test_what_is_posted_carries_a_tag_of_its_content():
    body = prepared(DASHBOARD)
    tag = body["tags"][-1]
    assert tag.startswith(MARKER) and len(tag) <= 50  # Grafana's dashboard_tag.term is 50 characters
    assert body["tags"][:-1] == DASHBOARD["tags"] and body["id"] is None and "version" not in body
    assert prepared({**DASHBOARD, "version": 9, "id": 3, "tags": body["tags"]}) == body  # an exported copy: same
    assert prepared({**DASHBOARD, "refresh": "5m"})["tags"][-1] != tag


@pytest.mark.parametrize("url", ["ftp://g", "https://u:p@g", "g:3000", "https://g/?x=1"])
def test_a_bad_url_is_refused_when_the_step_is_built(url):
    with pytest.raises(ValueError, match="Grafana URL"):
        grafana_dashboard("pve1", url, DASHBOARD)


@pytest.mark.parametrize("change, rule", [({"uid": None}, "uid"), ({"uid": "a/b"}, "uid"), ({"uid": "u" * 41}, "uid"),
                                          ({"title": " "}, "no title")])
def test_a_dashboard_grafana_would_refuse_or_the_step_cannot_find_is_refused(change, rule):
    with pytest.raises(ValueError, match=rule):
        grafana_dashboard("pve1", "https://g", {**DASHBOARD, **change})


def test_a_dashboard_too_large_for_one_command_is_refused():
    with pytest.raises(ValueError, match="too large"):
        grafana_dashboard("pve1", "https://g", {**DASHBOARD, "description": "x" * 130_000})
