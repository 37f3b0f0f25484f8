"""The first up, on bare hosts, with a node lost in the middle of the joins: it fails naming the node, and the next
up recovers. It runs first in the package (file order), so the cluster it forms is the one the later tests use."""
from __future__ import annotations

import os
import signal

import pytest

from lab.common import Paths
from tests.lab.conftest import lab_cli

from .conftest import bare_lab, deploy, deploy_popen
from .helpers import NODES, quorum, wait_until

pytestmark = pytest.mark.lab


def test_node_lost_during_the_joins_fails_naming_it_and_the_next_up_recovers(fresh_lab, tmp_path):
    lab = bare_lab() if (Paths().pve / "corosync.conf").exists() else fresh_lab  # another test formed it first
    log = tmp_path / "up.log"
    run = deploy_popen("up", log)
    shared_conf = Paths().pve / "corosync.conf"
    wait_until("pve2 to join", lambda: shared_conf.exists() and "name: pve2" in shared_conf.read_text(), 400)
    # The host dies: its sshd (and so its sessions) is gone before its own join.
    os.kill(int(Paths().sshd_pidfile("pve3").read_text()), signal.SIGKILL)
    run.wait(timeout=900)
    output = log.read_text()
    assert run.returncode == 1, output[-4000:]
    last = output.strip().splitlines()[-1]
    assert "deploy: up of stack 'lab' failed" in last and "pve3" in last, last
    assert "run up again" in last
    assert quorum(lab, "pve1") == (True, 2)

    lab_cli("up")  # the host comes back (sshd restarted); nothing else is done by hand
    second = deploy("up")
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    assert "pve3-cluster-join" in second.stdout and "pve1-cluster-create" not in second.stdout.split("Updating (lab)")[1]
    for node in NODES:
        assert quorum(lab, node) == (True, 3)
