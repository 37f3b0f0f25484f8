"""The pvesh shim: PVE's API on the command line, through the lab API's handlers, with PVE's refusals."""
from __future__ import annotations

import json

import pytest

from lab.api.dispatch import PVEAPI
from lab.shims import apicli, pvelib, pvesh


@pytest.fixture
def cli(lab, monkeypatch, capsys):
    monkeypatch.setattr(pvelib, "PVE", lab.pve)
    # The test's cluster is quorate by the fixture's hook, not by a corosync on this machine.
    monkeypatch.setattr(apicli, "api", lambda: PVEAPI(lab.pve, "pve1", pve_version=8, quorum=lambda: lab.quorum["quorate"]))

    def run(*argv: str):
        code = pvesh.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_a_backup_job_round_trip(cli):
    assert cli("create", "/cluster/backup", "--id", "nightly", "--schedule", "02:00", "--storage", "local", "--all", "1")[0] == 0
    code, out, _ = cli("get", "/cluster/backup/nightly", "--output-format", "json")
    job = json.loads(out)
    assert code == 0 and (job["schedule"], job["storage"], job["all"]) == ("02:00", "local", 1)
    assert cli("set", "/cluster/backup/nightly", "--schedule", "03:00")[0] == 0
    assert json.loads(cli("get", "/cluster/backup/nightly")[1])["schedule"] == "03:00"
    assert cli("delete", "/cluster/backup/nightly")[0] == 0
    code, _, err = cli("get", "/cluster/backup/nightly")
    assert code == 255 and "id: No such job 'nightly'" in err


def test_refusals_are_pves(cli):
    code, _, err = cli("create", "/cluster/backup", "--id", "job1", "--schedule", "0 2 * * *", "--storage", "local", "--all", "1")
    assert code == 255 and err.startswith("400 Parameter verification failed.\nschedule:")
    code, _, err = cli("get", "/cluster/ha/rules")  # PVE 8 has no HA rules
    assert code == 255 and "No 'get' handler defined for '/cluster/ha/rules'" in err
    code, _, err = cli("create", "/access/ticket", "--username", "root@pam", "--password", "wrong")
    assert code == 255 and "authentication failure" in err
    code, _, err = cli("set", "/cluster/backup/x", "--bogus", "1")
    assert code == 255 and "Unknown option: bogus" in err


def test_no_writes_without_quorum(cli, lab):
    lab.quorum["quorate"] = False
    code, _, err = cli("create", "/cluster/backup", "--id", "job1", "--schedule", "02:00", "--storage", "local", "--all", "1")
    assert code == 255 and "cluster not ready - no quorum?" in err
    assert cli("get", "/cluster/backup")[0] == 0
