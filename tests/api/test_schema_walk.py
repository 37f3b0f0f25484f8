"""The lab API validates by PVE's published API schema: every served endpoint, on PVE 8 and PVE 9.

The committed extract (lab/api/pve-schema/) is PVE's schema (checked against PVE's published schema, ../shared/pve-api,
where this machine has it); each endpoint accepts exactly the schema's parameters, requires exactly its required ones and
refuses anything else with PVE's 400 "Parameter verification failed.".
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from lab.api import extract_schema as X
from lab.api import formats as F
from lab.api import schema as SC

REPO = Path(__file__).resolve().parents[2]
# PVE's published schema is reference data outside the repo: PROXMOX_HA_PVE_API names it (then it must be there);
# else the shared folder beside the checkout (../shared, as for /work/main and its worktrees), else where these
# machines keep it, which a clean clone elsewhere (git clone . /tmp/x; bash .ci/run) still reaches.
PVE_API_ENV = "PROXMOX_HA_PVE_API"
PVE_API_PLACES = [Path(os.environ[PVE_API_ENV])] if os.environ.get(PVE_API_ENV) else [
    REPO.parent / "shared" / "pve-api", Path("/work/shared/pve-api")]
PVE_API = next((p for p in PVE_API_PLACES if p.is_dir()), None)
UNKNOWN = "property is not defined in schema and the schema does not allow additional properties"
MISSING = "property is missing and it is not optional"
NINE_ONLY = {(m, t) for m, t in SC.ENDPOINTS if t.startswith("/cluster/ha/rules")}
# valid values for path parameters, so that only the parameters under test can fail
PATH_VALUES = {"node": "pve1", "group": "g1", "sid": "vm:100", "rule": "r1", "storage": "local", "id": "job1",
               "userid": "root@pam", "tokenid": "t1", "vmid": "100"}


def _schema_file(version: str) -> dict:
    return json.loads((SC.SCHEMA_DIR / f"pve-{version}.json").read_text())["methods"]


def test_committed_extract_is_a_fresh_extraction_of_pves_schema():
    if PVE_API is None:
        if os.environ.get(PVE_API_ENV):
            pytest.fail(f"{PVE_API_ENV}={os.environ[PVE_API_ENV]}: no such folder (PVE's published API schema)")
        pytest.skip(f"PVE's published API schema is in none of {', '.join(map(str, PVE_API_PLACES))}: "
                    f"set {PVE_API_ENV} to the folder")
    for name, text in X.fresh(PVE_API).items():
        assert (SC.SCHEMA_DIR / name).read_text() == text, f"run python -m lab.api.extract_schema {PVE_API}"


def test_every_served_endpoint_is_in_pves_schema():
    for major, version in SC.PVE_SCHEMA_VERSIONS.items():
        methods = _schema_file(version)
        expected = set(SC.ENDPOINTS) - (NINE_ONLY if major < 9 else set())
        assert {tuple(k.split(" ", 1)) for k in methods} >= expected
        assert all(SC.endpoint_schema(m, t, major) is not None for m, t in expected)
        assert all(SC.endpoint_schema(m, t, major) is None for m, t in set(SC.ENDPOINTS) - expected)
        assert all(SC.method_schema(m, t, major) is not None for m, t in SC.CLI_ENDPOINTS)


def _named_formats(spec: dict):
    fmt = spec.get("format")
    if isinstance(fmt, dict):
        for sub in fmt.values():
            yield from _named_formats(sub)
    elif fmt:
        yield fmt
    if isinstance(spec.get("items"), dict):
        yield from _named_formats(spec["items"])


def test_every_named_format_of_a_served_parameter_has_a_checker():
    unchecked = []
    for major in SC.PVE_SCHEMA_VERSIONS:
        for method, template in SC.ENDPOINTS:
            for name, spec in (SC.endpoint_schema(method, template, major) or {}).items():
                for fmt in _named_formats(spec):
                    base = re.fullmatch(r"(.*?)(?:-(list|opt))?", fmt).group(1)
                    if base in SC.FORMATS or fmt in SC.PROPERTY_STRING_FORMATS or fmt == "regex":
                        continue
                    if base not in F.UNCHECKED_FORMATS:
                        unchecked.append(f"PVE {major} {method} {template} {name}: {fmt}")
    assert not unchecked, "named formats without a checker in lab/api/formats.py:\n" + "\n".join(unchecked)
    assert all(reason for reason in F.UNCHECKED_FORMATS.values())


def test_storage_type_options_are_post_storage_parameters():
    """pve-storage's per-type options() are not in the API schema, but each is one of POST /storage's
    parameters (the union over all types) on the major they are facts of: snapshot-as-volume-chain and
    saferemove-stepsize came with PVE 9, maxfiles went with it."""
    from lab.pve import storage_plugins as SP
    for major in SC.PVE_SCHEMA_VERSIONS:
        post = SC.endpoint_schema("POST", "/storage", major)
        assert set(SP.TYPES) <= set(post["type"]["enum"])
        names = {k for t in SP.TYPES for k in SP.plugin(t, major).options}
        assert names <= set(post), (major, names - set(post))
        assert ("maxfiles" in names) == (major < 9) and ("snapshot-as-volume-chain" in names) == (major >= 9)


def _call(client, method, template, params):
    path = template
    for name in SC.path_params(template):
        path = path.replace("{" + name + "}", PATH_VALUES[name])
    return client.call(method, path, params)


@pytest.mark.parametrize("major", [8, 9])
def test_walk_every_endpoint_accepts_exactly_pves_parameters(major, request):
    """Per endpoint: every schema parameter is known (none is refused as undefined), an unknown one is
    refused, the missing required ones are exactly the schema's required ones, and names only the other
    PVE major has are refused. The unknown parameter makes every call fail validation, so no handler runs."""
    lab = request.getfixturevalue("lab" if major == 8 else "lab9")
    client = lab.client()
    other = 9 if major == 8 else 8
    problems = []
    for method, template in SC.ENDPOINTS:
        schema = SC.endpoint_schema(method, template, major)
        if schema is None:
            status, _, _ = _call(client, method, template, {})
            if status != 501:
                problems.append(f"{method} {template}: not in PVE {major}'s schema but answered {status}")
            continue
        path_names = set(SC.path_params(template))
        body = {k: "x" for k in schema if k not in path_names}
        body["lab-unknown"] = "1"
        status, reason, answer = _call(client, method, template, body)
        errors = (answer or {}).get("errors") or {}
        if (status, reason) != (400, "Parameter verification failed.") or errors.get("lab-unknown") != UNKNOWN:
            problems.append(f"{method} {template}: unknown parameter gave {status} {reason} {errors}")
        refused = sorted(k for k, msg in errors.items() if UNKNOWN in msg and k != "lab-unknown")
        if refused:
            problems.append(f"{method} {template}: schema parameters refused as undefined: {refused}")
        if any(k in errors for k in path_names):
            problems.append(f"{method} {template}: valid path parameters refused: {errors}")
        status, _, answer = _call(client, method, template, {"lab-unknown": "1"})
        errors = (answer or {}).get("errors") or {}
        missing = {k for k, msg in errors.items() if msg == MISSING}
        required = {k for k, spec in schema.items() if not spec.get("optional")} - path_names
        if missing != required:
            problems.append(f"{method} {template}: missing-and-required {sorted(missing)} != schema's {sorted(required)}")
        foreign = sorted(set(SC.endpoint_schema(method, template, other) or {}) - set(schema))
        if foreign:
            status, _, answer = _call(client, method, template, {k: "1" for k in foreign})
            errors = (answer or {}).get("errors") or {}
            accepted = [k for k in foreign if errors.get(k) != UNKNOWN]
            if status != 400 or accepted:
                problems.append(f"{method} {template}: PVE {other}-only parameters not refused: {accepted}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- regressions: what the hand-written tables accepted
@pytest.mark.parametrize("fixture", ["lab", "lab9"])
def test_put_ha_resource_has_no_type_parameter(fixture, request):
    c = request.getfixturevalue(fixture).client()
    assert c.post("/cluster/ha/resources", {"sid": "vm:100"})[0] == 200
    status, reason, body = c.put("/cluster/ha/resources/vm:100", {"type": "vm", "state": "stopped"})
    assert (status, reason, body["errors"]) == (400, "Parameter verification failed.", {"type": UNKNOWN})


def test_failback_is_a_pve9_resource_option(lab, lab9):
    status, _, body = lab.client().post("/cluster/ha/resources", {"sid": "vm:100", "failback": "0"})
    assert (status, body["errors"]) == (400, {"failback": UNKNOWN})
    assert lab9.client().post("/cluster/ha/resources", {"sid": "vm:100", "failback": "0"})[0] == 200
    assert "failback 0" in (lab9.pve / "ha" / "resources.cfg").read_text()


@pytest.mark.parametrize("fixture", ["lab", "lab9"])
def test_token_update_has_no_regenerate(fixture, request):
    lab = request.getfixturevalue(fixture)
    c = lab.client()
    assert c.post("/access/users/root@pam/token/t1", {"privsep": "1"})[0] == 200
    status, _, body = c.put("/access/users/root@pam/token/t1", {"regenerate": "1"})
    assert (status, body["errors"]) == (400, {"regenerate": UNKNOWN})


def test_datacenter_location_is_not_an_option_and_replication_is_pve9s(lab, lab9):
    for params in ({"location": "x"}, {"replication": "type=secure"}):
        status, _, body = lab.client().put("/cluster/options", params)
        assert (status, body["errors"]) == (400, {next(iter(params)): UNKNOWN})
    assert lab9.client().put("/cluster/options", {"replication": "type=secure"})[0] == 200
    status, _, body = lab9.client().put("/cluster/options", {"location": "x"})
    assert (status, body["errors"]) == (400, {"location": UNKNOWN})


def test_pve8_lacks_ha_purge_token_delete_and_snapshot_chains(lab, lab9):
    c, c9 = lab.client(), lab9.client()
    status, _, body = c.delete("/cluster/ha/resources/vm:100", {"purge": "1"})
    assert (status, body["errors"]) == (400, {"purge": UNKNOWN})
    status, _, body = c.put("/access/users/root@pam/token/t1", {"delete": "comment"})
    assert (status, body["errors"]) == (400, {"delete": UNKNOWN})
    status, _, body = c.post("/storage", {"storage": "d1", "type": "dir", "path": "/tmp/lab-d1",
                                          "snapshot-as-volume-chain": "1"})
    assert (status, body["errors"]) == (400, {"snapshot-as-volume-chain": UNKNOWN})
    # PVE 9 has them
    assert c9.post("/access/users/root@pam/token/t1", {})[0] == 200
    assert c9.put("/access/users/root@pam/token/t1", {"delete": "comment"})[0] == 200


# ---------------------------------------------------------------- PVE::JSONSchema's wording
def test_pve_jsonschema_messages(lab, lab9):
    c, c9 = lab.client(), lab9.client()
    # path parameters are validated too
    status, _, body = c.get("/nodes/bad_node/status")
    assert (status, body["errors"]) == (400, {"node": "invalid format - value does not look like a valid node name"})
    status, _, body = c.get("/storage/x")
    assert body["errors"] == {"storage": "invalid format - storage ID 'x' cannot be shorter than 2 characters"}
    # type, range, enum, pattern, property strings
    status, _, body = c.post("/cluster/backup", {"schedule": "02:00", "all": "1", "ionice": "9", "mode": "fast",
                                                 "bwlimit": "x", "starttime": "2am"})
    assert body["errors"] == {"ionice": "value must have a maximum value of 8",
                              "mode": "value 'fast' does not have a value in the enumeration 'snapshot, suspend, stop'",
                              "bwlimit": "type check ('integer') failed - got 'x'",
                              "starttime": "value does not match the regex pattern"}
    status, _, body = c.put("/cluster/options", {"migration": "type=secure,speed=1", "ha": "",
                                                 "crs": "ha=dynamic"})
    assert body["errors"]["migration"] == "invalid format - invalid key in comma-separated list property: speed"
    assert body["errors"]["ha"] == ("invalid format - format error\n"
                                    "ha.shutdown_policy: property is missing and it is not optional")
    assert body["errors"]["crs"] == ("invalid format - format error\ncrs.ha: value 'dynamic' does not have a value "
                                     "in the enumeration 'basic, static'")
    assert c9.put("/cluster/options", {"crs": "ha=dynamic"})[0] == 200
    # `requires`: PVE 9's pve-common reworded the message
    status, _, body = c.post("/cluster/backup", {"all": "1", "dow": "mon"})
    assert body["errors"] == {"starttime": "missing property - 'dow' requires this property"}
    status, _, body = c9.post("/cluster/backup", {"all": "1", "dow": "mon"})
    assert body["errors"] == {"starttime": "missing property required by 'dow'"}
    # -list formats check every item, -opt ones accept ''
    status, _, body = c.put("/access/acl", {"path": "/", "roles": "PVEAuditor", "users": "root@pam,nobody"})
    assert body["errors"] == {"users": "invalid format - value 'nobody' does not look like a valid user name"}
    assert c.post("/access/users", {"userid": "mon@pve", "email": ""})[0] == 200
