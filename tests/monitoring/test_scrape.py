"""The Prometheus and Alertmanager configs the program writes, checked by the real promtool and amtool, and the
rule files with a stack's own `for:`."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from monitoring import rules, scrape

MEMBERS = [scrape.Member("pve1", "10.0.10.11"), scrape.Member("pve2", "10.0.10.12")]
TLS = {"pve1": "https://10.0.10.11:8006", "pbs": "https://10.0.10.50:8007"}


def written(tmp_path, files: dict[str, str]) -> dict[str, str]:
    """The files under tmp_path instead of /etc/prometheus, with their references moved along."""
    moved = {}
    for path, text in files.items():
        target = tmp_path / path.removeprefix("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace(scrape.CONFIG_DIR, str(tmp_path / scrape.CONFIG_DIR.removeprefix("/"))))
        moved[path] = str(target)
    return moved


def program_files(jobs, alert_for=None) -> dict[str, str]:
    return {
        f"{scrape.CONFIG_DIR}/prometheus.yml": scrape.prometheus_yml(jobs, "5s", "10s"),
        f"{scrape.CONFIG_DIR}/alertmanager.yml": scrape.alertmanager_yml(webhook=False),
        f"{scrape.CONFIG_DIR}/blackbox.yml": scrape.BLACKBOX_CONFIG.read_text(),
        **scrape.target_files(jobs),
        **{f"{scrape.RULES_DIR}/{name}": text for name, text in rules.with_for(alert_for or {}).items()},
    }


def test_every_node_is_a_target_of_each_exporter_and_the_pve_exporter_asks_its_own_node():
    jobs = scrape.targets(MEMBERS, 9221, 9100, ceph=True, tls=TLS)
    assert sorted(jobs) == ["blackbox-tls", "ceph", "node", "pve"]
    pve1 = jobs["pve"][0]
    assert pve1["targets"] == ["10.0.10.11:9221"]
    assert pve1["labels"] == {"node": "pve1", "__metrics_path__": "/pve", "__param_target": "10.0.10.11",
                              "__param_module": "default", "__param_cluster": "1", "__param_node": "1"}
    assert [g["targets"] for g in jobs["node"]] == [["10.0.10.11:9100"], ["10.0.10.12:9100"]]
    assert [g["targets"] for g in jobs["ceph"]] == [["10.0.10.11:9283"], ["10.0.10.12:9283"]]
    assert "ceph" not in scrape.targets(MEMBERS, 9221, 9100, ceph=False, tls=TLS)
    # The blackbox exporter beside Prometheus probes each URL; the series keep the URL as their instance.
    assert jobs["blackbox-tls"][1] == {"targets": [scrape.BLACKBOX], "labels": {
        "node": "pbs", "instance": "https://10.0.10.50:8007", "__metrics_path__": "/probe",
        "__param_target": "https://10.0.10.50:8007", "__param_module": "pve_tls"}}


def test_promtool_takes_the_config_its_targets_and_rules(promtool, tmp_path):
    moved = written(tmp_path, program_files(scrape.targets(MEMBERS, 9221, 9100, ceph=True, tls=TLS)))
    res = subprocess.run([promtool, "check", "config", moved[f"{scrape.CONFIG_DIR}/prometheus.yml"]],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{len(rules.alert_names())} rules found" in res.stdout


def test_the_target_files_are_what_the_config_reads():
    jobs = scrape.targets(MEMBERS, 9221, 9100, ceph=False, tls=TLS)
    config = yaml.safe_load(scrape.prometheus_yml(jobs, "30s", "30s"))
    read = {f for job in config["scrape_configs"] for sd in job["file_sd_configs"] for f in sd["files"]}
    assert read == set(scrape.target_files(jobs))
    assert json.loads(scrape.target_files(jobs)[f"{scrape.TARGETS_DIR}/node.json"]) == jobs["node"]


def test_amtool_takes_the_alertmanager_config(tmp_path):
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool (Debian's prometheus-alertmanager) is installed by `make setup`")
    for webhook in (False, True):
        path = tmp_path / "alertmanager.yml"
        # With a webhook, the step puts the secret URL where the placeholder is (one with a query here).
        path.write_text(scrape.alertmanager_yml(webhook).replace(scrape.WEBHOOK_PLACEHOLDER, "https://hooks.example/a?k=1&t=2"))
        res = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr
        assert ("webhook_configs" in path.read_text()) == webhook


def test_a_stack_for_replaces_only_that_alerts_wait():
    text = rules.with_for({"CephOsdDown": "20s"})["proxmox-ha.rules.yml"]
    changed = {r["alert"]: r for g in yaml.safe_load(text)["groups"] for r in g["rules"]}
    original = {r["alert"]: r for g in rules.rule_files()["proxmox-ha.rules.yml"]["groups"] for r in g["rules"]}
    assert changed["CephOsdDown"]["for"] == "20s" and original["CephOsdDown"]["for"] == "5m"
    assert {n: r for n, r in changed.items() if n != "CephOsdDown"} == {n: r for n, r in original.items() if n != "CephOsdDown"}


def test_promtool_takes_the_rules_with_a_stack_for(promtool, tmp_path):
    path = tmp_path / "proxmox-ha.rules.yml"
    path.write_text(rules.with_for({"PveNodeDown": "15s", "CephOsdDown": "1m30s"})["proxmox-ha.rules.yml"])
    res = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_blackbox_exporter_takes_its_config_with_the_module_the_job_names(tmp_path):
    exporter = shutil.which("prometheus-blackbox-exporter")
    if exporter is None:
        pytest.skip("Debian's prometheus-blackbox-exporter is installed by `make setup`")
    assert scrape.BLACKBOX_MODULE in yaml.safe_load(scrape.BLACKBOX_CONFIG.read_text())["modules"]
    res = subprocess.run([exporter, "--config.check", "--config.file", str(scrape.BLACKBOX_CONFIG)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_secret_webhook_is_written_on_the_host_from_stdin_readable_by_the_daemons_group_only(tmp_path):
    from remote.monitoring_steps import _secret_file_same, _secret_file_write

    if subprocess.run(["getent", "group", "prometheus"], capture_output=True).returncode != 0:
        pytest.skip("the prometheus group comes with Debian's prometheus package (make setup)")
    path = tmp_path / "alertmanager.yml"
    template = scrape.alertmanager_yml(webhook=True)
    url = "https://hooks.example/a?k=1&t=2"

    def bash(script: str, secret: str) -> int:
        return subprocess.run(["bash", "-euc", script], env={"ALERT_WEBHOOK_URL": secret, "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True).returncode

    same = _secret_file_same(str(path), template)
    assert bash(same, url) != 0, "no file yet"
    assert bash(_secret_file_write(str(path), template), url) == 0
    assert yaml.safe_load(path.read_text())["receivers"][0]["webhook_configs"][0]["url"] == url, "& kept as it is"
    assert path.stat().st_mode & 0o777 == 0o640
    assert bash(same, url) == 0 and bash(same, "https://hooks.example/other") != 0
