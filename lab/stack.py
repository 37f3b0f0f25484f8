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


def _set(out: Path, key: str, value: str, secret: bool = False, path: bool = False) -> None:
    # The value goes on stdin: a PEM key starts with '-', which the CLI would take for a flag.
    flags = ["--secret"] * secret + ["--path"] * path
    done = _pulumi("config", "set", *flags, "--config-file", str(out), "--stack", STACK, f"{NAMESPACE}:{key}", stdin=value)
    if done.returncode != 0:
        raise SystemExit(f"lab stack-config: setting {NAMESPACE}:{key} failed: {done.stderr.strip()}")


def _get_object(out: Path, key: str):
    done = _pulumi("config", "get", "--config-file", str(out), "--stack", STACK, "--json", f"{NAMESPACE}:{key}")
    return json.loads(json.loads(done.stdout)["value"]) if done.returncode == 0 else None


def _set_object(out: Path, key: str, value) -> None:
    """A whole section at once (set-all --json takes what `pulumi config --json` prints)."""
    entry = {f"{NAMESPACE}:{key}": {"value": json.dumps(value), "objectValue": value, "secret": False}}
    done = _pulumi("config", "set-all", "--json", json.dumps(entry), "--config-file", str(out), "--stack", STACK)
    if done.returncode != 0:
        raise SystemExit(f"lab stack-config: setting {NAMESPACE}:{key} failed: {done.stderr.strip()}")


def reshape(out: Path, lab: dict, nodes: int, retire: list[str], qdevice: bool, ceph: bool) -> None:
    """The stack's cluster as the lab's first `nodes` hosts (with the `retire` ones listed for decommission, a QDevice
    on the lab's qnetd host, or no Ceph), as an operator edits the stack when the cluster grows or shrinks."""
    cluster, ha = _get_object(out, "cluster"), _get_object(out, "ha")
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
    _set_object(out, "cluster", cluster)
    if ha:
        _set_object(out, "ha", ha)
    if not ceph:
        _pulumi("config", "rm", "--config-file", str(out), "--stack", STACK, f"{NAMESPACE}:ceph")


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
    if _pulumi("stack", "select", STACK).returncode != 0:
        created = _pulumi("stack", "init", STACK)
        if created.returncode != 0:
            raise SystemExit(f"lab stack-config: pulumi stack init {STACK} failed: {created.stderr.strip()}")
        _pulumi("stack", "tag", "set", "lab-id", lab_id, "--stack", STACK)
    out = paths.root / f"Pulumi.{STACK}.yaml"
    shutil.copyfile(template, out)
    if SLOT:
        _onto_slot(out)
    if nodes is not None:
        reshape(out, lab, nodes, list(retire), qdevice, ceph)
    major = lab_major(paths)
    _set(out, "cluster.pveVersion", str(major), path=True)
    if _get_object(out, "ceph") is not None:
        _set(out, "ceph.release", CEPH_RELEASE[major], path=True)
    host_keys = {h["name"]: h["host_key"] for h in lab["hosts"]}
    for i, node in enumerate(_get_object(out, "cluster")["nodes"]):
        if node["name"] in host_keys:
            _set(out, f"cluster.nodes[{i}].sshHostKey", host_keys[node["name"]], path=True)
    if qdevice:
        _set(out, "cluster.qdevice.sshHostKey", lab["qnetd"]["host_key"], path=True)
    _set(out, "sshPrivateKey", Path(lab["ssh"]["private_key"]).read_text(), secret=True)
    _set(out, "apiToken", Path(lab["api"]["token_file"]).read_text().strip(), secret=True)
    # Prometheus and Alertmanager go on the lab's monitor host (Pulumi.lab.yaml), its host key pinned.
    _set(out, "monitoring.prometheus.sshHostKey", lab["monitor"]["host_key"], path=True)
    _set(out, "alertWebhookUrl", f"http://{MGMT_GW}:{ALERT_RECEIVER_PORT}/alerts", secret=True)
    # The lab's PBS stand-in: its certificate's fingerprint, and its user's password.
    _set(out, "backup.pbs.fingerprint", lab["pbs"]["fingerprint"], path=True)
    _set(out, "pbsPassword", Path(lab["pbs"]["password_file"]).read_text().strip(), secret=True)
    return out
