"""Who is online, as the lab's API and HA daemons read it from `corosync-quorumtool -s` and its shims from `-l`:
the nodelist's members corosync lists, never the QDevice's own row (PVE's /cluster/status and pvecm take members
from corosync.conf's nodelist, by nodeid; a QDevice is a vote, not a node)."""
from __future__ import annotations

from lab.api.core import ClusterView
from lab.api.store import Store
from lab.common import wait_until
from lab.pve import corosync

from .conftest import COROSYNC

# corosync-quorumtool -l with a QDevice: a flags column before the name, and the device's row with nodeid 0.
LISTED = """
Membership information
----------------------
    Nodeid      Votes    Qdevice Name
         1          1    A,V,NMW pve1 (local)
         2          1    A,V,NMW pve2
         0          1            Qdevice
"""


# corosync-quorumtool -s on a member that lost quorum (exit 2): the quorum sections, then the same membership list.
STATUS = """
Quorum information
------------------
Nodes:            1
Node ID:          1
Ring ID:          1.2d
Quorate:          No

Votequorum information
----------------------
Expected votes:   3
Total votes:      2
Quorum:           2 Activity blocked
Flags:            Qdevice

Membership information
----------------------
    Nodeid      Votes    Qdevice Name
         1          1    A,V,NMW pve1 (local)
         0          1            Qdevice
"""

# The same on a quorate member, as the API reads it: its membership section is LISTED.
QUORATE = (STATUS.replace("Quorate:          No", "Quorate:          Yes").split("Membership information")[0]
           + LISTED.lstrip())


def fake_quorumtool(tmp_path, monkeypatch, status=STATUS, code=2):
    """corosync-quorumtool on a member: `-s` prints `status` and exits `code`, `-l` prints LISTED."""
    tool = tmp_path / "bin" / "corosync-quorumtool"
    tool.parent.mkdir()
    tool.write_text(f"#!/bin/sh\nif [ \"$1\" = -s ]; then cat <<'END'\n{status}END\nexit {code}; fi\n"
                    f"cat <<'END'\n{LISTED}END\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tool.parent}:/usr/bin:/bin")
    monkeypatch.setattr(corosync, "LOCAL_COROSYNC_CONF", tmp_path / "corosync.conf")
    (tmp_path / "corosync.conf").write_text(COROSYNC)


def test_the_api_counts_no_qdevice_among_the_members(tmp_path, monkeypatch):
    fake_quorumtool(tmp_path, monkeypatch, QUORATE, 0)
    assert sorted(ClusterView(Store(tmp_path), "pve1").members()) == ["pve1", "pve2"]


def test_the_shims_count_no_qdevice_among_the_members(tmp_path, monkeypatch):
    fake_quorumtool(tmp_path, monkeypatch)
    assert corosync.online_members(corosync.parse_conf(COROSYNC)) == ["pve1", "pve2"]


def test_the_ha_daemons_read_quorum_and_members_from_one_status(tmp_path, monkeypatch):
    fake_quorumtool(tmp_path, monkeypatch)
    # Not "Nodes: 1" nor the QDevice's row: only the membership section's members.
    assert corosync.quorum(corosync.parse_conf(COROSYNC)) == (False, ["pve1"])


def test_the_ha_daemons_follow_corosync_on_one_monitor_connection(tmp_path, monkeypatch):
    """corosync.QuorumWatch: `corosync-quorumtool -m` prints a status at start and at each change, each ended by a
    blank line; the watch reads them as they come, and starts the monitor again once corosync has dropped it."""
    fake_quorumtool(tmp_path, monkeypatch)
    tool, starts = tmp_path / "bin" / "corosync-quorumtool", tmp_path / "starts"
    tool.write_text(f"""#!/bin/sh
echo start >> {starts}
printf '%s\\n\\n' "$(cat <<'END'
{QUORATE}END
)"
while [ ! -e {tmp_path}/change ]; do sleep 0.05; done
printf '%s\\n\\n' "$(cat <<'END'
{STATUS}END
)"
while [ ! -e {tmp_path}/stop ]; do sleep 0.05; done
""")
    watch, cluster = corosync.QuorumWatch(), corosync.parse_conf(COROSYNC)
    assert wait_until(lambda: watch.quorum(cluster) == (True, ["pve1", "pve2"]), 10)
    (tmp_path / "change").touch()  # pve2 leaves, and the QDevice's vote is not enough
    assert wait_until(lambda: watch.quorum(cluster) == (False, ["pve1"]), 10)
    assert starts.read_text().splitlines() == ["start"]  # every answer so far from the one monitor
    (tmp_path / "change").unlink()
    (tmp_path / "stop").touch()  # corosync restarts: the monitor ends, the next question starts another
    assert wait_until(lambda: watch.quorum(cluster) == (True, ["pve1", "pve2"]), 10)
    assert starts.read_text().splitlines() == ["start", "start"]
    (tmp_path / "change").touch()  # the second monitor ends too
