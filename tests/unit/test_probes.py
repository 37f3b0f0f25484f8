"""The product's readers of PVE's and Ceph's output (remote/probes.py), each over a fake tool that prints what
the real one does, quirks included; run as `probe()` runs them for ops and the tests."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from remote import probes
from remote.step import probe


class Tools:
    """Fake PVE and Ceph tools on PATH: each prints a file's text on stdout (and stderr) and exits with a status."""

    def __init__(self, root: Path):
        self.bin = root

    def fake(self, name: str, stdout: str = "", stderr: str = "", status: int = 0) -> None:
        (self.bin / f"{name}.out").write_text(stdout)
        (self.bin / f"{name}.err").write_text(stderr)
        tool = self.bin / name
        tool.write_text(f'#!/bin/sh\ncat "{self.bin}/{name}.out"; cat "{self.bin}/{name}.err" >&2; exit {status}\n')
        tool.chmod(0o755)

    def ask(self, command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", probe(command)], capture_output=True, text=True, timeout=30,
                              env={"PATH": f"{self.bin}:/usr/bin:/bin"})


@pytest.fixture
def tools(tmp_path):
    return Tools(tmp_path)


# --- pvecm status -------------------------------------------------------------------------------------------
def pvecm_status(quorate: bool, expected: int, total: int, quorum: int) -> str:
    """`pvecm status` as PVE 8 and 9 print it: corosync-quorumtool's blocks, "Quorum provider:" and "Flags:
    Quorate" among them, and a quorum line that says "Activity blocked" when not quorate."""
    return ("Cluster information\n-------------------\nName:             lab-cluster\nConfig Version:   3\n"
            "Transport:        knet\nSecure auth:      on\n\nQuorum information\n------------------\n"
            "Date:             Tue Mar  4 10:00:00 2025\nQuorum provider:  corosync_votequorum\nNodes:            2\n"
            f"Node ID:          0x00000001\nRing ID:          1.2d\nQuorate:          {'Yes' if quorate else 'No'}\n\n"
            "Votequorum information\n----------------------\n"
            f"Expected votes:   {expected}\nHighest expected: {expected}\nTotal votes:      {total}\n"
            f"Quorum:           {quorum} {'' if quorate else 'Activity blocked'}\n"
            f"Flags:            {'Quorate ' if quorate else ''}Qdevice\n\nMembership information\n----------------------\n"
            "    Nodeid      Votes    Qdevice Name\n0x00000001          1    A,V,NMW 10.0.10.11 (local)\n")


def test_pvecm_status_reads_quorate_and_the_votes(tools):
    tools.fake("pvecm", pvecm_status(True, 3, 3, 2))
    assert tools.ask(probes.QUORATE).returncode == 0
    assert [tools.ask(p).stdout for p in (probes.TOTAL_VOTES, probes.EXPECTED_VOTES, probes.QUORUM_VOTES)] == ["3\n", "3\n", "2\n"]


def test_pvecm_status_not_quorate_exits_2_and_still_gives_its_numbers(tools):
    tools.fake("pvecm", pvecm_status(False, 3, 1, 2), status=2)
    assert tools.ask(probes.QUORATE).returncode == 1
    assert [tools.ask(p).stdout for p in (probes.TOTAL_VOTES, probes.EXPECTED_VOTES, probes.QUORUM_VOTES)] == ["1\n", "3\n", "2\n"]


def test_pvecm_status_outside_a_cluster_is_not_quorate_and_has_no_numbers(tools):
    tools.fake("pvecm", stderr="Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n",
               status=2)
    assert tools.ask(probes.QUORATE).returncode == 1
    assert tools.ask(probes.TOTAL_VOTES).stdout == "" and tools.ask(probes.EXPECTED_VOTES).stdout == ""
