"""The e2e tests' quorum watch (tests/e2e/helpers.py QuorumWatch) on scripted monitors: every announced change is
judged, a monitor that ends counts as not quorate until the next one connects, and stop() ends them all."""
from __future__ import annotations

import time

from tests.e2e.helpers import QuorumWatch, wait_until

# What `corosync-quorumtool -m` prints, as far as the watch reads it: a status at connect and one at each change.
SCRIPTS = {
    # Loses quorum for a moment, regains it, then its corosync goes away; the next monitor finds it quorate.
    "pve1": ["echo 'Quorum information'; echo 'Quorate:          Yes'; sleep 1; echo 'Quorate:          No'; "
             "sleep 0.5; echo 'Quorate:          Yes'",
             "echo 'Quorate:          Yes'; exec sleep 30"],
    "pve2": ["echo 'Quorate:          Yes'; exec sleep 30"],
}


class ScriptedLab:
    def __init__(self):
        self.connections: dict[str, int] = {}

    def ssh_command(self, host: str, command: str, tty: bool = False) -> list[str]:
        assert command == "corosync-quorumtool -m" and tty
        n = self.connections.get(host, 0)
        self.connections[host] = n + 1
        return ["bash", "-c", SCRIPTS[host][min(n, len(SCRIPTS[host]) - 1)]]


def test_every_change_is_judged_and_an_ended_monitor_is_not_quorate_until_the_next_connects():
    lab = ScriptedLab()
    watch = QuorumWatch(lab, ("pve1", "pve2"), lambda quorate: all(quorate.values()))
    wait_until("pve1's second monitor to say quorate", lambda: lab.connections["pve1"] == 2 and watch.quorate["pve1"], 10, 0.1)
    started = time.monotonic()
    lost = watch.stop()
    assert time.monotonic() - started < 5, "stop() ends the monitors still running"
    assert [moment.split(" ", 1)[1] for moment in lost] == ["{'pve1': False, 'pve2': True}"] * 2, lost
    assert lab.connections == {"pve1": 2, "pve2": 1}


def test_a_node_that_never_reports_fails_the_watch_naming_it():
    class Silent(ScriptedLab):
        def ssh_command(self, host, command, tty=False):
            return ["bash", "-c", "exec sleep 30"] if host == "pve2" else super().ssh_command(host, command, tty)

    try:
        QuorumWatch(Silent(), ("pve1", "pve2"), all, timeout=1)
    except AssertionError as error:
        assert "a quorum status from each of pve1, pve2" in str(error)
    else:
        raise AssertionError("the watch started without pve2's status")
