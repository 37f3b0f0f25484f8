"""Operations on the nodes: the config-backup timer, the monitoring user, the exporters."""
from __future__ import annotations

import shlex

from .step import Step, files

EXPORTER_VENV = "/opt/prometheus-pve-exporter"
EXPORTER_CONFIG = "/etc/prometheus/pve.yml"
# A stock PVE node has python3 but not its venv module. Debian's python3-venv brings pip as a wheel
# (python3-pip-whl), which ensurepip would install into each venv.
VENV_PACKAGE = (
    "{ dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | has 'install ok installed'"
    " || DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; }"
)
PIP_WHEEL = "/usr/share/python-wheels/pip-*.whl"
# A venv's packages are under lib/pythonX.Y, for the Python that made it.
_PYTHON_DIR = 'import sys; print("python%d.%d" % sys.version_info[:2])'
# Written from variables the step reads from stdin, so the token value never appears in a script, a log or
# the state in plaintext. token_value is the token's secret (the UUID), not bpg's `USER@REALM!NAME=UUID`.
_EXPORTER_CONFIG_FROM_ENV = (
    "printf 'default:\\n  user: %s\\n  token_name: %s\\n  token_value: %s\\n  verify_ssl: false\\n'"
    " \"$PVE_USER\" \"$PVE_TOKEN_NAME\" \"$PVE_TOKEN_VALUE\""
)


def config_backup(node: str, script: str, service: str, timer: str, settings: dict[str, str]) -> Step:
    env = "\n".join(f"{key}={shlex.quote(value)}" for key, value in settings.items())
    return files(
        node,
        "config-backup-timer",
        {
            "/usr/local/sbin/proxmox-config-backup.sh": (script, "0755"),
            "/etc/systemd/system/proxmox-config-backup.service": (service, "0644"),
            "/etc/systemd/system/proxmox-config-backup.timer": (timer, "0644"),
            "/etc/default/proxmox-config-backup": (env, "0644"),
        },
        then="systemctl daemon-reload\nsystemctl enable --now proxmox-config-backup.timer",
    )


def pve_user(node: str, user: str) -> Step:
    present = f"grep -qs '^user:{user}:' /etc/pve/user.cfg"
    return Step(
        name="monitoring-user",
        node=node,
        check=present,
        act=f"pveum user add {shlex.quote(user)} --comment 'proxmox-ha monitoring (read-only, PVEAuditor)'",
        verify=present,
    )


def ceph_prometheus(node: str) -> Step:
    enabled = "ceph mgr module ls -f json | python3 -c 'import json,sys; sys.exit(0 if \"prometheus\" in json.load(sys.stdin)[\"enabled_modules\"] else 1)'"
    return Step(name="ceph-mgr-prometheus", node=node, check=enabled, act="ceph mgr module enable prometheus", verify=enabled)


def pve_exporter(node: str, port: int, version: str, pve_version: int) -> Step:
    """prometheus-pve-exporter from PyPI (or the node's configured pip index) in its own venv.

    stdin carries three lines: the user, the token name and the token's secret value. The step runs again when the
    node moves to another PVE release: its Debian brings another Python (PVE 9: 3.11 to 3.13), whose venv is a new one.
    """
    unit = (
        "[Unit]\nDescription=Prometheus exporter for Proxmox VE (proxmox-ha)\nAfter=network-online.target\n\n"
        f"[Service]\nExecStart={EXPORTER_VENV}/bin/pve_exporter --config.file {EXPORTER_CONFIG} --web.listen-address [::]:{port}\n"
        "User=root\nRestart=on-failure\n\n[Install]\nWantedBy=multi-user.target"
    )
    unit_path = "/etc/systemd/system/prometheus-pve-exporter.service"
    read_version = shlex.quote('from importlib.metadata import version; print(version("prometheus-pve-exporter"))')
    installed = f"{EXPORTER_VENV}/bin/python -c {read_version} 2>/dev/null | has -xF {shlex.quote(version)}"
    # pip runs from Debian's wheel, as pip supports (`python pip.whl/pip`): the venv needs no pip of its own,
    # and ensurepip, which installs one, cost more CPU than the exporter's own install (lab nodes, 2026-12-07).
    # A venv made by another Python (before an upgrade) has no site-packages for this one: it is made anew.
    other_python = f"[ -d {EXPORTER_VENV}/lib/$(python3 -c {shlex.quote(_PYTHON_DIR)}) ] || rm -rf {EXPORTER_VENV}"
    install = (
        f"{VENV_PACKAGE}\n{other_python}\npython3 -m venv --without-pip {EXPORTER_VENV}\n"
        f"set -- {PIP_WHEEL}\n"
        "[ -e \"$1\" ] || fail 'no pip wheel in /usr/share/python-wheels: install python3-pip-whl'\n"
        f"{EXPORTER_VENV}/bin/python \"$1\"/pip install -q prometheus-pve-exporter=={version}"
    )
    configured = f"{_EXPORTER_CONFIG_FROM_ENV} | cmp -s {EXPORTER_CONFIG} -"
    unit_same = f"printf '%s\\n' {shlex.quote(unit)} | cmp -s {unit_path} -"
    return Step(
        name="pve-exporter",
        node=node,
        check=f"{installed} && {configured} && {unit_same} && systemctl is-active -q prometheus-pve-exporter",
        act=(
            f"{installed} || {{\n{install}\n}}\n"
            f"mkdir -p /etc/prometheus\n(umask 077; {_EXPORTER_CONFIG_FROM_ENV} > {EXPORTER_CONFIG})\n"
            f"printf '%s\\n' {shlex.quote(unit)} > {unit_path}\n"
            "systemctl daemon-reload\nsystemctl enable prometheus-pve-exporter\nsystemctl restart prometheus-pve-exporter"
        ),
        verify=f"{installed} && {configured}",
        secrets=("PVE_USER", "PVE_TOKEN_NAME", "PVE_TOKEN_VALUE"),
        triggers=(f"PVE {pve_version}",),
    )
