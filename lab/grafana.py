"""A stand-in for Grafana's dashboard HTTP API on 127.0.0.1, for the tests of the grafana-dashboard step. Stdlib only.

It refuses what Grafana refuses, with Grafana's status and body. Sources, cited by letter below:
  [D]  Dashboard HTTP API: docs/sources/developers/http_api/dashboard.md (grafana/grafana),
       https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/
  [D8] the same page as of Grafana 8 (docs/sources/http_api/dashboard.md): `overwrite` also takes over a dashboard
       with the same title in the folder; without it, that is 412 `name-exists`
  [A]  Authentication: docs/sources/developers/http_api/authentication.md (`Authorization: Bearer <token>`)
  [H]  Health API: docs/sources/developers/http_api/other.md (`GET /api/health`, no auth in the example)
  [E]  pkg/services/dashboards/errors.go: the `message` (and `status`) of each typed dashboard error
  [S]  pkg/services/dashboards/database/database.go getExistingDashboardByIDOrUIDForUpdate and saveDashboard
  [B]  pkg/api/dashboard.go and pkg/web/binding.go: a body that does not decode is 400 "bad request data"
"""
from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UID = re.compile(r"[a-zA-Z0-9_-]*")  # [E] "uid contains illegal characters" (util.IsValidShortUID)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


class Refused(Exception):
    def __init__(self, code: int, message: str, status: str | None = None):
        super().__init__(message)
        # [E] DashboardErr.Body(): {"status", "message"} when the error has a status, else {"message"} alone.
        self.code, self.body = code, ({"status": status, "message": message} if status else {"message": message})


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


class GrafanaStandIn:
    """`token` may save dashboards; `viewer_token` may only read them (403 on save [D])."""

    def __init__(self, token: str | None = None, viewer_token: str | None = None, folders: tuple[str, ...] = ()):
        self.token = token or f"glsa_{secrets.token_urlsafe(24)}"
        self.viewer_token = viewer_token or f"glsa_{secrets.token_urlsafe(24)}"
        self.folders = set(folders)
        self.dashboards: dict[str, dict] = {}  # uid -> {"dashboard", "folderUid"}
        self.requests: list[Request] = []
        self._ids = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "GrafanaStandIn":
        standin = self

        class Handler(_Handler):
            grafana = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll: stop() returns within it, which keeps the tests quick.
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "GrafanaStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def posts(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST"]

    def leaks(self, secret: str) -> list[str]:
        """Where `secret` went other than the Authorization header: paths, other headers, bodies."""
        found = []
        for r in self.requests:
            found += [f"{r.method} path"] if secret in r.path else []
            found += [f"{r.method} header {k}" for k, v in r.headers if secret in v and k.lower() != "authorization"]
            found += [f"{r.method} body"] if secret.encode() in r.body else []
        return found

    # ------------------------------------------------------------ the API
    def role(self, authorization: str | None) -> str:
        # [A] `Authorization: Bearer <token>`; anything else is 401 [D].
        if authorization == f"Bearer {self.token}":
            return "editor"
        if authorization == f"Bearer {self.viewer_token}":
            return "viewer"
        raise Refused(401, "Unauthorized")

    def get(self, uid: str) -> dict:
        with self._lock:
            if uid not in self.dashboards:
                raise Refused(404, "Dashboard not found", "not-found")  # [D] 404, [E] ErrDashboardNotFound
            stored = self.dashboards[uid]
            dash = stored["dashboard"]
            return {"dashboard": dash, "meta": {  # [D] example response
                "isStarred": False, "url": f"/d/{uid}/{slug(dash['title'])}", "folderId": 0,
                "folderUid": stored["folderUid"], "slug": slug(dash["title"]), "version": dash["version"]}}

    def save(self, body: bytes, role: str) -> dict:
        try:
            cmd = json.loads(body)
        except ValueError:
            raise Refused(400, "bad request data") from None  # [B], [D] 400 "invalid json"
        # [B]: Go's decoder refuses a command field of the wrong type (null is its zero value) ...
        cmd = {} if cmd is None else cmd
        if not isinstance(cmd, dict) or not all(cmd.get(k) is None or isinstance(cmd[k], kind) for k, kind in
                                                (("overwrite", bool), ("message", str), ("folderUid", str))):
            raise Refused(400, "bad request data")
        # ... but the dashboard is free JSON read with defaults (simplejson MustString, MustInt64): a title, uid or
        # id of another type reads as "" or 0.
        dash = dict(cmd["dashboard"]) if isinstance(cmd.get("dashboard"), dict) else {}
        overwrite, folder = bool(cmd.get("overwrite")), cmd.get("folderUid") or ""
        title, uid = (v if isinstance(v := dash.get(k), str) else "" for k in ("title", "uid"))
        # [D] 400 "missing or invalid fields"; the texts are [E]'s.
        if not title.strip():
            raise Refused(400, "Dashboard title cannot be empty", "empty-name")
        if len(title) > 5000:
            raise Refused(400, "Dashboard title cannot contain more than 5 000 characters", "title-too-long")
        if not UID.fullmatch(uid):
            raise Refused(400, "uid contains illegal characters")
        if len(uid) > 40:
            raise Refused(400, "uid too long, max 40 characters")  # [D] "maximum length of 40 characters"
        if len(cmd.get("message") or "") > 500:
            raise Refused(400, "message too long, max 500 characters")
        if folder and folder not in self.folders:
            raise Refused(400, "folder not found")  # [E] ErrFolderNotFound, answered as 400
        dash_id = _int(dash.get("id"))
        with self._lock:
            existing = self._existing(dash, dash_id, uid, folder, title, overwrite)
            if role != "editor":
                raise Refused(403, "Access denied to save dashboard")  # [D] 403, [E] ErrDashboardUpdateAccessDenied
            if existing is None:
                self._ids += 1
                dash.update(id=self._ids, uid=uid or secrets.token_hex(7), version=1)
            else:  # [S] the update gets the stored id and uid, and the next version
                dash.update(id=existing["id"], uid=existing["uid"], version=existing["version"] + 1)
                del self.dashboards[existing["uid"]]
            self.dashboards[dash["uid"]] = {"dashboard": dash, "folderUid": folder}
        return {"id": dash["id"], "uid": dash["uid"], "url": f"/d/{dash['uid']}/{slug(title)}", "status": "success",
                "version": dash["version"], "slug": slug(title)}  # [D] example response

    def _existing(self, dash: dict, dash_id: int, uid: str, folder: str, title: str, overwrite: bool) -> dict | None:
        stored = [s["dashboard"] for s in self.dashboards.values()]
        by_id = next((d for d in stored if d["id"] == dash_id), None) if dash_id else None
        if dash_id and by_id is None:
            raise Refused(404, "Dashboard not found", "not-found")  # [S]: an id must name a stored dashboard; null is new [D]
        by_uid = self.dashboards.get(uid, {}).get("dashboard") if uid else None
        if by_id and by_uid and by_id["id"] != by_uid["id"]:
            raise Refused(400, "A dashboard with the same uid already exists")  # [S], [E] ErrDashboardWithSameUIDExists
        existing = by_id or by_uid
        if existing is not None and _int(dash.get("version")) != existing["version"] and not overwrite:
            raise Refused(412, "The dashboard has been changed by someone else", "version-mismatch")  # [D], [S]
        # [D8]: another dashboard of the same title in the folder is refused without overwrite; with it, a new
        # dashboard takes that one over (its id and uid).
        same = next((s["dashboard"] for s in self.dashboards.values() if s["folderUid"] == folder
                     and slug(s["dashboard"]["title"]) == slug(title) and s["dashboard"] is not existing), None)
        if same is not None and not overwrite:
            raise Refused(412, "A dashboard with the same name in the folder already exists", "name-exists")
        return existing if existing is not None else same

class _Handler(BaseHTTPRequestHandler):
    grafana: GrafanaStandIn
    server_version = "Grafana-stand-in"

    def log_message(self, fmt, *args):  # quiet: the tests read `requests`
        pass

    def _record(self) -> Request:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = Request(self.command, self.path, tuple(self.headers.items()), body)
        self.grafana.requests.append(request)
        return request

    def _reply(self, code: int, data: dict) -> None:
        body = json.dumps(data, separators=(",", ":")).encode()  # compact, as Go's encoder writes it
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self, answer) -> None:
        try:
            self._reply(200, answer())
        except Refused as refused:
            self._reply(refused.code, refused.body)

    def do_GET(self):
        self._record()
        path = self.path.split("?")[0]
        g = self.grafana
        if path == "/api/health":  # [H]
            return self._reply(200, {"commit": "stand-in", "database": "ok", "version": "stand-in"})
        if path.startswith("/api/dashboards/uid/"):
            uid = path.removeprefix("/api/dashboards/uid/")
            return self._serve(lambda: (g.role(self.headers.get("Authorization")), g.get(uid))[1])
        self._reply(404, {"message": "Not found"})

    def do_POST(self):
        request = self._record()
        g = self.grafana
        if request.path.split("?")[0] != "/api/dashboards/db":
            return self._reply(404, {"message": "Not found"})
        self._serve(lambda: g.save(request.body, g.role(self.headers.get("Authorization"))))
