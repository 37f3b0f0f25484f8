"""The e2e tests' exec listener (tests/e2e/helpers.py Execs): every process exec'd while it listens is read, so a
secret on a command line would be seen; not-lab, as it needs only root."""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.e2e.helpers import Execs


def test_a_process_exec_d_meanwhile_is_read_with_its_arguments():
    if os.geteuid() != 0:
        pytest.skip("the proc connector needs root")
    execs = Execs()
    try:
        subprocess.run(["bash", "-c", "sleep 0.2 && exec sleep 0.1"], check=True)
        subprocess.run(["bash", "-c", "sleep 0.2; true", "a-secret-on-argv"], check=True)
    finally:
        execs.stop()
    assert "bash -c sleep 0.2 && exec sleep 0.1 " in execs.lines
    assert "sleep 0.1 " in execs.lines, "an exec without a fork is read too"
    assert "bash -c sleep 0.2; true a-secret-on-argv " in execs.lines
    assert "sleep 0.2 " in execs.lines
