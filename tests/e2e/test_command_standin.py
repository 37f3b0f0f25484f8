"""The command stand-in on the lab's real sshd (stock AcceptEnv LANG LC_*): what the real plugin refuses, it refuses."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from lab.providers.command import run
from lab.providers.grpc_plugin import ResourceError

pytestmark = pytest.mark.lab


def connection(lab, node: str = "pve1", **changes) -> dict:
    host = lab.hosts[node]
    return {"host": host["management_address"], "port": 22.0, "user": "root", "dialErrorLimit": 10.0, "perDialTimeout": 15.0,
            "privateKey": Path(lab.info["ssh"]["private_key"]).read_text(), "hostKey": host["host_key"], **changes}


def test_an_env_request_outside_acceptenv_fails_before_the_command_runs(fresh_lab):
    marker = f"/root/ran-{uuid.uuid4().hex}"  # /root is the host's own; /tmp is the machine's
    with pytest.raises(ResourceError, match=r'could not set environment variable "IPMI_PASSWORD": ssh: setenv failed'):
        run({"connection": connection(fresh_lab), "environment": {"IPMI_PASSWORD": "x"}}, f"touch {marker}")
    assert "absent" in fresh_lab.ok("pve1", f"test -e {marker} && echo present || echo absent")
    assert run({"connection": connection(fresh_lab), "environment": {"LANG": "C.UTF-8"}}, "echo $LANG") == ("C.UTF-8", "")


def test_stdin_reaches_the_command_and_output_loses_one_newline(fresh_lab):
    assert run({"connection": connection(fresh_lab), "stdin": "s3cret\n"}, "read -r v; echo got-$v; echo e >&2") == ("got-s3cret", "e")


def test_a_non_zero_exit_names_the_command_and_shows_its_output(fresh_lab):
    with pytest.raises(ResourceError) as failure:
        run({"connection": connection(fresh_lab)}, "echo out; exit 3")
    assert str(failure.value) == 'Process exited with status 3: running "echo out; exit 3":\nout\n'


def test_a_host_key_that_differs_is_a_dial_error_retried_then_reported(fresh_lab):
    other = fresh_lab.hosts["pve2"]["host_key"]
    with pytest.raises(ResourceError, match=r"^after 1 failed attempts: ssh: handshake failed: ssh: host key mismatch$"):
        run({"connection": connection(fresh_lab, hostKey=other, dialErrorLimit=1.0)}, "true")
