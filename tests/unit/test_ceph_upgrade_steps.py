"""The Ceph release move's steps under a private /etc and a fake `ceph` that answers from files: the packages move
only from a clean cluster and never back, a monitor restarts only while every monitor is in quorum, a node whose
OSDs run the release is left alone, and `require-osd-release` waits for every daemon."""
from __future__ import annotations

import json

from remote import ceph_upgrade_steps as steps
from remote.step import Step

PVE8 = "echo 'pve-manager/8.4.1/2a5fa54a8503f96d (running kernel: 6.8.12-9-pve)'"
REEF_LIST = "deb http://download.proxmox.com/debian/ceph-reef bookworm no-subscription\n"
VERSION = {18: "ceph version 18.2.7 (lab) reef (stable)", 19: "ceph version 19.2.3 (lab) squid (stable)",
           20: "ceph version 20.2.0 (lab) tentacle (stable)"}


class FakeCeph:
    """`ceph`, `apt-get` and `systemctl` over a state directory: installed major, each daemon's release, PG health."""

    def __init__(self, etc, installed: int = 18, clean: bool = True):
        self.state = etc.root / "ceph-state"
        self.state.mkdir()
        self.write("installed", str(installed))
        self.write("clean", "yes" if clean else "no")
        self.write("quorum", json.dumps({"quorum_names": ["pve1", "pve2", "pve3"],
                                         "monmap": {"mons": [{"name": n} for n in ("pve1", "pve2", "pve3")]}}))
        self.write("require", "reef")
        for daemon in ("mon.pve1", "mon.pve2", "mgr.pve1", "osd.0", "osd.1"):
            self.write(daemon, "reef")
        s = self.state
        versions = " ".join(f"[{major}]='{text}'" for major, text in VERSION.items())
        etc.fake("ceph", f"""declare -A V=({versions})
args=" $* "
[ ! -e {s}/unreachable ] || {{ echo "[errno 110] RADOS timed out (error connecting to the cluster)" >&2; exit 1; }}
case "$args" in
  *" --version "*) echo "${{V[$(cat {s}/installed)]}}" ;;
  *" pg stat "*) [ "$(cat {s}/clean)" = yes ] && echo '{{"num_pgs": 8, "num_pg_by_state": [{{"name": "active+clean", "num": 8}}]}}' \\
                   || echo '{{"num_pgs": 8, "num_pg_by_state": [{{"name": "active+undersized+degraded", "num": 8}}]}}' ;;
  *" quorum_status "*) cat {s}/quorum ;;
  *" metadata "*) set -- $*; echo "{{\\"ceph_release\\": \\"$(cat {s}/$3.$5)\\"}}" ;;
  *" osd ls-tree pve1 "*) printf '0\\n1\\n' ;;
  *" osd crush ls pve1 "*) printf 'osd.0\\nosd.1\\n' ;;
  *" osd dump --format json "*) echo "{{\\"require_osd_release\\": \\"$(cat {s}/require)\\"}}" ;;
  *" osd dump "*) printf 'osd.0 up   in  weight 1\\nosd.1 up   in  weight 1\\n' ;;
  *" versions "*) cat {s}/versions ;;
  *" require-osd-release "*) echo "$3" > {s}/require ;;
  *" osd set "*|*" osd unset "*) ;;
  *) echo "fake ceph: $*" >&2; exit 22 ;;
esac""")
        # A full-upgrade installs what the Ceph repository names; a restart runs what is installed.
        etc.fake("apt-get", f"""case " $* " in *" full-upgrade "*)
  grep -q ceph-squid /etc/apt/sources.list.d/ceph.list && echo 19 > {s}/installed ;; esac""")
        etc.fake("systemctl", f"""declare -A R=([18]=reef [19]=squid [20]=tentacle)
release=${{R[$(cat {s}/installed)]}}
case "$2" in
  ceph-mon@*) echo "$release" > {s}/mon.${{2#ceph-mon@}} ;;
  ceph-mgr@*) echo "$release" > {s}/mgr.${{2#ceph-mgr@}} ;;
  ceph-osd.target) echo "$release" > {s}/osd.0; echo "$release" > {s}/osd.1 ;;
esac""")
        etc.fake("pveversion", PVE8)
        etc.fake("ceph-mon", "true")
        etc.file("/etc/pve/ceph.conf", "[global]\n\tfsid = 1\n")
        etc.file("/etc/apt/sources.list.d/ceph.list", REEF_LIST)

    def write(self, name: str, value: str) -> None:
        (self.state / name).write_text(value + "\n")

    def read(self, name: str) -> str:
        return (self.state / name).read_text().strip()


def act(step: Step) -> Step:
    """The step with its check forced to "not done" (a daemon directory /var/lib/ceph cannot be faked here)."""
    return Step(step.name, step.node, "false", step.act, step.verify)


def test_packages_move_to_the_release_through_the_repository_file(etc):
    ceph = FakeCeph(etc)
    done = etc.run(steps.packages("pve1", "squid"))
    assert done.returncode == 0, done.stderr
    assert etc.read("/etc/apt/sources.list.d/ceph.list") == REEF_LIST.replace("ceph-reef", "ceph-squid")
    apt = [call for call in etc.called() if call.startswith("apt-get")]
    assert apt[0] == "apt-get update -q" and apt[1].endswith("full-upgrade")
    assert ceph.read("installed") == "19" and ceph.read("mon.pve1") == "reef"
    again = etc.run(steps.packages("pve1", "squid"))
    assert "already done, skipped" in again.stderr


def test_packages_never_move_back_nor_from_an_unclean_cluster(etc):
    ceph = FakeCeph(etc, installed=20)
    newer = etc.run(steps.packages("pve1", "squid"))
    assert newer.returncode == 1 and "pve1 has Ceph 20, newer than squid (19): Ceph never moves back" in newer.stderr
    ceph.write("installed", "18")
    ceph.write("clean", "no")
    degraded = etc.run(steps.packages("pve1", "squid"))
    assert degraded.returncode == 1 and "not all active+clean" in degraded.stderr
    assert etc.read("/etc/apt/sources.list.d/ceph.list") == REEF_LIST
    assert not [call for call in etc.called() if call.startswith("apt-get")]


def test_a_release_the_nodes_pve_does_not_offer_is_refused(etc):
    FakeCeph(etc, installed=19)
    refused = etc.run(steps.packages("pve1", "tentacle"))
    assert refused.returncode == 1 and "PVE 8 on pve1 offers no Ceph tentacle" in refused.stderr


def test_a_node_without_ceph_is_left_alone(etc):
    FakeCeph(etc)
    (etc.etc / "apt" / "sources.list.d" / "ceph.list").unlink()
    done = etc.run(steps.packages("pve3", "squid"))
    assert "already done, skipped" in done.stderr
    assert not [call for call in etc.called() if call.startswith(("apt-get", "ceph"))]


def test_a_monitor_restarts_only_while_every_monitor_is_in_quorum(etc):
    ceph = FakeCeph(etc, installed=19)
    ceph.write("quorum", json.dumps({"quorum_names": ["pve1", "pve3"],
                                     "monmap": {"mons": [{"name": n} for n in ("pve1", "pve2", "pve3")]}}))
    refused = etc.run(act(steps.monitor("pve1", "squid")))
    assert refused.returncode == 1 and "not every Ceph monitor is in quorum" in refused.stderr
    assert not [call for call in etc.called() if call.startswith("systemctl")]
    ceph.write("quorum", json.dumps({"quorum_names": ["pve1", "pve2", "pve3"],
                                     "monmap": {"mons": [{"name": n} for n in ("pve1", "pve2", "pve3")]}}))
    done = etc.run(act(steps.monitor("pve1", "squid")))
    assert done.returncode == 0, done.stderr
    assert "systemctl restart ceph-mon@pve1" in etc.called() and ceph.read("mon.pve1") == "squid"
    assert "ceph osd set noout" in etc.called()


def test_a_daemon_before_its_packages_is_refused(etc):
    FakeCeph(etc, installed=18)
    refused = etc.run(act(steps.manager("pve1", "squid")))
    assert refused.returncode == 1 and "the Ceph packages on pve1 are not squid yet" in refused.stderr


def test_osds_already_on_the_release_are_left_alone_and_others_restart(etc):
    ceph = FakeCeph(etc, installed=19)
    done = etc.run(steps.osds("pve1", "squid"))
    assert done.returncode == 0, done.stderr
    assert "systemctl restart ceph-osd.target" in etc.called() and ceph.read("osd.1") == "squid"
    again = etc.run(steps.osds("pve1", "squid"))
    assert "already done, skipped" in again.stderr
    ceph.write("unreachable", "yes")
    unread = etc.run(steps.osds("pve1", "squid"))
    assert unread.returncode == 1 and "cannot read the CRUSH map (bucket pve1) from Ceph" in unread.stderr


def test_require_osd_release_waits_for_every_daemon(etc):
    ceph = FakeCeph(etc, installed=19)
    ceph.write("versions", json.dumps({"overall": {VERSION[18]: 2, VERSION[19]: 7}}))
    mixed = etc.run(steps.required("pve1", "squid"))
    assert mixed.returncode == 1 and "not every Ceph daemon runs squid" in mixed.stderr and ceph.read("require") == "reef"
    ceph.write("versions", json.dumps({"overall": {VERSION[19]: 9}}))
    done = etc.run(steps.required("pve1", "squid"))
    assert done.returncode == 0, done.stderr
    assert ceph.read("require") == "squid" and "ceph osd unset noout" in etc.called()
    again = etc.run(steps.required("pve1", "squid"))
    assert "already done, skipped" in again.stderr
