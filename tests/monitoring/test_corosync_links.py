"""The corosync link timer's script, run for real under bash with a corosync-cmapctl that prints what the lab's real
corosync 3 printed (`corosync-cmapctl nodelist.node`, `-m stats stats.knet.`, `-g runtime.votequorum.this_node_id`)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "monitoring" / "corosync-links" / "proxmox-ha-corosync-links.sh"
NODELIST = "\n".join(f"nodelist.node.{i}.name (str) = pve{i + 1}\nnodelist.node.{i}.nodeid (u32) = {i + 1}\n"
                     f"nodelist.node.{i}.quorum_votes (u32) = 1" for i in range(3))
STATS = """stats.knet.node1.link0.connected (u8) = 1
stats.knet.node2.link0.connected (u8) = 1
stats.knet.node2.link1.connected (u8) = 1
stats.knet.node3.link0.connected (u8) = 1
stats.knet.node3.link1.connected (u8) = 0"""
CMAPCTL = f"""#!/bin/bash
[ -e "$COROSYNC_DOWN" ] && {{ echo 'Failed to initialize the cmap API. Error CS_ERR_LIBRARY' >&2; exit 1; }}
case "$*" in
  "nodelist.node") cat <<'X'
{NODELIST}
X
  ;;
  "-m stats stats.knet.") cat <<'X'
{STATS}
X
  ;;
  "-g runtime.votequorum.this_node_id") echo 'runtime.votequorum.this_node_id (u32) = 1' ;;
  *) exit 1 ;;
esac
"""


def run(tmp_path: Path) -> subprocess.CompletedProcess:
    (tmp_path / "bin").mkdir(exist_ok=True)
    fake = tmp_path / "bin" / "corosync-cmapctl"
    fake.write_text(CMAPCTL)
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "TEXTFILE_DIR": str(tmp_path),
           "COROSYNC_DOWN": str(tmp_path / "down")}
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)


def test_each_peers_links_are_written_and_the_node_itself_is_not(tmp_path):
    assert run(tmp_path).returncode == 0
    series = [line for line in (tmp_path / "proxmox_ha_corosync.prom").read_text().splitlines() if not line.startswith("#")]
    assert series == [
        'proxmox_ha_corosync_link_connected{peer="pve2",link="0"} 1',
        'proxmox_ha_corosync_link_connected{peer="pve2",link="1"} 1',
        'proxmox_ha_corosync_link_connected{peer="pve3",link="0"} 1',
        'proxmox_ha_corosync_link_connected{peer="pve3",link="1"} 0',
    ]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temporary file left"


def test_without_corosync_no_stale_series_stay(tmp_path):
    assert run(tmp_path).returncode == 0
    (tmp_path / "down").touch()
    assert run(tmp_path).returncode == 0
    assert not (tmp_path / "proxmox_ha_corosync.prom").exists()


def test_shellcheck():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is installed by `make setup`")
    res = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout


def test_node_exporter_may_read_the_file_whatever_the_umask(tmp_path):
    old = os.umask(0o077)  # the script's process inherits it
    try:
        assert run(tmp_path).returncode == 0
    finally:
        os.umask(old)
    assert (tmp_path / "proxmox_ha_corosync.prom").stat().st_mode & 0o777 == 0o644


def test_the_script_writes_exactly_the_names_the_rules_may_use(tmp_path):
    from monitoring.known_metrics import COROSYNC_LINK_METRICS

    assert run(tmp_path).returncode == 0
    text = (tmp_path / "proxmox_ha_corosync.prom").read_text()
    assert {line.split("{")[0] for line in text.splitlines() if not line.startswith("#")} == COROSYNC_LINK_METRICS
    if shutil.which("promtool"):
        checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
