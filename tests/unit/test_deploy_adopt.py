"""`python -m deploy up` whose update leaves the HA groups migrated by PVE 9 runs a second update, which reads the
first one's outputs (program.LAST_OUTPUTS) and adopts the rules; any other update runs once."""
from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest
from pulumi import automation as auto

import program
from deploy import driver


class FakeStack:
    """Answers outputs() with the stored ones; each up() records the LAST_OUTPUTS it ran with and returns the next."""

    def __init__(self, shapes: list[str]):
        self.shapes, self.ran = list(shapes), []

    def outputs(self):
        return {"haShape": auto.OutputValue("groups", False)}

    def preview(self, **_):
        pass

    def up(self, **_):
        self.ran.append(json.loads(os.environ[program.LAST_OUTPUTS]))
        return SimpleNamespace(outputs={"haShape": auto.OutputValue(self.shapes.pop(0), False)})


@pytest.fixture
def up(monkeypatch, tmp_path):
    stack_file = tmp_path / "Pulumi.lab.yaml"
    stack_file.write_text("config: {}\n")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    monkeypatch.setenv(program.LAST_OUTPUTS, "")  # restored after the test: the driver sets it
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path}")
    monkeypatch.setattr(driver.cli, "choose", lambda path: (tmp_path / "pulumi", "fake CLI"))
    monkeypatch.setattr(driver.cli, "root", lambda binary: tmp_path)
    monkeypatch.setattr(driver.locks, "stale", lambda *args: [])
    monkeypatch.setattr(driver.plugins, "choose", lambda *args: ("/bin", []))

    def run(stack: FakeStack) -> int:
        monkeypatch.setattr(driver, "select_stack", lambda *args: SimpleNamespace(**{
            name: getattr(stack, name) for name in ("outputs", "preview", "up")}, workspace=SimpleNamespace(env_vars={})))
        return driver.run(driver.parse_args(["up", "--stack", "lab", "--config-file", str(stack_file), "--no-policy"]))

    return run


def test_an_update_that_leaves_groups_migrated_is_followed_by_the_adopting_one(up, capsys):
    stack = FakeStack(["migrated", "rules"])
    assert up(stack) == 0
    assert stack.ran == [{"haShape": "groups"}, {"haShape": "migrated"}]
    assert "a second update adopts them" in capsys.readouterr().out


def test_any_other_update_runs_once(up):
    stack = FakeStack(["rules"])
    assert up(stack) == 0 and stack.ran == [{"haShape": "groups"}]
