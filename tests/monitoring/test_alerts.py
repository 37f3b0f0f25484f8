"""Tests for monitoring/: alert rules (real promtool), metric names, dashboard."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read the rule files")

REPO = Path(__file__).resolve().parents[2]
MON = REPO / "monitoring"
RULES = MON / "alerts" / "proxmox-ha.rules.yml"
UNIT_TESTS = sorted((MON / "tests").glob("*.test.yml"))
DASHBOARD = MON / "grafana" / "proxmox-ha.json"


def _load_known_metrics():
    spec = importlib.util.spec_from_file_location("proxmox_ha_known_metrics", MON / "known_metrics.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


km = _load_known_metrics()


# --------------------------------------------------------------------------
# PromQL metric-name extraction (deliberately simple, see README)
# --------------------------------------------------------------------------
_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"(?<![A-Za-z0-9_:])([A-Za-z_:][A-Za-z0-9_:]*)")


def metric_names(expr: str) -> set[str]:
    """Metric names with a checked prefix (pve_, ceph_, probe_, proxmox_ha_) in a PromQL expression.

    String literals, label matchers ({...}) and label lists of by/without/on/
    ignoring/group_left/group_right are removed first, so label names such as
    ``ceph_daemon`` are not mistaken for metrics.
    """
    e = _STRING.sub('""', expr)
    e = _MATCHERS.sub("", e)
    e = _LABEL_LISTS.sub("", e)
    return {m for m in _IDENT.findall(e) if m.startswith(km.CHECKED_PREFIXES)}


def test_metric_name_extraction():
    expr = ('max by (id, ceph_daemon) (pve_up{id=~"cluster/.*", ceph_x="pve_fake"}) '
            '* on (pool_id) group_left (name) ceph_pool_metadata '
            '- ignoring(ceph_daemon) ceph_osd_up + time() - proxmox_ha_config_backup_success')
    assert metric_names(expr) == {
        "pve_up", "ceph_pool_metadata", "ceph_osd_up", "proxmox_ha_config_backup_success"}


def test_invented_metric_names_are_rejected():
    # Names used by an earlier draft that no exporter produces.
    for bad in ("pve_cluster_quorum", "pve_vm_migrate_total"):
        assert bad in km.KNOWN_INVALID
        assert bad not in km.KNOWN_METRICS
        assert metric_names(f"{bad} == 0") == {bad}


def test_known_metrics_cover_what_the_brief_names():
    for name in ("pve_up", "pve_node_info", "pve_cluster_info", "pve_version_info", "pve_guest_info",
                 "pve_ha_state", "pve_lock_state", "pve_not_backed_up_total", "pve_not_backed_up_info",
                 "pve_onboot_status", "pve_replication_failed_syncs",
                 "ceph_health_status", "ceph_osd_up", "ceph_osd_in", "ceph_pg_total", "ceph_pg_active",
                 "ceph_pg_clean", "ceph_cluster_total_bytes", "ceph_cluster_total_used_bytes",
                 "ceph_mon_quorum_status", "ceph_pool_metadata", "ceph_pool_percent_used"):
        assert name in km.KNOWN_METRICS, name


# --------------------------------------------------------------------------
# rule file
# --------------------------------------------------------------------------
def _rules():
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


REQUIRED_ALERTS = {
    "PveClusterQuorumLost", "PveNodeDown", "CephHealthWarning", "CephHealthError", "CephOsdDown",
    "CephPgsNotClean", "CephPgsInactive", "PveHaServiceError", "PveHaFence", "PveGuestNotBackedUp",
    "PveBackupRunningTooLong", "ProxmoxConfigBackupFailed", "PveCertificateExpiringSoon",
}


def test_required_alerts_present_with_severity_and_annotations():
    rules = _rules()
    names = {r["alert"] for r in rules if "alert" in r}
    missing = REQUIRED_ALERTS - names
    assert not missing, f"missing alerts: {sorted(missing)}"
    for r in rules:
        assert r["labels"]["severity"] in ("warning", "critical"), r["alert"]
        assert r["annotations"].get("summary") and r["annotations"].get("description"), r["alert"]


def test_rules_use_only_known_metrics():
    unknown = {}
    for r in _rules():
        bad = metric_names(r["expr"]) - km.KNOWN_METRICS
        if bad:
            unknown[r.get("alert", r.get("record"))] = sorted(bad)
    assert not unknown, f"rules reference metrics no exporter produces: {unknown}"


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    """Each alert must be expected to fire somewhere and to stay silent somewhere."""
    fires, quiet = set(), set()
    for f in UNIT_TESTS:
        for t in yaml.safe_load(f.read_text())["tests"]:
            for case in t.get("alert_rule_test", []):
                (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {r["alert"] for r in _rules() if "alert" in r}
    assert not names - fires, f"alerts never shown to fire: {sorted(names - fires)}"
    assert not names - quiet, f"alerts never shown to stay quiet: {sorted(names - quiet)}"


# --------------------------------------------------------------------------
# promtool
# --------------------------------------------------------------------------
def _run(cmd, cwd=REPO):
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)


def test_promtool_check_rules(promtool):
    res = _run([promtool, "check", "rules", str(RULES)])
    assert res.returncode == 0, res.stdout
    assert "SUCCESS" in res.stdout


def test_promtool_unit_tests(promtool):
    assert UNIT_TESTS, "no monitoring/tests/*.test.yml"
    res = _run([promtool, "test", "rules", *map(str, UNIT_TESTS)])
    assert res.returncode == 0, res.stdout
    assert "FAILED" not in res.stdout, res.stdout


def test_promtool_unit_tests_detect_a_broken_rule(promtool, tmp_path):
    """The unit tests really constrain the rules: weakening one makes promtool fail."""
    (tmp_path / "alerts").mkdir()
    broken = RULES.read_text().replace("expr: ceph_osd_up == 0", "expr: ceph_osd_up == 2")
    assert broken != RULES.read_text()
    (tmp_path / "alerts" / RULES.name).write_text(broken)
    (tmp_path / "tests").mkdir()
    dst = tmp_path / "tests" / "ceph.test.yml"
    dst.write_text((MON / "tests" / "ceph.test.yml").read_text())
    res = _run([promtool, "test", "rules", str(dst)], cwd=tmp_path)
    assert res.returncode != 0
    assert "CephOsdDown" in res.stdout


def test_dashboard_queries_are_valid_promql(promtool, tmp_path):
    """Feed every dashboard query to promtool as a recording rule to parse it."""
    rules = [{"record": f"dashboard:query{i}", "expr": q} for i, q in enumerate(_dashboard_exprs())]
    f = tmp_path / "dashboard-queries.rules.yml"
    f.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    res = _run([promtool, "check", "rules", str(f)])
    assert res.returncode == 0, res.stdout


# --------------------------------------------------------------------------
# Grafana dashboard
# --------------------------------------------------------------------------
def _panels(dash):
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])


def _dashboard():
    return json.loads(DASHBOARD.read_text())


def _dashboard_exprs():
    out = []
    for p in _panels(_dashboard()):
        for t in p.get("targets", []):
            if "expr" in t:
                out.append(t["expr"])
    for v in _dashboard().get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict) and "query" in q:
            out.append(q["query"])
    return out


REQUIRED_PANELS = ["Cluster quorum", "Nodes up", "Ceph health", "Ceph capacity", "OSDs up / in",
                   "Placement groups", "HA states", "Guests not backed up"]


def test_dashboard_is_valid_json_with_required_panels():
    dash = _dashboard()
    assert dash["title"] and dash["uid"]
    titles = [p["title"] for p in _panels(dash)]
    for t in REQUIRED_PANELS:
        assert t in titles, f"panel {t!r} missing; have {titles}"
    ids = [p["id"] for p in _panels(dash)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for p in _panels(dash):
        if p["type"] != "row":
            assert p.get("targets"), f"panel {p['title']!r} has no query"


def test_dashboard_uses_only_known_metrics():
    exprs = _dashboard_exprs()
    assert exprs
    unknown = {e: sorted(metric_names(e) - km.KNOWN_METRICS) for e in exprs if metric_names(e) - km.KNOWN_METRICS}
    assert not unknown, f"dashboard queries use unknown metrics: {unknown}"
    used = set().union(*(metric_names(e) for e in exprs))
    for m in ("pve_up", "ceph_health_status", "ceph_osd_up", "ceph_osd_in", "ceph_pg_total",
              "pve_ha_state", "pve_not_backed_up_total", "ceph_cluster_total_bytes"):
        assert m in used, m


# --------------------------------------------------------------------------
# Optional drift check against an installed exporter (skipped when absent)
# --------------------------------------------------------------------------
def test_pve_exporter_source_matches_known_list():
    spec = importlib.util.find_spec("pve_exporter")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("prometheus-pve-exporter is not installed in this Python; "
                    "known_metrics.py was checked against 3.10.2 by hand")
    root = Path(list(spec.submodule_search_locations)[0])
    src = "".join(p.read_text() for p in [*root.glob("collector/*.py"), root / "scrape_metrics.py"])
    found = set(re.findall(r"['\"](pve_[a-z_]+)['\"]", src))
    # histograms/counters are listed under their exposition names
    base = {re.sub(r"_(bucket|sum|count)$", "", m) for m in km.PVE_EXPORTER_METRICS}
    base |= {m[:-6] for m in km.PVE_EXPORTER_METRICS if m.endswith("_total")}
    missing = found - base - km.PVE_EXPORTER_METRICS
    assert not missing, f"exporter has families not in known_metrics.py: {sorted(missing)}"
