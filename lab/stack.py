"""The lab stack's config file for the engine: the tracked Pulumi.lab.yaml plus what only a running lab knows.

Pulumi.lab.yaml in git holds no secret (its encryptionsalt only checks the public lab passphrase).
`python -m lab stack-config` writes STATE/Pulumi.lab.yaml: the same config (on its slot's subnets), each node's
sshHostKey pinned, the PBS stand-in's fingerprint, the monitor host's key as monitoring.prometheus.sshHostKey, and the secrets
(the lab's SSH key, root@pam's API token, the PBS user's password, Alertmanager's webhook on this machine)
encrypted by the Pulumi CLI. `python -m deploy up --stack lab --config-file STATE/Pulumi.lab.yaml` reads it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from .common import ALERT_RECEIVER_PORT, MGMT_GW, REPO_ROOT, SLOT, Paths, lab_major, prefixes

STACK = "lab"
PASSPHRASE = "proxmox-ha-lab"  # public: the README gives it; it protects nothing but lab values
NAMESPACE = "proxmox-ha"
# The Ceph release an operator of each PVE major picks: PVE 9's default, and the newest PVE 8 offers.
CEPH_RELEASE = {8: "squid", 9: "tentacle"}


def _pulumi(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE}
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    return subprocess.run([str(REPO_ROOT / "bin" / "pulumi"), *args, "--non-interactive"], input=stdin,
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT)


def _set_secret(out: Path, key: str, value: str) -> None:
    # The value goes on stdin, never on a command line (a PEM key also starts with '-', which the CLI would take
    # for a flag); the CLI encrypts it with the stack's passphrase.
    done = _pulumi("config", "set", "--secret", "--config-file", str(out), "--stack", STACK, f"{NAMESPACE}:{key}",
                   stdin=value)
    if done.returncode != 0:
        raise SystemExit(f"lab stack-config: setting {NAMESPACE}:{key} failed: {done.stderr.strip()}")


def reshape(config: dict, lab: dict, nodes: int, retire: list[str], qdevice: bool, ceph: bool) -> None:
    """The stack's cluster as the lab's first `nodes` hosts (with the `retire` ones listed for decommission, a QDevice
    on the lab's qnetd host, or no Ceph), as an operator edits the stack when the cluster grows or shrinks."""
    cluster, ha = config[f"{NAMESPACE}:cluster"], config.get(f"{NAMESPACE}:ha")
    hosts = lab["hosts"][:nodes]
    if len(hosts) < nodes:
        raise SystemExit(f"lab stack-config --nodes {nodes}: the lab has {len(lab['hosts'])} hosts (lab up --hosts {nodes})")
    cluster["nodes"] = [{"name": h["name"], "managementAddress": h["management_address"], "storageAddress": h["storage_address"],
                         "managementPort": h["management_port"], "storagePort": h["storage_port"],
                         "osdDisks": h["osd_disks"] if ceph else []} for h in hosts]
    cluster["decommission"] = retire
    if qdevice:
        cluster["qdevice"] = {"address": lab["qnetd"]["management_address"], "sshPort": lab["qnetd"]["ssh_port"]}
    names = {h["name"] for h in hosts}
    for group in (ha or {}).get("groups", []):
        group["nodes"] = {n: p for n, p in group["nodes"].items() if n in names}
    if not ceph:
        config.pop(f"{NAMESPACE}:ceph", None)


def pin(config: dict, lab: dict, major: int, qdevice: bool) -> None:
    """What only the running lab knows and nothing secret: its PVE major and Ceph release, each host's SSH key,
    the PBS stand-in's fingerprint."""
    cluster = config[f"{NAMESPACE}:cluster"]
    cluster["pveVersion"] = major
    if f"{NAMESPACE}:ceph" in config:
        config[f"{NAMESPACE}:ceph"]["release"] = CEPH_RELEASE[major]
    host_keys = {h["name"]: h["host_key"] for h in lab["hosts"]}
    for node in cluster["nodes"]:
        if node["name"] in host_keys:
            node["sshHostKey"] = host_keys[node["name"]]
    if qdevice:
        cluster["qdevice"]["sshHostKey"] = lab["qnetd"]["host_key"]
    # Prometheus and Alertmanager go on the lab's monitor host (Pulumi.lab.yaml), its host key pinned.
    config[f"{NAMESPACE}:monitoring"]["prometheus"]["sshHostKey"] = lab["monitor"]["host_key"]
    config[f"{NAMESPACE}:backup"]["pbs"]["fingerprint"] = lab["pbs"]["fingerprint"]


def _onto_slot(out: Path) -> None:
    """The template's addresses are slot 0's: another slot's lab has the same hosts on its own subnets (lab/common.py)."""
    text = out.read_text()
    for written, ours in zip(prefixes(0), prefixes(SLOT)):
        text = re.sub(rf"\b{re.escape(written)}\.", f"{ours}.", text)
    out.write_text(text)


def write(template: Path, paths: Paths | None = None, nodes: int | None = None, retire: list[str] = (),
          qdevice: bool = False, ceph: bool = True) -> Path:
    paths = paths or Paths()
    lab = json.loads(paths.lab_json.read_text())
    lab_id = paths.lab_id.read_text().strip()
    if _pulumi("stack", "select", STACK).returncode == 0:
        tagged = _pulumi("stack", "tag", "get", "lab-id", "--stack", STACK).stdout.strip()
        if tagged != lab_id:
            # The state describes a lab that is gone (lab down, a reboot): its resources no longer exist.
            print(f"lab stack-config: the {STACK} stack's state is of an earlier lab; starting it afresh", file=sys.stderr)
            _pulumi("stack", "rm", STACK, "--yes", "--force", "--preserve-config")  # keeps the tracked Pulumi.lab.yaml
            _init(lab_id)
    else:
        _init(lab_id)
    out = paths.root / f"Pulumi.{STACK}.yaml"
    shutil.copyfile(template, out)
    if SLOT:
        _onto_slot(out)
    # The plain values are edited in the file itself, one write, where a `pulumi config set` each would start the
    # CLI a dozen times per call; the CLI encrypts the secrets.
    document = yaml.safe_load(out.read_text())
    if nodes is not None:
        reshape(document["config"], lab, nodes, list(retire), qdevice, ceph)
    pin(document["config"], lab, lab_major(paths), qdevice)
    out.write_text(yaml.safe_dump(document, sort_keys=False, width=1000))
    _set_secret(out, "sshPrivateKey", Path(lab["ssh"]["private_key"]).read_text())
    _set_secret(out, "apiToken", Path(lab["api"]["token_file"]).read_text().strip())
    _set_secret(out, "alertWebhookUrl", f"http://{MGMT_GW}:{ALERT_RECEIVER_PORT}/alerts")
    # The lab's PBS stand-in: its user's password.
    _set_secret(out, "pbsPassword", Path(lab["pbs"]["password_file"]).read_text().strip())
    return out


def _init(lab_id: str) -> None:
    created = _pulumi("stack", "init", STACK)
    if created.returncode != 0:
        raise SystemExit(f"lab stack-config: pulumi stack init {STACK} failed: {created.stderr.strip()}")
    _pulumi("stack", "tag", "set", "lab-id", lab_id, "--stack", STACK)
