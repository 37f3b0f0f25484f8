"""The Ceph release move's steps under a private /etc and a fake `ceph` that answers from files: the packages move
only from a clean cluster and never back; the daemons restart kind by kind and node by node (a monitor only while
every monitor is in quorum), a daemon on the release is left alone, and `require-osd-release` waits for all."""
from __future__ import annotations

import json

from remote import ceph_upgrade_steps as steps

PVE8 = "echo 'pve-manager/8.4.1/2a5fa54a8503f96d (running kernel: 6.8.12-9-pve)'"
REEF_LIST = "deb http://download.proxmox.com/debian/ceph-reef bookworm no-subscription\n"


FAKE_CEPH = r"""
import json, os, sys
state, host = sys.argv[1], os.environ.get("FAKE_HOST", "pve1")
args = [a for a in sys.argv[2:] if a not in ("--format", "json", "--connect-timeout", "30")]
read = lambda name: open(os.path.join(state, name)).read().strip()
if os.path.exists(os.path.join(state, "unreachable")):
    sys.exit("[errno 110] RADOS timed out (error connecting to the cluster)")
daemons = {name: read(name) for name in os.listdir(state) if name.startswith(("mon.", "mgr.", "osd."))}
VERSIONS = {"reef": "18.2.7", "squid": "19.2.3", "tentacle": "20.2.0"}
RELEASES = {"18": "reef", "19": "squid", "20": "tentacle"}
line = lambda release: f"ceph version {VERSIONS[release]} (lab) {release} (stable)"
if args == ["--version"]:
    print(line(RELEASES[read("installed." + host)]))
elif args == ["pg", "stat"]:
    state_name = "active+clean" if read("clean") == "yes" else "active+undersized+degraded"
    print(json.dumps({"num_pgs": 8, "num_pg_by_state": [{"name": state_name, "num": 8}]}))
elif args == ["quorum_status"]:
    print(read("quorum"))
elif args == ["mon", "dump"]:
    mons = [d[4:] for d in sorted(daemons) if d.startswith("mon.")]
    print(json.dumps({"mons": [{"name": m, "public_addr": "10.0.100.1:6789/0"} for m in mons]}))
elif args[:2] == ["auth", "get"]:
    sys.exit(0 if args[2] in daemons else "Error ENOENT: failed to find " + args[2])
elif args[1:2] == ["metadata"]:
    print(json.dumps({"ceph_release": daemons[args[0] + "." + args[2]]}))
elif args[:2] == ["osd", "ls-tree"]:
    print({"pve1": "0", "pve2": "1"}.get(args[2], ""))
elif args == ["osd", "dump"] and "--format" in sys.argv:
    print(json.dumps({"require_osd_release": read("require")}))
elif args == ["osd", "dump"]:
    print("\n".join(f"{d} up   in  weight 1" for d in sorted(daemons) if d.startswith("osd.")))
elif args == ["versions"]:
    overall = {}
    for release in daemons.values():
        overall[line(release)] = overall.get(line(release), 0) + 1
    print(json.dumps({"overall": overall}))
elif args[:2] == ["osd", "require-osd-release"]:
    open(os.path.join(state, "require"), "w").write(args[2])
elif args[:2] not in (["osd", "set"], ["osd", "unset"]):
    sys.exit(f"fake ceph: {args}")
"""


class FakeCeph:
    """`ceph`, `apt-get`, `systemctl` and `ssh` over a state directory: each host's installed major, each daemon's
    release, PG health, the monitors' quorum. `ssh` runs its command here, as the member it names (FAKE_HOST)."""

    def __init__(self, etc, installed: int = 18, clean: bool = True):
        self.state = etc.root / "ceph-state"
        self.state.mkdir()
        for host in ("pve1", "pve2"):
            self.write(f"installed.{host}", str(installed))
        self.write("clean", "yes" if clean else "no")
        self.quorum(["pve1", "pve2"])
        self.write("require", "reef")
        for daemon in ("mon.pve1", "mon.pve2", "mgr.pve1", "osd.0", "osd.1"):
            self.write(daemon, "reef")
        s = self.state
        (etc.root / "fake_ceph.py").write_text(FAKE_CEPH)
        etc.fake("ceph", f'exec python3 {etc.root}/fake_ceph.py {s} "$@"')
        # A full-upgrade installs what the Ceph repository names; a restart runs what is installed on its host.
        etc.fake("apt-get", f"""case " $* " in *" full-upgrade "*)
  grep -q ceph-squid /etc/apt/sources.list.d/ceph.list && echo 19 > {s}/installed.${{FAKE_HOST:-pve1}} ;; esac""")
        etc.fake("systemctl", f"""declare -A R=([18]=reef [19]=squid [20]=tentacle)
host=${{FAKE_HOST:-pve1}}; release=${{R[$(cat {s}/installed.$host)]}}
echo "$host $*" >> {s}/restarts
case "$2" in
  ceph-mon@*) echo "$release" > {s}/mon.${{2#ceph-mon@}} ;;
  ceph-mgr@*) echo "$release" > {s}/mgr.${{2#ceph-mgr@}} ;;
  ceph-osd.target) [ "$host" = pve1 ] && echo "$release" > {s}/osd.0 || echo "$release" > {s}/osd.1 ;;
esac""")
        etc.fake("ssh", 'host=$(printf "%s\\n" "$@" | sed -n "s/^HostKeyAlias=//p"); FAKE_HOST=$host bash -c "${@: -1}"')
        etc.fake("pveversion", PVE8)
        etc.fake("ceph-mon", "true")
        etc.file("/etc/pve/ceph.conf", "[global]\n\tfsid = 1\n\tmon_host = 10.0.100.11 10.0.100.12\n")
        etc.file("/etc/apt/sources.list.d/ceph.list", REEF_LIST)

    def quorum(self, names: list[str]) -> None:
        self.write("quorum", json.dumps({"quorum_names": names, "monmap": {"mons": [{"name": "pve1"}, {"name": "pve2"}]}}))

    def write(self, name: str, value: str) -> None:
        (self.state / name).write_text(value + "\n")

    def read(self, name: str) -> str:
        return (self.state / name).read_text().strip()

    def restarts(self) -> list[str]:
        path = self.state / "restarts"
        return path.read_text().splitlines() if path.exists() else []


MEMBERS = [("pve1", "10.0.10.11"), ("pve2", "10.0.10.12")]


def test_packages_move_to_the_release_through_the_repository_file(etc):
    ceph = FakeCeph(etc)
    done = etc.run(steps.packages("pve1", "squid"))
    assert done.returncode == 0, done.stderr
    assert etc.read("/etc/apt/sources.list.d/ceph.list") == REEF_LIST.replace("ceph-reef", "ceph-squid")
    apt = [call for call in etc.called() if call.startswith("apt-get")]
    assert apt[0] == "apt-get update -q" and apt[1].endswith("full-upgrade")
    assert ceph.read("installed.pve1") == "19" and ceph.read("mon.pve1") == "reef"
    again = etc.run(steps.packages("pve1", "squid"))
    assert "already done, skipped" in again.stderr


def test_packages_never_move_back_nor_from_an_unclean_cluster(etc):
    ceph = FakeCeph(etc, installed=20)
    newer = etc.run(steps.packages("pve1", "squid"))
    assert newer.returncode == 1 and "pve1 has Ceph 20, newer than squid (19): Ceph never moves back" in newer.stderr
    ceph.write("installed.pve1", "18")
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


def test_daemons_restart_one_kind_and_one_node_at_a_time_then_the_floor_rises(etc):
    ceph = FakeCeph(etc, installed=19)
    done = etc.run(steps.daemons("pve1", MEMBERS, "squid"))
    assert done.returncode == 0, done.stderr
    assert ceph.restarts() == ["pve1 restart ceph-mon@pve1", "pve2 restart ceph-mon@pve2", "pve1 restart ceph-mgr@pve1",
                               "pve1 restart ceph-osd.target", "pve2 restart ceph-osd.target"]
    assert ceph.read("require") == "squid"
    calls = etc.called()
    assert calls.index("ceph osd set noout") < calls.index("ceph osd unset noout") < calls.index(
        "ceph osd require-osd-release squid")
    again = etc.run(steps.daemons("pve1", MEMBERS, "squid"))
    assert "already done, skipped" in again.stderr and len(ceph.restarts()) == 5


def test_a_cut_move_restarts_only_the_daemons_still_on_the_old_release(etc):
    ceph = FakeCeph(etc, installed=19)
    for daemon in ("mon.pve1", "mon.pve2", "mgr.pve1", "osd.0"):
        ceph.write(daemon, "squid")
    done = etc.run(steps.daemons("pve1", MEMBERS, "squid"))
    assert done.returncode == 0, done.stderr
    assert ceph.restarts() == ["pve2 restart ceph-osd.target"]


def test_a_monitor_restarts_only_while_every_monitor_is_in_quorum(etc):
    ceph = FakeCeph(etc, installed=19)
    ceph.quorum(["pve2"])
    refused = etc.run(steps.daemons("pve1", MEMBERS, "squid"))
    assert refused.returncode == 1 and "not every Ceph monitor is in quorum" in refused.stderr
    assert ceph.restarts() == []


def test_a_daemon_before_its_nodes_packages_is_refused_naming_the_node(etc):
    ceph = FakeCeph(etc, installed=19)
    ceph.write("installed.pve2", "18")
    refused = etc.run(steps.daemons("pve1", MEMBERS, "squid"))
    assert refused.returncode == 1 and "the Ceph packages on pve2 are not squid yet" in refused.stderr
    assert "restarting the monitor of pve2 failed" in refused.stderr
    assert ceph.restarts() == ["pve1 restart ceph-mon@pve1"] and ceph.read("require") == "reef"


def test_a_cluster_without_monitors_is_left_alone_and_an_unreadable_one_fails(etc):
    ceph = FakeCeph(etc)
    etc.file("/etc/pve/ceph.conf", "[global]\n\tfsid = 1\n")
    done = etc.run(steps.daemons("pve1", MEMBERS, "squid"))
    assert "already done, skipped" in done.stderr and not [c for c in etc.called() if c.startswith("ceph")]
    etc.file("/etc/pve/ceph.conf", "[global]\n\tmon_host = 10.0.100.11\n")
    ceph.write("unreachable", "yes")
    unread = etc.run(steps.daemons("pve1", MEMBERS, "squid"))
    assert unread.returncode == 1 and "cannot read the daemons' versions from Ceph" in unread.stderr


def test_a_daemon_on_a_node_the_stack_does_not_list_keeps_the_floor(etc):
    ceph = FakeCeph(etc, installed=19)
    ceph.write("osd.7", "reef")
    refused = etc.run(steps.daemons("pve1", MEMBERS, "squid"))
    assert refused.returncode == 1 and "not every Ceph daemon runs squid (ceph versions)" in refused.stderr
    assert ceph.read("require") == "reef"
