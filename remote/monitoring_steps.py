"""Steps for Prometheus: node_exporter on every node, and Prometheus with Alertmanager on their own machine."""
from __future__ import annotations

import shlex

from monitoring.scrape import ALERTMANAGER, BLACKBOX, CONFIG_DIR, PROMETHEUS, WEBHOOK_PLACEHOLDER

from .node_steps import installed
from .step import Step, files, same_file, wait_for, write_file

NODE_EXPORTER_DEFAULTS = "/etc/default/prometheus-node-exporter"
# Debian's node_exporter reads its textfile collector here by default; the config backup writes its metrics here.
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
# Debian's packages, each a unit of the same name that reloads on SIGHUP.
SERVER_UNITS = ("prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter")


def _install(*packages: str) -> str:
    return f"{installed(list(packages))} || DEBIAN_FRONTEND=noninteractive apt-get install -y -q {' '.join(packages)}"


def node_exporter(node: str, port: int) -> Step:
    """Debian's prometheus-node-exporter on PORT, with the textfile directory its collector reads."""
    defaults = f'# Written by proxmox-ha.\nARGS="--web.listen-address=:{port}"'
    done = (f"{installed(['prometheus-node-exporter'])} && {same_file(NODE_EXPORTER_DEFAULTS, defaults)}"
            f" && test -d {TEXTFILE_DIR} && systemctl is-active -q prometheus-node-exporter")
    return Step(
        name="node-exporter",
        node=node,
        check=done,
        act=(f"{_install('prometheus-node-exporter')}\nmkdir -p {TEXTFILE_DIR}\n{write_file(NODE_EXPORTER_DEFAULTS, defaults)}\n"
             "systemctl enable prometheus-node-exporter\nsystemctl restart prometheus-node-exporter"),
        verify=wait_for(f"curl -sf http://127.0.0.1:{port}/metrics | has '^node_exporter_build_info'",
                        f"node_exporter to answer on port {port}", 30),
    )


def corosync_links(node: str, script: str, service: str, timer: str) -> Step:
    """The timer that writes corosync's link state into node_exporter's textfile directory every 15 s."""
    return files(
        node,
        "corosync-links-timer",
        {
            "/usr/local/sbin/proxmox-ha-corosync-links.sh": (script, "0755"),
            "/etc/systemd/system/proxmox-ha-corosync-links.service": (service, "0644"),
            "/etc/systemd/system/proxmox-ha-corosync-links.timer": (timer, "0644"),
        },
        then="systemctl daemon-reload\nsystemctl enable --now proxmox-ha-corosync-links.timer",
    )


# The template with the secret in place of WEBHOOK_PLACEHOLDER, as a shell word (quoted: no `&` substitution).
_WITH_SECRET = f"\"${{template//{WEBHOOK_PLACEHOLDER}/\"$ALERT_WEBHOOK_URL\"}}\""


def _secret_file_same(path: str, template: str) -> str:
    return f"{{ template={shlex.quote(template.rstrip())}; printf '%s\\n' {_WITH_SECRET} | cmp -s {path} -; }}"


def _secret_file_write(path: str, template: str) -> str:
    """Readable by root and the daemons' group (prometheus) only."""
    tmp = f"{path}.proxmox-ha.$$"
    return (f"template={shlex.quote(template.rstrip())}\n"
            f"(umask 077; printf '%s\\n' {_WITH_SECRET} > {tmp})\n"
            f"chgrp prometheus {tmp} && chmod 0640 {tmp} && mv {tmp} {path}")


def prometheus(host: str, files: dict[str, str], secret_files: dict[str, str]) -> Step:
    """Debian's prometheus, prometheus-alertmanager and prometheus-blackbox-exporter with the program's files.

    A change is checked by promtool, amtool and the exporter first, then reloaded (SIGHUP, as Debian's units
    reload): never a restart, which would lose the alerts in flight and Alertmanager's silences. `secret_files`
    carry WEBHOOK_PLACEHOLDER where the secret ALERT_WEBHOOK_URL (stdin) goes."""
    same = " && ".join([same_file(path, content) for path, content in sorted(files.items())]
                       + [_secret_file_same(path, text) for path, text in sorted(secret_files.items())])
    active = " && ".join(f"systemctl is-active -q {unit}" for unit in SERVER_UNITS)
    written = "\n".join([write_file(path, content) for path, content in sorted(files.items())]
                        + [_secret_file_write(path, text) for path, text in sorted(secret_files.items())])
    rules = sorted(p for p in files if p.endswith(".rules.yml"))
    rules_dir = shlex.quote(rules[0].rsplit("/", 1)[0]) if rules else None
    # Only the rule files the program writes: one it no longer writes would still be loaded through the glob.
    only_ours = f"[ \"$(ls {rules_dir} 2>/dev/null)\" = {shlex.quote(chr(10).join(p.rsplit('/', 1)[1] for p in rules))} ]" if rules else "true"
    stale = f"find {rules_dir} -name '*.rules.yml' -delete 2>/dev/null || true" if rules else ""
    loaded = (f"curl -sf http://{PROMETHEUS}/-/ready >/dev/null && curl -sf http://{ALERTMANAGER}/-/ready >/dev/null"
              f" && curl -sf http://{PROMETHEUS}/metrics | has '^prometheus_config_last_reload_successful 1'"
              f" && curl -sf http://{ALERTMANAGER}/metrics | has '^alertmanager_config_last_reload_successful 1'"
              f" && curl -sf http://{BLACKBOX}/metrics | has '^blackbox_exporter_config_last_reload_successful 1'")
    return Step(
        name="prometheus",
        node=host,
        check=f"{installed([*SERVER_UNITS, 'curl'])} && {same} && {only_ours} && {active}",
        act=(
            f"{_install(*SERVER_UNITS, 'curl')}\n"
            f"{stale}\n"
            f"{written}\n"
            f"promtool check config {CONFIG_DIR}/prometheus.yml >&2 || fail 'promtool refused the Prometheus config'\n"
            f"amtool check-config {CONFIG_DIR}/alertmanager.yml >&2 || fail 'amtool refused the Alertmanager config'\n"
            f"prometheus-blackbox-exporter --config.check --config.file {CONFIG_DIR}/blackbox.yml >&2"
            " || fail 'the blackbox exporter refused its config'\n"
            f"for unit in {' '.join(SERVER_UNITS)}; do\n"
            "  systemctl enable \"$unit\"\n"
            "  if systemctl is-active -q \"$unit\"; then systemctl reload \"$unit\"; else systemctl start \"$unit\"; fi\n"
            "done"
        ),
        verify=wait_for(loaded, "Prometheus, Alertmanager and the blackbox exporter to answer with the new config", 60),
        secrets=("ALERT_WEBHOOK_URL",) if secret_files else (),
    )
