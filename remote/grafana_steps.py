"""The Grafana dashboard, put in place through Grafana's HTTP API by curl on the host the step runs on.

Grafana's documented API (grafana/grafana docs/sources/developers/http_api/dashboard.md and authentication.md,
https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/):
- GET /api/dashboards/uid/:uid answers 200 {dashboard, meta}, or 404 when there is none;
- POST /api/dashboards/db {dashboard (id null: new or found by uid), overwrite, message} answers 200
  {id, uid, url, status, version, slug}, or 400/401/403/412 with a JSON body whose `message` says why;
- every call carries `Authorization: Bearer <service account token>`.

Already done? The posted dashboard carries a tag `proxmox-ha:` + 32 hex digits of the SHA-256 of its content; the
check fetches the dashboard by uid and looks for that tag. Comparing the JSON itself would need a JSON parser on the
host (a Grafana host need not have python3 or jq), as Grafana answers it re-encoded and with fields of its own (id,
version). A tag is a documented field Grafana keeps as given; its column holds 50 characters
(pkg/services/sqlstore/migrations/dashboard_mig.go), hence 128 bits of digest. The cost: an edit in Grafana's UI
keeps the tag, so it stays until the file changes. An update names no folder, so Grafana puts the dashboard back
at the root level (dashboard.md).
"""
from __future__ import annotations

import hashlib
import json
import re
import shlex

from models.formats import http_url

from .step import Step

MARKER = "proxmox-ha:"
SECRETS = ("GRAFANA_TOKEN",)
# The script reaches the host as one argument of `bash -c`; Linux caps one argument at 128 KiB (MAX_ARG_STRLEN).
MAX_SCRIPT = 120_000
_UID = re.compile(r"[a-zA-Z0-9_-]{1,40}")  # Grafana's uid: at most 40 of these (dashboard.md; util.IsValidShortUID)

# curl gets the token from a file descriptor (-H @FILE, curl >= 7.55) filled by printf, a bash builtin: the token is
# in no process's argv. --globoff: [ ] { } in a URL (an IPv6 address) are not curl's glob patterns.
_HELPERS = r"""grafana() {
  local out
  out=$(printf '%s' "${3-}" | curl -sS --globoff --connect-timeout 10 --max-time 60 -X "$1" \
    -H @<(printf 'Authorization: Bearer %s\n' "$GRAFANA_TOKEN") -H 'Accept: application/json' \
    -H 'Content-Type: application/json' ${3:+--data-binary @-} -w '\n%{http_code}' "$grafana_url$2") \
    || fail "cannot reach Grafana: curl $1 $grafana_url$2 exited with status $?"
  code=${out##*$'\n'} answer=${out%$'\n'*}
}
refused() {
  local message
  message=$(sed -n 's/.*"message"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$answer")
  fail "Grafana answered $1 with HTTP $code: ${message:-${answer:0:300}}"
}"""


def prepared(dashboard: dict) -> dict:
    """What is posted: id null (new, or the one of this uid), no version (overwrite), and the content's tag."""
    title, uid = dashboard.get("title"), dashboard.get("uid")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("the Grafana dashboard has no title (Grafana refuses it)")
    if not isinstance(uid, str) or not _UID.fullmatch(uid):
        raise ValueError(f"the Grafana dashboard's uid {uid!r} must be 1-40 letters, digits, '-' or '_': "
                         "the step finds it again by uid")
    tags = [t for t in dashboard.get("tags") or [] if not str(t).startswith(MARKER)]  # an exported copy's old tag
    body = {k: v for k, v in dashboard.items() if k not in ("id", "version")} | {"id": None, "tags": tags}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return body | {"tags": tags + [f"{MARKER}{digest[:32]}"]}


def grafana_dashboard(node: str, url: str, dashboard: dict) -> Step:
    """Create or update `dashboard` (it must have a uid) in the Grafana at `url`; stdin carries one line, the token."""
    if (problem := http_url(url)):
        raise ValueError(f"Grafana URL {url!r} {problem}")
    posted = prepared(dashboard)
    uid, tag = posted["uid"], posted["tags"][-1]
    get = f"/api/dashboards/uid/{uid}"
    setup = f"grafana_url={shlex.quote(url.rstrip('/'))}\n{_HELPERS}\n"
    check = (
        f"{setup}grafana GET {get}\n"
        f"case $code in\n"
        f"200) has -F {shlex.quote(json.dumps(tag))} <<<\"$answer\" ;;\n"
        f"404) false ;;\n"
        f"*) refused 'GET {get}' ;;\n"
        f"esac"
    )
    body = json.dumps({"dashboard": posted, "overwrite": True, "message": "proxmox-ha"}, separators=(",", ":"))
    act = (  # the check, which always runs first, defined the helpers
        f"grafana POST /api/dashboards/db {shlex.quote(body)}\n"
        f"[ \"$code\" = 200 ] || refused 'POST /api/dashboards/db'\n"
        # Grafana takes over a same-titled dashboard in the folder, keeping its uid (dashboard.md, Grafana 8).
        f"has -E '\"uid\"[[:space:]]*:[[:space:]]*\"{uid}\"' <<<\"$answer\" || fail \"Grafana saved the dashboard under "
        f"another uid than {uid} (it answered $answer): another dashboard titled like it is in the way; rename or delete it\""
    )
    step = Step(name="grafana-dashboard", node=node, check=check, act=act, verify=check, secrets=SECRETS)
    if len(shlex.quote(step.script()).encode()) > MAX_SCRIPT:
        raise ValueError(f"the Grafana dashboard {uid} is too large for one remote command ({MAX_SCRIPT} bytes at most)")
    return step
