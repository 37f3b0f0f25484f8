"""The lab benches' short runs (`bench/e2e --smoke` runs in tests/engine, with no lab): each bench starts from
`lab down`, measures on a lab of its own, prints its figures and leaves the lab down, so a change that breaks a bench
fails here."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from .conftest import REPO

pytestmark = [pytest.mark.lab, pytest.mark.own_lab]


def bench(capsys, *argv: str) -> str:
    done = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    with capsys.disabled():  # the figures, in make test's output
        print(f"\n{' '.join(argv)}:\n{done.stdout}")
    return done.stdout


def test_bench_lab_prints_each_phase_and_the_lab_memory(capsys):
    figures = json.loads(bench(capsys, "bench/lab", "--json"))
    phases = figures["phases_s"]
    assert phases["hosts_up"] > 0 and phases["ceph_total"] > 0 and phases["down"] > 0
    assert phases["up_to_ready"] == pytest.approx(phases["hosts_up"] + phases["storage_network_corosync_quorate"]
                                                  + phases["ceph_total"], abs=0.5)
    assert figures["peak_rss_sampled_bytes"] >= figures["rss_when_ready_bytes"] > 0


@pytest.mark.parametrize("script, figure", [
    ("bench/scale", r"ceph rebalance, one OSD out -> clean\s+([\d.]+) s\s+\(smoke\)"),
    ("bench/upgrade", r"restart and rejoin of pve2 \(smoke\)\s+([\d.]+) s"),
], ids=["scale", "upgrade"])
def test_bench_smoke_prints_its_figure(capsys, script, figure):
    printed = re.findall(figure, bench(capsys, script, "--smoke"))
    assert len(printed) == 1 and float(printed[0]) > 0
