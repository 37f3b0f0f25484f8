"""The lab's PVE API (lab/api) on every host: it agrees with the shims, refuses bad tokens, and feeds the
real prometheus-pve-exporter that the Monitoring component installed, with the read-only token it made."""
from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from lab.common import CLUSTER_NAME, Paths

from .conftest import lab_changed
from .helpers import NODES, wait_until

pytestmark = pytest.mark.lab
INSECURE = ssl._create_unverified_context()  # the lab's self-signed node certificates


def api(lab, method: str, endpoint: str, token: str, node: str = "pve1", **params):
    address = lab.hosts[node]["management_address"]
    data = urllib.parse.urlencode(params).encode() if params else None
    request = urllib.request.Request(f"https://{address}:8006/api2/json{endpoint}", data=data, method=method,
                                     headers={"Authorization": f"PVEAPIToken={token}"})
    try:
        with urllib.request.urlopen(request, context=INSECURE, timeout=30) as response:
            return response.status, json.loads(response.read())["data"]
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def pbs_password(lab) -> str:
    return Path(lab.info["pbs"]["password_file"]).read_text().strip()


@pytest.fixture
def root_token(converged) -> str:
    return Path(converged.info["api"]["token_file"]).read_text().strip()


def test_bad_tokens_are_refused(fresh_lab, root_token):
    user = root_token.split("=", 1)[0]
    assert api(fresh_lab, "GET", "/version", f"{user}=00000000-0000-0000-0000-000000000000")[0] == 401
    assert api(fresh_lab, "GET", "/version", root_token)[0] == 200


def test_api_and_shims_agree(fresh_lab, root_token):
    lab_changed()  # a guest, a rule and a storage the stack does not hold
    # PVE 9: no group left, so the API refuses groups as the CLI does, and placement is a rule.
    status, detail = api(fresh_lab, "POST", "/cluster/ha/groups", root_token, group="api_group", nodes="pve1:2,pve3:1")
    assert status == 500 and "cannot create group: ha groups have been migrated to rules" in detail
    assert "migrated to rules" in fresh_lab.ssh("pve2", "ha-manager groupconfig").stderr
    assert "does not exist in cluster" in fresh_lab.ssh("pve3", "ha-manager add vm:101").stderr
    fresh_lab.ok("pve3", "qm create 101 --name api-guest --memory 256 && ha-manager add vm:101 --state started")
    status, _ = api(fresh_lab, "POST", "/cluster/ha/rules", root_token, rule="api_rule", type="node-affinity",
                    resources="vm:101", nodes="pve1:2,pve3:1")
    assert status == 200
    assert "node-affinity: api_rule" in fresh_lab.ok("pve2", "ha-manager rules config")
    status, resources = api(fresh_lab, "GET", "/cluster/ha/resources", root_token, node="pve2")
    assert status == 200 and "vm:101" in {r["sid"] for r in resources}
    # PVE activates a PBS storage on create: the lab's PBS stand-in answers over TLS on its own address.
    pbs = fresh_lab.info["pbs"]
    storage = dict(storage="pbs-lab", type="pbs", server=pbs["address"], datastore=pbs["datastore"], username=pbs["username"],
                   fingerprint=pbs["fingerprint"], content="backup")
    status, detail = api(fresh_lab, "POST", "/storage", root_token, **storage, password="wrong")
    assert status == 500 and "pbs-lab: error fetching datastores - 401 authentication failure" in detail
    status, _ = api(fresh_lab, "POST", "/storage", root_token, **storage, password=pbs_password(fresh_lab))
    assert status == 200
    assert "pbs-lab" in fresh_lab.ok("pve1", "pvesm status")
    assert pbs_password(fresh_lab) not in fresh_lab.ok("pve1", "cat /etc/pve/storage.cfg")
    status, detail = api(fresh_lab, "POST", "/cluster/backup", root_token, id="nightly", schedule="0 2 * * *", storage="pbs-lab", all="1")
    assert status == 400 and "schedule" in detail


# The exporter the program installed and started as a service (port 9221), scraped from pve1 itself.
SCRAPE = """python3 - <<'PY'
import time, urllib.request
for _ in range(60):
    try:
        print(urllib.request.urlopen("http://127.0.0.1:9221/pve?target={target}&cluster=1&node=1", timeout=30).read().decode())
        break
    except OSError:
        time.sleep(0.5)
PY
"""


def test_the_exporter_the_program_installed_reads_the_lab_with_its_read_only_token(fresh_lab, root_token):
    """Everything here was made by `up`: the user, the token, both ACLs, the venv and the config on pve1."""
    config = fresh_lab.ok("pve1", "stat -c %a /etc/prometheus/pve.yml; cat /etc/prometheus/pve.yml")
    mode, _, body = config.partition("\n")
    assert mode == "600"
    user = re.search(r"user: (\S+)", body).group(1)
    secret = re.search(r"token_value: (\S+)", body).group(1)
    assert re.fullmatch(r"[0-9a-f-]{36}", secret), "token_value must be the bare UUID, not bpg's USER@REALM!TOKENID=UUID"
    read_only = f"{user}!exporter={secret}"
    assert api(fresh_lab, "GET", "/cluster/status", read_only)[0] == 200
    assert api(fresh_lab, "POST", "/cluster/ha/groups", read_only, group="nope", nodes="pve1")[0] == 403
    assert fresh_lab.ssh("pve1", "systemctl is-active prometheus-pve-exporter").returncode == 0
    metrics = fresh_lab.ok("pve1", SCRAPE.format(target=fresh_lab.hosts["pve1"]["management_address"]))
    families = {line.split()[2] for line in metrics.splitlines() if line.startswith("# TYPE ")}
    for family in ("pve_up", "pve_cluster_info", "pve_node_info", "pve_version_info", "pve_ha_state", "pve_not_backed_up_total"):
        assert family in families, f"{family} missing from {sorted(families)}"
    assert f'pve_up{{id="cluster/{CLUSTER_NAME}"}} 1.0' in metrics
    assert all(f'pve_up{{id="node/{node}"}} 1.0' in metrics for node in NODES), metrics
    assert 'pve_guest_info{id="qemu/100"' in metrics and 'name="lab-guest"' in metrics
    # The RBD storage's size is Ceph's own `df`, which the API reads through librados as pvestatd does.
    rbd = re.search(r'^pve_disk_size_bytes\{id="storage/pve1/vm-storage"\} (\S+)$', metrics, re.M)
    assert rbd and float(rbd.group(1)) > 0, metrics
    assert secret not in metrics
    # `is-active` follows the process, as systemd's does: gunicorn ends once the scrape it serves is done (its
    # graceful timeout is 30 s), and Prometheus scrapes it every few seconds.
    fresh_lab.ok("pve1", f"kill $(cat {Paths().host_pids('pve1') / 'prometheus-pve-exporter.pid'})")
    wait_until("the exporter to end", lambda: fresh_lab.ssh("pve1", "systemctl is-active prometheus-pve-exporter").returncode == 3, 40)
    # An `up` with nothing changed runs no step, so it would not restart it: the next tests need it running.
    fresh_lab.ok("pve1", "systemctl start prometheus-pve-exporter")


def test_no_secret_in_logs_or_config_outside_priv(fresh_lab, root_token):
    """Secrets live only where PVE keeps them (priv/, 0600); logs and plain config never hold them."""
    state = Path(fresh_lab.info["state_dir"])
    key_body = "".join(Path(fresh_lab.info["ssh"]["private_key"]).read_text().splitlines()[1:-1])
    # The key's first bytes are the same in every OpenSSH key; its middle is its own.
    secrets = [root_token.split("=", 1)[1], pbs_password(fresh_lab), key_body[120:160]]
    # Where the secrets live by design: root's token file, PVE's priv/, the lab's keys, the PBS stand-in's users.
    allowed = {state / "api-token", state / "pve" / "priv", state / "ssh", state / "pbs"}
    leaks = []
    for path in state.rglob("*"):
        if not path.is_file() or path.is_symlink() or any(path == a or a in path.parents for a in allowed):
            continue
        if path.stat().st_size > 16 << 20:  # the OSD disk images and Ceph's stores hold no text we wrote
            continue
        try:
            text = path.read_text(errors="ignore")
        except OSError:
            continue
        leaks += [f"{path}: {secret[:6]}..." for secret in secrets if secret in text]
    assert leaks == []
