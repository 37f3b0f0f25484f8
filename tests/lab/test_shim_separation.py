"""A node leaves the cluster as pve-docs' pvecm.adoc "Separate a Node Without Reinstalling" does it, on the node:
systemctl stop pve-cluster; systemctl stop corosync; pmxcfs -l; rm /etc/pve/corosync.conf; rm -r /etc/corosync/*;
killall pmxcfs; systemctl start pve-cluster (lab/shims/pmxcfs.py, killall.py, systemctl.py; lab/pmxcfs.py).

Unit level with a temporary state directory, and the whole procedure once in a private mount/UTS namespace
(`unshare`, root) that is laid out as a lab host's: /etc an overlay, /etc/pve a bind mount of the shared directory.
No network namespace, no lab: the processes it starts are the test's own and are ended by PID."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import hamanager as H
from lab import machine as M
from lab.common import CLUSTER_NAME, DEFAULT_HOSTS as NODES, Paths, host_index, mgmt_addr, mounted, read_pid
from lab.hosts import write_shims
from lab.shims import killall as K
from lab.shims import pmxcfs as P
from lab.shims import pvelib as L
from lab.shims import systemctl as S

REPO = Path(__file__).resolve().parents[2]
CONF = f"totem {{\n  cluster_name: {CLUSTER_NAME}\n  config_version: 3\n}}\n\nnodelist {{\n" + "".join(
    f"  node {{\n    name: {n}\n    nodeid: {host_index(n)}\n    quorum_votes: 1\n    ring0_addr: {mgmt_addr(n)}\n  }}\n"
    for n in NODES) + "}\n"
LOCK_REFUSAL = ["[main] notice: unable to acquire pmxcfs lock - trying again",
                "[main] crit: unable to acquire pmxcfs lock: Resource temporarily unavailable",
                "[main] notice: exit proxmox configuration filesystem (-1)"]


def lab_state(root: Path, name: str = "pve3") -> Paths:
    """A lab state directory with the cluster's shared /etc/pve and one host's directory (no host running)."""
    paths = Paths(root)
    (paths.pve / "ha").mkdir(parents=True)
    (paths.pve / "corosync.conf").write_text(CONF)
    (paths.pve / "storage.cfg").write_text("dir: local\n\tpath /var/lib/vz\n\tcontent iso\n\n")
    for sub in ("pids", "logs"):
        (paths.host(name) / sub).mkdir(parents=True)
    return paths


@pytest.fixture
def host(tmp_path, monkeypatch):
    paths = lab_state(tmp_path / "state")
    info = tmp_path / "lab-host.json"
    info.write_text(M.host_json(paths, "pve3", NODES))
    monkeypatch.setattr(L, "HOST_INFO", info)
    monkeypatch.setattr(P, "LOCK_WAIT", 0)
    return paths


def test_pmxcfs_l_refuses_while_a_pmxcfs_holds_the_lock(host, monkeypatch, capsys):
    monkeypatch.setattr(P, "running", lambda: [4242])
    monkeypatch.setattr(P, "bind", lambda src: pytest.fail("no mount without the lock"))
    assert P.main(["-l"]) == 255
    assert capsys.readouterr().err.splitlines() == LOCK_REFUSAL
    assert not host.pve_db("pve3").exists()


def test_pve_cluster_does_not_start_while_pmxcfs_l_runs(host, monkeypatch, capsys):
    monkeypatch.setattr(P, "running", lambda: [4242])
    assert S.main(["start", "pve-cluster"]) == 1
    assert capsys.readouterr().err.startswith("Job for pve-cluster.service failed because the control process exited")
    assert (host.host("pve3") / "logs" / "pve-cluster.log").read_text().splitlines() == LOCK_REFUSAL


def test_pmxcfs_has_only_local_mode(host, capsys):
    assert P.main([]) == 1
    assert "`pmxcfs -l`" in capsys.readouterr().err


def test_boot_mounts_the_private_database_once_there_is_one(tmp_path):
    paths = lab_state(tmp_path)
    assert M.pve_mounts(paths, "pve3").splitlines()[0] == f"mount --bind {paths.pve} /etc/pve"
    paths.pve_db("pve3").mkdir()
    assert M.pve_mounts(paths, "pve3").splitlines()[0] == f"mount --bind {paths.pve_db('pve3')} /etc/pve"
    assert M.pve_mounts(paths, "pve2").splitlines()[0] == f"mount --bind {paths.pve} /etc/pve"


def test_ha_daemon_acts_only_while_pve_cluster_has_etc_pve_mounted(tmp_path, monkeypatch):
    rounds = []
    monkeypatch.setattr(H.release, "host_major", lambda: 9)
    monkeypatch.setattr(H.ha, "crm_round", lambda *a: rounds.append("crm"))
    monkeypatch.setattr(H.ha, "lrm_round", lambda *a: rounds.append("lrm"))
    monkeypatch.setattr(H, "mounted", lambda path: False)
    H.round_once("pve1", lambda cluster: (True, ["pve1"]), tmp_path)
    assert rounds == []  # the empty directory beneath /etc/pve: nothing read, nothing written
    monkeypatch.setattr(H, "mounted", lambda path: True)
    H.round_once("pve1", lambda cluster: (True, ["pve1"]), tmp_path)
    assert rounds == ["crm", "lrm"]


@pytest.fixture
def strangers():
    """Processes in this host's pidfiles that killall must leave alone, and one it may end; all ended afterwards."""
    started = []

    def start(argv):
        started.append(subprocess.Popen(argv, start_new_session=True))
        return started[-1].pid
    yield start
    for p in started:
        p.kill()
        p.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="unshare --mount needs root")
def test_killall_reaches_only_this_hosts_processes(host, tmp_path, strangers, capsys):
    pids = host.host("pve3") / "pids"
    fake_sshd = tmp_path / "sshd"  # named as the host's sshd, the machine itself
    shutil.copy("/bin/sleep", fake_sshd)
    (pids / "sshd.pid").write_text(f"{strangers([str(fake_sshd), '60'])}\n")
    # A stale pidfile whose PID now is a process outside the host (another mount namespace).
    (pids / "ceph-mon@pve3.pid").write_text(f"{strangers(['unshare', '--mount', 'sleep', '60'])}\n")
    mine = strangers(["sleep", "60"])
    (pids / "corosync.pid").write_text(f"{mine}\n")
    time.sleep(0.2)
    assert K.main(["sshd"]) == 1 and K.main(["nosuch"]) == 1
    assert capsys.readouterr().err.splitlines() == ["sshd: no process found", "nosuch: no process found"]
    assert K.main(["-w", "-KILL", "sleep"]) == 0
    assert [p for p in (read_pid(pids / f) for f in ("sshd.pid", "ceph-mon@pve3.pid", "corosync.pid"))
            if L.pid_alive(p)] == [read_pid(pids / "sshd.pid"), read_pid(pids / "ceph-mon@pve3.pid")]
    assert K.main(["-q", "sleep"]) == 1 and capsys.readouterr().err == ""


# ---------------------------------------------------------------- the procedure, in a namespace
PROCEDURE = ["systemctl stop pve-cluster", "systemctl is-active pve-cluster", "systemctl stop corosync", "pmxcfs -l",
             "rm /etc/pve/corosync.conf", "rm -r /etc/corosync/*", "killall pmxcfs", "killall pmxcfs",
             "systemctl start pve-cluster", "sleep 1.5", "systemctl is-active pve-cluster"]


def host_procedure(state: Path) -> list[dict]:
    """Inside `unshare --mount --uts`: boot pve3 as lab/machine.py does, then run the commands; what each did."""
    paths = Paths(state)
    ovl = state / "ovl"
    ovl.mkdir()
    boot = (f"set -e; mount -t tmpfs tmpfs {ovl}; mkdir {ovl}/upper {ovl}/work\n"
            f"mount -t overlay overlay -o lowerdir=/etc,upperdir={ovl}/upper,workdir={ovl}/work /etc\n"
            "mount -t tmpfs tmpfs /run\nhostname pve3\nmkdir -p /etc/pve /etc/corosync\n"
            f"{M.pve_mounts(paths, 'pve3')}\ncp {paths.pve}/corosync.conf /etc/corosync/corosync.conf")
    subprocess.run(["bash", "-c", boot], check=True)
    Path("/etc/lab-host.json").write_text(M.host_json(paths, "pve3", NODES))
    env = {**os.environ, "PATH": f"{paths.bin}:/usr/sbin:/usr/bin:/sbin:/bin"}
    assert shutil.which("killall", path=env["PATH"]) == str(paths.bin / "killall")  # never psmisc's here
    steps = []

    def step(command: str) -> None:
        done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=60)
        steps.append({"command": command, "rc": done.returncode, "out": done.stdout, "err": done.stderr,
                      "mounted": mounted(Path("/etc/pve")), "pve": sorted(os.listdir("/etc/pve")),
                      "local_conf": Path("/etc/corosync/corosync.conf").exists(),
                      "status": subprocess.run(["systemctl", "status", "pve-cluster"], env=env, capture_output=True,
                                               text=True).stdout})
    try:
        for command in ("systemctl start pve-cluster", "rm /etc/corosync/corosync.conf",
                        "systemctl restart pve-cluster", *PROCEDURE):
            step(command)
    finally:
        subprocess.run(["systemctl", "stop", "pve-cluster"], env=env)
        subprocess.run(["killall", "-q", "pmxcfs"], env=env)
    return steps


@pytest.fixture
def procedure(tmp_path):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare (a private mount namespace)")
    paths = lab_state(tmp_path / "state")
    write_shims(paths)
    try:
        done = subprocess.run(["unshare", "--mount", "--uts", "--propagation", "private", "--", sys.executable,
                               __file__, str(paths.root)], cwd=REPO, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        assert done.returncode == 0, done.stderr
        steps = json.loads(done.stdout)
        first = {}
        for s in steps:
            first.setdefault(s["command"], s)
        yield paths, first, steps
    finally:  # whatever the procedure left running, by the PIDs it recorded
        for pidfile in (paths.host("pve3") / "pids").glob("*.pid"):
            pid = read_pid(pidfile)
            if pid and L.pid_alive(pid) and Path(f"/proc/{pid}/comm").read_text().strip() == "pmxcfs":
                os.kill(pid, signal.SIGKILL)


def test_a_node_separates_as_pve_docs_say(procedure):
    paths, by_command, steps = procedure  # by_command: each command's first run
    boot, removed, restarted = steps[0], steps[1], steps[2]
    assert boot["rc"] == 0 and boot["mounted"] and "corosync.conf" in boot["pve"]
    assert "Active: active (running)" in boot["status"] and "(pmxcfs)" in boot["status"]
    # A node whose pve-cluster restarts with a database that lists it gets its corosync.conf back.
    assert not removed["local_conf"] and restarted["rc"] == 0 and restarted["local_conf"]
    stopped = by_command["systemctl stop pve-cluster"]
    assert stopped["rc"] == 0 and not stopped["mounted"] and stopped["pve"] == []
    assert by_command["systemctl is-active pve-cluster"]["out"] == "inactive\n"
    local = by_command["pmxcfs -l"]
    assert local["rc"] == 0 and local["mounted"] and "corosync.conf" in local["pve"]
    assert local["err"] == "[main] notice: forcing local mode (although corosync.conf exists)\n"
    assert paths.pve_db("pve3").is_dir()
    # rm /etc/pve/corosync.conf removed the node's own copy only: the cluster keeps its file.
    assert "corosync.conf" not in by_command["rm /etc/pve/corosync.conf"]["pve"]
    assert (paths.pve / "corosync.conf").read_text() == CONF
    assert not by_command["rm -r /etc/corosync/*"]["local_conf"]
    killed = [s for s in steps if s["command"] == "killall pmxcfs"]
    assert killed[0]["rc"] == 0 and not killed[0]["mounted"] and killed[0]["pve"] == []
    assert killed[1]["rc"] == 1 and killed[1]["err"] == "pmxcfs: no process found\n"
    # Started again, pve-cluster mounts the node's own database: no corosync.conf, so none comes back.
    started = steps[-1]
    assert started["rc"] == 0 and started["out"] == "active\n" and started["mounted"]
    assert "corosync.conf" not in started["pve"] and "storage.cfg" in started["pve"]
    assert not started["local_conf"]
    # At the next boot as well.
    assert M.pve_mounts(paths, "pve3").startswith(f"mount --bind {paths.pve_db('pve3')} /etc/pve")


if __name__ == "__main__":
    print(json.dumps(host_procedure(Path(sys.argv[1]))))
