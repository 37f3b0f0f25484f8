"""The Grafana stand-in (lab/grafana.py) answers and refuses as Grafana's dashboard API documents; see its docstring."""
from __future__ import annotations

import ast
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lab.grafana import GrafanaStandIn

DASH = {"id": None, "uid": "proxmox-ha", "title": "Proxmox HA cluster", "tags": ["proxmox"]}


@pytest.fixture
def grafana():
    with GrafanaStandIn(folders=("ops",)) as g:
        yield g


def call(g: GrafanaStandIn, method: str, path: str, body=None, token: str | None = "editor", raw: bytes | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {g.token if token == 'editor' else g.viewer_token if token == 'viewer' else token}"
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(g.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def save(g, dashboard=DASH, token="editor", **fields):
    return call(g, "POST", "/api/dashboards/db", {"dashboard": dashboard, **fields}, token)


def test_health_answers_without_a_token(grafana):
    code, body = call(grafana, "GET", "/api/health", token=None)
    assert code == 200 and body["database"] == "ok"


def test_a_new_dashboard_is_saved_and_read_back_by_uid(grafana):
    code, body = save(grafana, message="proxmox-ha")
    assert code == 200
    assert body == {"id": 1, "uid": "proxmox-ha", "url": "/d/proxmox-ha/proxmox-ha-cluster", "status": "success",
                    "version": 1, "slug": "proxmox-ha-cluster"}
    code, got = call(grafana, "GET", "/api/dashboards/uid/proxmox-ha")
    assert code == 200 and got["dashboard"] == {**DASH, "id": 1, "version": 1}
    assert got["meta"]["url"] == "/d/proxmox-ha/proxmox-ha-cluster" and got["meta"]["folderUid"] == ""


def test_overwrite_updates_the_dashboard_of_that_uid_with_the_next_version(grafana):
    save(grafana)
    code, body = save(grafana, {**DASH, "title": "Renamed"}, overwrite=True)
    assert (code, body["id"], body["uid"], body["version"]) == (200, 1, "proxmox-ha", 2)
    assert call(grafana, "GET", "/api/dashboards/uid/proxmox-ha")[1]["dashboard"]["title"] == "Renamed"


def test_without_overwrite_an_update_must_name_the_stored_version(grafana):
    save(grafana)
    assert save(grafana, {**DASH, "version": 1})[1]["version"] == 2
    assert save(grafana, {**DASH, "version": 1}) == (
        412, {"status": "version-mismatch", "message": "The dashboard has been changed by someone else"})


def test_a_same_title_in_the_folder_is_refused_without_overwrite_and_taken_over_with_it(grafana):
    save(grafana, {**DASH, "uid": "other"})
    assert save(grafana) == (
        412, {"status": "name-exists", "message": "A dashboard with the same name in the folder already exists"})
    code, body = save(grafana, overwrite=True)
    assert (code, body["uid"], body["version"]) == (200, "other", 2)  # Grafana 8's docs: it keeps the old uid
    assert save(grafana, {**DASH, "uid": "in-ops"}, folderUid="ops")[0] == 200  # another folder: no clash


@pytest.mark.parametrize("token", [None, "wrong", "glsa_not-this-one"])
@pytest.mark.parametrize("method, path", [("GET", "/api/dashboards/uid/proxmox-ha"), ("POST", "/api/dashboards/db")])
def test_no_or_a_wrong_token_is_401(grafana, token, method, path):
    assert call(grafana, method, path, {"dashboard": DASH} if method == "POST" else None, token) == (
        401, {"message": "Unauthorized"})
    assert not grafana.dashboards


def test_a_basic_or_raw_authorization_is_401(grafana):
    for header in (grafana.token, f"Basic {grafana.token}", f"bearer  {grafana.token}"):
        req = urllib.request.Request(grafana.url + "/api/dashboards/uid/x", headers={"Authorization": header})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(req, timeout=10)
        assert caught.value.code == 401


def test_a_read_only_token_reads_but_may_not_save(grafana):
    save(grafana)
    assert call(grafana, "GET", "/api/dashboards/uid/proxmox-ha", token="viewer")[0] == 200
    assert save(grafana, token="viewer", overwrite=True) == (403, {"message": "Access denied to save dashboard"})


EMPTY_TITLE = (400, {"status": "empty-name", "message": "Dashboard title cannot be empty"})


BAD = [
    (b"{not json", (400, {"message": "bad request data"})),
    (b'[]', (400, {"message": "bad request data"})),
    (b'{"dashboard": {"title": "t"}, "message": 0}', (400, {"message": "bad request data"})),
    (b'{"dashboard": {"title": "t"}, "overwrite": 0}', (400, {"message": "bad request data"})),
    (b'{"dashboard": {"title": "t"}, "overwrite": "yes"}', (400, {"message": "bad request data"})),
    (b"{}", EMPTY_TITLE),
    (b'{"dashboard": "text"}', EMPTY_TITLE),
    (b'{"dashboard": {"title": 5}}', EMPTY_TITLE),
    (b'{"dashboard": {"uid": "x"}}', EMPTY_TITLE),
    (b'{"dashboard": {"title": "  "}}', EMPTY_TITLE),
    (b'{"dashboard": {"title": "t", "uid": "a/b"}}', (400, {"message": "uid contains illegal characters"})),
    (json.dumps({"dashboard": {"title": "t", "uid": "u" * 41}}).encode(), (400, {"message": "uid too long, max 40 characters"})),
    (json.dumps({"dashboard": {"title": "t"}, "message": "m" * 501}).encode(),
     (400, {"message": "message too long, max 500 characters"})),
    (b'{"dashboard": {"title": "t"}, "folderUid": "nope"}', (400, {"message": "folder not found"})),
    (b'{"dashboard": {"title": "t", "id": 7}}', (404, {"status": "not-found", "message": "Dashboard not found"})),
]


@pytest.mark.parametrize("body, answer", BAD, ids=[f"{a[0]}-{a[1]['message']}-{i}" for i, (_, a) in enumerate(BAD)])
def test_bad_requests_are_refused_as_grafana_documents(grafana, body, answer):
    assert call(grafana, "POST", "/api/dashboards/db", raw=body) == answer
    assert not grafana.dashboards


def test_an_unknown_uid_is_404(grafana):
    assert call(grafana, "GET", "/api/dashboards/uid/nothing") == (
        404, {"status": "not-found", "message": "Dashboard not found"})


def test_requests_are_recorded_and_a_token_outside_authorization_is_a_leak(grafana):
    save(grafana)
    assert [(r.method, r.path) for r in grafana.requests] == [("POST", "/api/dashboards/db")]
    assert grafana.leaks(grafana.token) == []
    save(grafana, {**DASH, "description": grafana.token}, overwrite=True)
    call(grafana, "GET", f"/api/dashboards/uid/proxmox-ha?t={grafana.token}")
    assert grafana.leaks(grafana.token) == ["POST body", "GET path"]


def test_the_stand_in_imports_only_the_standard_library():
    tree = ast.parse((Path(__file__).resolve().parents[2] / "lab" / "grafana.py").read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {name.split(".")[0] for name in names} <= set(sys.stdlib_module_names) | {"__future__"}
