"""The command stand-in's plan for a changed Command, as pulumi-command 1.2.1 plans it: `triggers` is the one input
tagged `replaceOnChanges` (provider/pkg/provider/common/inputs.go); every other change is an update in place."""
from __future__ import annotations

from lab.providers.command import RemoteCommand

OLD = {"connection": {"host": "10.0.0.1"}, "create": "bash -c a", "update": "bash -c a"}


def test_a_changed_script_updates_in_place():
    assert RemoteCommand({}).diff(OLD, {**OLD, "create": "bash -c b", "update": "bash -c b"}, OLD) == (["create", "update"], [])


def test_triggers_set_changed_or_dropped_replace():
    nine = {**OLD, "triggers": ["PVE 9"]}
    assert RemoteCommand({}).diff(OLD, nine, OLD) == (["triggers"], ["triggers"])
    assert RemoteCommand({}).diff(nine, {**OLD, "triggers": ["PVE 8"]}, nine) == (["triggers"], ["triggers"])
    assert RemoteCommand({}).diff(nine, OLD, nine) == (["triggers"], ["triggers"])
    assert RemoteCommand({}).diff(nine, dict(nine), nine) == ([], [])
