"""pvecm qdevice setup/remove (lab/shims/qdevice.py) against pve-cluster's pvecm.pm setup_qdevice and
remove_qdevice, unit level: the commands are recorded, not run. Plus the systemd unit files of
corosync-qdevice/corosync-qnetd as the systemctl shim reads them, and (root only, in a private mount
namespace) the real certificate chain with the very command lines the shim runs."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import types

import pytest

from lab.common import CLUSTER_NAME
from lab.pve import corosync as C
from lab.shims import pvecm, qdevice as QD
from lab.shims import pvelib as L

from .conftest import quorate_pve1
from .test_shim_pvecm import PVE_CONF

# The same cluster before `pvecm qdevice setup`: no device block in its quorum section.
NO_DEVICE = re.sub(r"\n  device \{.*?\n  \}", "", PVE_CONF, count=1, flags=re.S)


@pytest.fixture
def env(tmp_path, monkeypatch):
    pve = quorate_pve1(tmp_path, monkeypatch, NO_DEVICE)
    monkeypatch.setattr(pvecm, "require_cluster", lambda: None)
    members = {"pve1": {"id": 1, "ip": "10.254.10.11", "online": True},
               "pve2": {"id": 2, "ip": "10.254.10.12", "online": True}}
    monkeypatch.setattr(L, "members", lambda: members)
    monkeypatch.setattr(QD, "DB_DIR_NODE", tmp_path / "nssdb")
    calls = []

    def fake_run(cmd, noerr=False, outfunc=None):
        calls.append(cmd)
        return 0

    monkeypatch.setattr(QD, "run_command", fake_run)
    monkeypatch.setattr(QD, "wait_members_reloaded", lambda *a, **k: calls.append(["<wait pmxcfs>"]))
    return types.SimpleNamespace(pve=pve, members=members, calls=calls, tmp=tmp_path)


def ssh(node, ip):
    return ["/usr/bin/ssh", "-e", "none", "-o", "BatchMode=yes", "-o", f"HostKeyAlias={node}", f"root@{ip}", "--"]


def test_setup_runs_pves_steps_in_order_and_writes_the_device(env, capsys):
    assert QD.cmd_qdevice(["setup", "10.254.10.50"], pvecm) == 0
    p = str(env.pve)
    db = str(env.tmp / "nssdb")
    assert env.calls == [
        ["ssh-copy-id", "-i", "/root/.ssh/id_rsa", "root@10.254.10.50"],
        ["ssh", "-o", "BatchMode=yes", "-lroot", "10.254.10.50", "corosync-qnetd-certutil", "-i"],
        ["scp", "-o", "BatchMode=yes", "root@[10.254.10.50]:/etc/corosync/qnetd/nssdb/qnetd-cacert.crt",
         f"{p}/qnetd-cacert.crt"],
        ssh("pve1", "10.254.10.11") + ["corosync-qdevice-net-certutil", "-i", "-c", f"{p}/qnetd-cacert.crt"],
        ssh("pve2", "10.254.10.12") + ["corosync-qdevice-net-certutil", "-i", "-c", f"{p}/qnetd-cacert.crt"],
        ["corosync-qdevice-net-certutil", "-r", "-n", CLUSTER_NAME],
        ["scp", "-o", "BatchMode=yes", f"{db}/qdevice-net-node.crq", "root@[10.254.10.50]:/tmp"],
        ["ssh", "-o", "BatchMode=yes", "-lroot", "10.254.10.50", "corosync-qnetd-certutil", "-s", "-c",
         "/tmp/qdevice-net-node.crq", "-n", CLUSTER_NAME],
        ["scp", "-o", "BatchMode=yes", f"root@[10.254.10.50]:/etc/corosync/qnetd/nssdb/cluster-{CLUSTER_NAME}.crt", db],
        ["corosync-qdevice-net-certutil", "-M", "-c", f"{db}/cluster-{CLUSTER_NAME}.crt"],
        ["scp", "-o", "BatchMode=yes", f"{db}/qdevice-net-node.p12", f"{p}/"],
        ssh("pve1", "10.254.10.11") + ["corosync-qdevice-net-certutil", "-m", "-c", f"{p}/qdevice-net-node.p12"],
        ssh("pve2", "10.254.10.12") + ["corosync-qdevice-net-certutil", "-m", "-c", f"{p}/qdevice-net-node.p12"],
        ["<wait pmxcfs>"],
        ssh("pve1", "10.254.10.11") + ["systemctl", "start", "corosync-qdevice"],
        ssh("pve1", "10.254.10.11") + ["systemctl", "enable", "corosync-qdevice"],
        ssh("pve2", "10.254.10.12") + ["systemctl", "start", "corosync-qdevice"],
        ssh("pve2", "10.254.10.12") + ["systemctl", "enable", "corosync-qdevice"],
        ["corosync-cfgtool", "-R"],
    ]
    conf = pvecm.read_cluster()
    assert conf["config_version"] == 8
    assert C.quorum_device(conf) == {"model": "net", "votes": "1",
                                         "net": {"tls": "on", "host": "10.254.10.50", "algorithm": "ffsplit"}}
    assert (env.pve / "corosync.conf").read_text() == PVE_CONF.replace("config_version: 7", "config_version: 8")
    out = capsys.readouterr().out
    assert "\nINFO: initializing qnetd server\n" in out
    assert "\nINFO: start and enable corosync qdevice daemon on node 'pve2'...\n" in out


def test_setup_refusals(env):
    with pytest.raises(L.PVEError, match="address: value does not look like a valid IP address"):
        QD.cmd_qdevice(["setup", "qnetd.lab"], pvecm)
    env.members["pve3"] = {"id": 3, "ip": "10.254.10.13", "online": True}
    with pytest.raises(L.PVEError, match=r"^Clusters with an odd node count are not officially supported!$"):
        QD.cmd_qdevice(["setup", "10.254.10.50"], pvecm)
    env.members["pve3"]["online"] = False
    with pytest.raises(L.PVEError, match=r"^All nodes must be online! Node pve3 is offline, aborting\.$"):
        QD.cmd_qdevice(["setup", "10.254.10.50"], pvecm)
    del env.members["pve3"]
    (env.tmp / "nssdb").mkdir()
    with pytest.raises(L.PVEError, match=r"^QDevice certificate store already initialised, set force to delete!$"):
        QD.cmd_qdevice(["setup", "10.254.10.50"], pvecm)
    assert env.calls == [["ssh-copy-id", "-i", "/root/.ssh/id_rsa", "root@10.254.10.50"]]
    (env.pve / "corosync.conf").write_text(PVE_CONF)
    with pytest.raises(L.PVEError, match=r"^QDevice already configured!$"):
        QD.cmd_qdevice(["setup", "10.254.10.50"], pvecm)


def test_forced_setup_on_an_odd_cluster_uses_lms_without_votes(env):
    env.members["pve3"] = {"id": 3, "ip": "10.254.10.13", "online": True}
    (env.tmp / "nssdb").mkdir()
    QD.cmd_qdevice(["setup", "10.254.10.50", "--force"], pvecm)
    assert not (env.tmp / "nssdb").exists()  # rmtree'd by --force (the fake certutil made no new one)
    assert C.quorum_device(pvecm.read_cluster()) == {
        "model": "net", "net": {"tls": "on", "host": "10.254.10.50", "algorithm": "lms"}}


def test_forced_setup_over_a_device_dies_under_the_lock_after_the_certificates(env):
    (env.pve / "corosync.conf").write_text(PVE_CONF)
    with pytest.raises(L.PVEError, match=r"^Qdevice already configured, must be removed before setting up new one!$"):
        QD.cmd_qdevice(["setup", "10.254.10.51", "--force"], pvecm)
    assert env.calls[-1][-3:] == ["-m", "-c", f"{env.pve}/qdevice-net-node.p12"]
    assert (env.pve / "corosync.conf").read_text() == PVE_CONF


def test_remove(env, capsys):
    with pytest.raises(L.PVEError, match=r"^No QDevice configured!$"):
        QD.cmd_qdevice(["remove"], pvecm)
    (env.pve / "corosync.conf").write_text(PVE_CONF)
    assert QD.cmd_qdevice(["remove"], pvecm) == 0
    assert env.calls == [
        ssh("pve1", "10.254.10.11") + ["rm", "-rf", "/etc/corosync/qdevice"],
        ssh("pve2", "10.254.10.12") + ["rm", "-rf", "/etc/corosync/qdevice"],
        ssh("pve1", "10.254.10.11") + ["systemctl", "stop", "corosync-qdevice"],
        ssh("pve1", "10.254.10.11") + ["systemctl", "disable", "corosync-qdevice"],
        ssh("pve2", "10.254.10.12") + ["systemctl", "stop", "corosync-qdevice"],
        ssh("pve2", "10.254.10.12") + ["systemctl", "disable", "corosync-qdevice"],
        ["<wait pmxcfs>"],
        ["corosync-cfgtool", "-R"],
    ]
    assert (env.pve / "corosync.conf").read_text() == NO_DEVICE.replace("config_version: 7", "config_version: 8")
    assert capsys.readouterr().out.endswith("\nRemoved Qdevice.\n")


def test_a_failed_command_dies_as_run_command_does():
    with pytest.raises(L.PVEError, match=r"^command 'sh -c 'exit 3'' failed: exit code 3$"):
        QD.run_command(["sh", "-c", "exit 3"])
    assert QD.run_command(["sh", "-c", "exit 3"], noerr=True) == 3
    lines = []
    QD.run_command(["printf", "a\\nb\\n"], outfunc=lines.append)
    assert lines == ["a", "b"]
    assert QD.shell_quote("root@[10.0.0.1]:/tmp") == "'root@[10.0.0.1]:/tmp'"


# ---------------------------------------------------------------- systemd units of the Debian packages
def test_packaged_units_run_as_their_unit_files_say(tmp_path, monkeypatch):
    (tmp_path / "default").write_text('# c\nCOROSYNC_QNETD_OPTIONS="-d -s on"\n')
    (tmp_path / "corosync-qnetd.service").write_text(
        "[Service]\nEnvironmentFile=-%s\nExecStart=/usr/bin/corosync-qnetd -f $COROSYNC_QNETD_OPTIONS\n"
        "User=coroqnetd\nRuntimeDirectory=corosync-qnetd\nRuntimeDirectoryMode=0770\n" % (tmp_path / "default"))
    (tmp_path / "corosync-qdevice.service").write_text(
        "[Unit]\nRequires=corosync.service\n[Service]\nEnvironmentFile=-/nonexistent\n"
        "ExecStart=/usr/sbin/corosync-qdevice -f $COROSYNC_QDEVICE_OPTIONS\nRuntimeDirectory=corosync-qdevice\n")
    monkeypatch.setattr(L, "SYSTEM_UNIT_DIR", tmp_path)
    assert L.packaged_service("corosync-qnetd") == {
        "argv": ["/usr/bin/corosync-qnetd", "-f", "-d", "-s", "on"], "user": "coroqnetd",
        "runtime_dirs": ["corosync-qnetd"], "runtime_mode": 0o770, "requires": [], "type": "simple",
        "description": "corosync-qnetd", "environment": {"COROSYNC_QNETD_OPTIONS": "-d -s on"}, "reload": []}
    assert L.packaged_service("corosync-qdevice")["argv"] == ["/usr/sbin/corosync-qdevice", "-f"]
    assert L.packaged_service("corosync-qdevice")["requires"] == ["corosync"]
    assert L.packaged_service("pve-cluster") is None
    assert L.unit_argv("corosync-qdevice") == ["/usr/sbin/corosync-qdevice", "-f"]


def test_the_installed_unit_files_if_any():
    if not os.path.exists("/lib/systemd/system/corosync-qnetd.service"):
        pytest.skip("corosync-qnetd is not installed")
    qnetd = L.packaged_service("corosync-qnetd")
    assert qnetd["argv"][:2] == ["/usr/bin/corosync-qnetd", "-f"] and qnetd["user"] == "coroqnetd"


# ---------------------------------------------------------------- the real certificate chain
CHAIN = """set -e
mount -t tmpfs tmpfs /etc/corosync
mkdir -p /etc/corosync/qnetd
{qnetd} -i >/dev/null
{qnetd} -i >/dev/null 2>&1 && exit 90  # PVE runs it with noerr: a second -i fails
cp /etc/corosync/qnetd/nssdb/qnetd-cacert.crt /tmp/pve-qnetd-cacert.crt
{qdev} -i -c /tmp/pve-qnetd-cacert.crt >/dev/null
{qdev} -r -n {cluster} >/dev/null
cp /etc/corosync/qdevice/net/nssdb/qdevice-net-node.crq /tmp/
{qnetd} -s -c /tmp/qdevice-net-node.crq -n {cluster} >/dev/null
cp /etc/corosync/qnetd/nssdb/cluster-{cluster}.crt /etc/corosync/qdevice/net/nssdb
{qdev} -M -c /etc/corosync/qdevice/net/nssdb/cluster-{cluster}.crt >/dev/null
cp /etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12 /tmp/pve-p12
rm -rf /etc/corosync/qdevice
{qdev} -i -c /tmp/pve-qnetd-cacert.crt >/dev/null
{qdev} -m -c /tmp/pve-p12 >/dev/null
certutil -L -d /etc/corosync/qdevice/net/nssdb | grep -q "Cluster Cert"
"""


def test_the_certificate_chain_with_the_real_tools():
    """The shim's certutil command lines, in a private mount namespace over a tmpfs /etc/corosync (and /tmp)."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which(QD.QNETD_CERTUTIL):
        pytest.skip("needs root, unshare and corosync-qnetd")
    script = "mount -t tmpfs tmpfs /tmp\n" + CHAIN.format(qnetd=QD.QNETD_CERTUTIL, qdev=QD.QDEVICE_CERTUTIL, cluster=CLUSTER_NAME)
    res = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", script],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
