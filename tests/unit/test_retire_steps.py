"""Retiring a member, step by step against fake PVE and Ceph tools: what each step refuses, and what it runs."""
from __future__ import annotations

import json

from remote import cluster_steps, qdevice_steps, retire_steps
from remote.step import Step

NODELIST = "".join(f"  node {{\n    name: {n}\n    nodeid: {i}\n    quorum_votes: 1\n    ring0_addr: 10.0.10.1{i}\n  }}\n"
                   for i, n in enumerate(("pve1", "pve2", "pve3", "pve4"), 1))
COROSYNC = f"nodelist {{\n{NODELIST}}}\n\nquorum {{\n  provider: corosync_votequorum\n}}\n"


def osd_tree(hosts: dict[str, list[tuple[int, str, float]]]) -> str:
    """`ceph osd tree --format json`: hosts with their OSDs as (id, status, reweight)."""
    nodes, host_id = [], -2
    for host, osds in hosts.items():
        nodes.append({"id": host_id, "name": host, "type": "host", "children": [o[0] for o in osds]})
        nodes += [{"id": i, "name": f"osd.{i}", "type": "osd", "status": st, "reweight": rw} for i, st, rw in osds]
        host_id -= 1
    return json.dumps({"nodes": nodes})


def test_osds_out_refuses_when_too_few_osd_hosts_would_remain(etc):
    tree = osd_tree({"pve1": [(0, "up", 1.0)], "pve2": [(1, "up", 1.0)], "pve3": [(2, "down", 1.0)], "pve4": [(3, "up", 1.0)]})
    etc.file("/etc/tree.json", tree)
    etc.fake("ceph", '[ "$1 $2" = "osd tree" ] && cat /etc/tree.json; [ "$1 $2" = "osd ls-tree" ] && echo 3; '
                     '[ "$1 $2" = "osd dump" ] && echo "osd.3 up   in  weight 1"; [ "$1 $2" = "pg stat" ] && exit 1; true')
    result = etc.run(retire_steps.osds_out("pve1", "pve4", [("vm-storage", 3)]))
    assert result.returncode == 1
    assert ("step 'retire-pve4-osds-out' failed on node pve1: retiring pve4 would leave 2 host(s) with OSDs up and in, "
            "fewer than the largest pool's size (3)") in result.stderr
    assert not [c for c in etc.called() if c.startswith("ceph osd out")]


def test_osds_out_marks_them_out_and_waits_for_clean_pgs(etc):
    tree = osd_tree({h: [(i, "up", 1.0)] for i, h in enumerate(("pve1", "pve2", "pve3", "pve4"))})
    etc.file("/etc/tree.json", tree)
    etc.fake("ceph", '[ "$1 $2" = "osd tree" ] && cat /etc/tree.json; [ "$1 $2" = "osd ls-tree" ] && echo 3; '
                     '[ "$1 $2" = "osd out" ] && touch /etc/out; '
                     # Ceph needs the OSD's PGs until it is out (and the PGs have moved).
                     '[ "$1 $2" = "osd safe-to-destroy" ] && [ ! -e /etc/out ] && exit 1; '
                     '[ "$1 $2" = "osd dump" ] && { [ -e /etc/out ] && echo "osd.3 up   out weight 0" || echo "osd.3 up   in  weight 1"; }; '
                     '[ "$1 $2" = "pg stat" ] && echo \'{"pg_summary": {"num_pgs": 32, "num_pg_by_state": [{"name": "active+clean", "num": 32}]}}\'; true')
    step = retire_steps.osds_out("pve1", "pve4", [("vm-storage", 3)])
    result = etc.run(step)
    assert result.returncode == 0, result.stderr
    assert "ceph osd out 3" in etc.called()
    assert "already done" in etc.run(step).stderr


def nodes_online(*names: str) -> str:
    """A fake `pvecm` body for `pvecm nodes` with `names` online."""
    rows = "".join(f"         {i}          1 {n}\\n" for i, n in enumerate(names, 1))
    return f'[ "$1" = nodes ] && printf "    Nodeid      Votes Name\\n{rows}"'


def test_a_guest_ha_does_not_move_stops_the_retirement_before_anything_changes(etc):
    etc.file("/etc/pve/nodes/pve4/qemu-server/205.conf", "memory: 512\n")
    etc.file("/etc/pve/nodes/pve4/qemu-server/206.conf", "memory: 512\n")
    etc.file("/etc/pve/nodes/pve4/qemu-server/207.conf", "memory: 512\n")
    etc.file("/etc/pve/ha/resources.cfg", "vm: 206\n\tstate ignored\n\nvm: 207\n\tstate started\n\n")
    etc.fake("ha-manager", 'echo "quorum OK"; echo "service vm:206 (pve4, ignored)"; echo "service vm:207 (pve4, started)"')
    etc.fake("pvecm", nodes_online("pve1", "pve2", "pve3", "pve4"))
    result = etc.run(retire_steps.guests("pve1", "pve4"))
    assert result.returncode == 1
    assert ("pve4 holds guest(s) HA does not move: 205 206 (ignored by HA: vm:206; the rest are not HA resources). "
            "Migrate them") in result.stderr
    assert not [c for c in etc.called() if "crm-command" in c]


def test_started_and_stopped_ha_guests_move_off_and_the_lrm_closes_its_watchdog(etc):
    etc.file("/etc/pve/nodes/pve4/qemu-server/100.conf", "memory: 512\n")
    etc.file("/etc/pve/nodes/pve4/qemu-server/101.conf", "memory: 512\n")
    etc.file("/etc/pve/ha/resources.cfg", "vm: 100\n\tstate started\n\nvm: 101\n\tstate stopped\n\n")
    etc.file("/etc/pve/nodes/pve4/lrm_status", '{"mode": "active", "state": "active"}')
    # Maintenance moves only the started vm:100 (and then the LRM closes its watchdog); `migrate` moves vm:101.
    etc.fake("ha-manager", '[ "$3 $4" = "enable pve4" ] && { mv /etc/pve/nodes/pve4/qemu-server/100.conf /etc/pve/; '
                           'echo \'{"mode": "maintenance", "state": "maintenance"}\' > /etc/pve/nodes/pve4/lrm_status; }; '
                           '[ "$2 $3 $4" = "migrate vm:101 pve1" ] && mv /etc/pve/nodes/pve4/qemu-server/101.conf /etc/pve/; '
                           '[ "$1" = status ] && { echo "quorum OK"; '
                           '[ -e /etc/pve/100.conf ] && echo "service vm:100 (pve2, started)" || echo "service vm:100 (pve4, started)"; '
                           '[ -e /etc/pve/101.conf ] && echo "service vm:101 (pve1, stopped)" || echo "service vm:101 (pve4, stopped)"; }; true')
    etc.fake("pvecm", nodes_online("pve1", "pve2", "pve3", "pve4"))
    step = retire_steps.guests("pve1", "pve4")
    result = etc.run(step)
    assert result.returncode == 0, result.stderr
    calls = etc.called()
    assert "ha-manager crm-command node-maintenance enable pve4" in calls
    assert "ha-manager crm-command migrate vm:101 pve1" in calls
    assert "already done" in etc.run(step).stderr


def test_a_dead_node_with_a_disabled_ha_guest_is_refused_with_the_manual_move(etc):
    etc.file("/etc/pve/nodes/pve4/qemu-server/102.conf", "memory: 512\n")
    etc.file("/etc/pve/ha/resources.cfg", "vm: 102\n\tstate disabled\n\n")
    etc.fake("ha-manager", 'echo "quorum OK"; echo "service vm:102 (pve4, disabled)"')
    etc.fake("pvecm", nodes_online("pve1", "pve2", "pve3"))
    result = etc.run(retire_steps.guests("pve1", "pve4"))
    assert result.returncode == 1
    assert "pve4 is offline and holds disabled HA service(s) vm:102, which HA does not recover: move their configs" in result.stderr
    assert not [c for c in etc.called() if "crm-command" in c]


def test_ha_status_that_cannot_be_read_stops_the_step(etc):
    etc.fake("ha-manager", "echo 'ipcc_send_rec[1] failed: Connection refused' >&2; exit 255")
    etc.fake("pvecm", nodes_online("pve1", "pve2", "pve3", "pve4"))
    result = etc.run(retire_steps.guests("pve1", "pve4"))
    assert result.returncode == 1 and "already done" not in result.stderr
    assert "cannot read ha-manager status: ipcc_send_rec[1] failed" in result.stderr


def test_replication_jobs_involving_the_node_are_refused(etc):
    etc.file("/etc/pve/nodes/pve4/qemu-server/101.conf", "memory: 512\n")
    etc.file("/etc/pve/replication.cfg", "local: 100-0\n\ttarget pve4\n\tschedule */15\n\n"
                                         "local: 101-0\n\ttarget pve2\n\n"
                                         "local: 102-0\n\ttarget pve3\n\n")
    result = etc.run(retire_steps.replication("pve1", "pve4"))
    assert result.returncode == 1
    assert "replication job(s) 100-0 101-0 involve pve4: remove each with `pvesr delete ID`" in result.stderr
    etc.file("/etc/pve/replication.cfg", "local: 102-0\n\ttarget pve3\n\n")
    assert "already done" in etc.run(retire_steps.replication("pve1", "pve4")).stderr


def votes(expected: int, total: int) -> str:
    """A fake `pvecm` body for `pvecm status` (votequorum's numbers)."""
    return (f'[ "$1" = status ] && printf "Expected votes:   {expected}\\nTotal votes:      {total}\\n'
            f'Quorum:           {expected // 2 + 1}\\nQuorate:          Yes\\n"')


def test_membership_counts_the_votes_quorum_still_expects(etc):
    # Five nodes, pve4 already retired (expected 4); pve3 died while it drained. Retiring pve5 now would leave
    # 2 of 4 expected votes: the old count (2 of the 3 remaining nodes online) said yes, and quorum was lost.
    three_left = COROSYNC.replace("name: pve4", "name: pve5")
    etc.file("/etc/pve/corosync.conf", three_left)
    etc.fake("pvecm", votes(4, 3) + "; " + nodes_online("pve1", "pve2", "pve5").replace("pve5", "pve5") + "; true")
    etc.fake("ssh", "exit 0")
    result = etc.run(retire_steps.membership("pve1", "pve5"))
    assert result.returncode == 1
    assert ("stopping pve5 would leave 2 of 4 expected votes, fewer than the 3 quorum needs (pvecm status); "
            "bring the offline member(s) back (pve3), then re-run up") in result.stderr
    assert not [c for c in etc.called() if "delnode" in c or "systemctl stop" in c]


def test_a_qdevice_steps_aside_only_while_members_join_or_leave(etc):
    with_device = COROSYNC.replace("provider: corosync_votequorum", "provider: corosync_votequorum\n  device {\n    model: net\n  }")
    etc.fake("pvecm", "true")
    etc.file("/etc/pve/corosync.conf", COROSYNC)
    assert "already done" in etc.run(cluster_steps.qdevice_aside("pve1", ["pve1", "pve2"])).stderr  # no QDevice
    etc.file("/etc/pve/corosync.conf", with_device)
    assert "already done" in etc.run(cluster_steps.qdevice_aside("pve1", ["pve4", "pve3", "pve2", "pve1"])).stderr
    assert etc.called() == []
    # pve3 and pve4 leave (or pve5 joins): PVE wants the QDevice removed first.
    etc.fake("pvecm", '[ "$1 $2" = "qdevice remove" ] && sed -i "/device {/,/}/d" /etc/pve/corosync.conf; true')
    result = etc.run(cluster_steps.qdevice_aside("pve1", ["pve1", "pve2"]))
    assert result.returncode == 0, result.stderr
    assert etc.called() == ["pvecm qdevice remove"]


def test_membership_separates_the_node_clears_its_maintenance_then_deletes_it(etc):
    etc.file("/etc/pve/corosync.conf", COROSYNC)
    etc.file("/etc/pve/ha/manager_status", '{"node_request": {"pve4": {"maintenance": 1}}}')
    etc.fake("pvecm", '[ "$1" = status ] && { grep -q pve4 /etc/pve/corosync.conf && n=4 || n=3; '
                      'printf "Expected votes:   $n\\nTotal votes:      $n\\nQuorum:           3\\nQuorate:          Yes\\n"; }; '
                      '[ "$1" = nodes ] && { printf "    Nodeid      Votes Name\\n         1          1 pve1\\n         2          1 pve2\\n'
                      '         3          1 pve3\\n"; [ -e /etc/separated ] || echo "         4          1 pve4"; }; '
                      '[ "$1" = delnode ] && sed -i "/name: pve4/,/}/d" /etc/pve/corosync.conf; true')
    etc.fake("ssh", 'case "$*" in *"pmxcfs -l"*) touch /etc/separated;; esac')
    etc.fake("ha-manager", '[ "$3" = disable ] && echo "{}" > /etc/pve/ha/manager_status; true')
    result = etc.run(retire_steps.membership("pve1", "pve4"))
    assert result.returncode == 0, result.stderr
    calls = etc.called()
    separate = next(i for i, c in enumerate(calls) if c.startswith("ssh") and "pmxcfs -l" in c)
    assert ("systemctl stop pve-cluster && systemctl stop corosync && pmxcfs -l && rm -f /etc/pve/corosync.conf "
            "&& rm -rf /etc/corosync/* && killall pmxcfs && systemctl start pve-cluster") in calls[separate]
    assert "-o HostKeyAlias=pve4" in calls[separate] and "root@10.0.10.14" in calls[separate]
    assert calls.index("ha-manager crm-command node-maintenance disable pve4") > separate
    assert calls.index("pvecm delnode pve4") > calls.index("ha-manager crm-command node-maintenance disable pve4")
    assert "pve4 was separated from the cluster as PVE's docs say" in result.stderr


def test_qdevice_setup_refuses_a_membership_other_than_the_configured_one(etc):
    three = COROSYNC.split("  node {\n    name: pve4")[0] + "}\n"
    etc.file("/etc/pve/corosync.conf", three)
    etc.fake("pvecm", "true")
    result = etc.run(qdevice_steps.setup("pve1", "10.0.10.40", "ssh-ed25519 AAAA", ["pve1", "pve2", "pve3", "pve4"]))
    assert result.returncode == 1
    assert "the cluster's members are pve1 pve2 pve3, not pve1 pve2 pve3 pve4 as proxmox-ha:cluster.nodes says" in result.stderr
    assert not [c for c in etc.called() if "qdevice setup" in c]
    # The members are in the step: another membership is another step, which the engine runs again.
    assert qdevice_steps.setup("pve1", "10.0.10.40", None, ["pve1", "pve2"]).script() != \
        qdevice_steps.setup("pve1", "10.0.10.40", None, ["pve1", "pve2", "pve3", "pve4"]).script()


# `pvecm nodes` on a cluster with a QDevice (corosync-quorumtool -l): a flags column before the name, and its own row.
NODES_WITH_QDEVICE = ("\\nMembership information\\n----------------------\\n    Nodeid      Votes    Qdevice Name\\n"
                      "         1          1    A,V,NMW pve1 (local)\\n         2          1    A,V,NMW pve2\\n"
                      "         0          1            Qdevice\\n")


def test_the_quorum_gate_reads_member_names_with_a_qdevice_too(etc):
    etc.fake("pvecm", f'[ "$1" = status ] && echo "Quorate:          Yes"; [ "$1" = nodes ] && printf "{NODES_WITH_QDEVICE}"; true')

    def gate_passes(names: list[str]) -> bool:
        check = cluster_steps.quorum("pve1", names).check
        return "already done" in etc.run(Step(name="gate", node="pve1", check=check, act="exit 3")).stderr

    assert gate_passes(["pve1", "pve2"])
    assert not gate_passes(["pve1", "pve2", "pve3"])
    # Neither the flags column nor the QDevice's own row is a member.
    assert not gate_passes(["A,V,NMW"]) and not gate_passes(["Qdevice"])


def test_the_ceph_checks_fail_closed_when_ceph_cannot_be_read(etc):
    # No mon quorum: every `ceph` call times out. That is not "the bucket, the mon and the mgr are gone".
    etc.fake("ceph", "echo 'error connecting to the cluster' >&2; exit 1")
    for step in (retire_steps.osds_out("pve1", "pve4", [("vm-storage", 3)]), retire_steps.osds_destroyed("pve1", "pve4"),
                 retire_steps.ceph_daemons("pve1", "pve4")):
        result = etc.run(step)
        assert result.returncode == 1 and "already done" not in result.stderr, step.name
        assert "from Ceph (exit 1): error connecting to the cluster" in result.stderr or \
               "cannot read the monmap from Ceph: error connecting to the cluster" in result.stderr, result.stderr
    # A bucket Ceph says is not there is done.
    etc.fake("ceph", "echo \"Error ENOENT: no such bucket 'pve4'\" >&2; exit 2")
    assert "already done" in etc.run(retire_steps.osds_destroyed("pve1", "pve4")).stderr


def test_scrubbing_pgs_are_clean(etc):
    tree = osd_tree({h: [(i, "up", 1.0)] for i, h in enumerate(("pve1", "pve2", "pve3"))})
    etc.file("/etc/tree.json", tree)
    pgs = {"pg_summary": {"num_pgs": 32, "num_pg_by_state": [{"name": "active+clean", "num": 20},
                                                             {"name": "active+clean+scrubbing+deep", "num": 8},
                                                             {"name": "active+clean+scrubbing", "num": 4}]}}
    etc.file("/etc/pgs.json", json.dumps(pgs))
    etc.fake("ceph", '[ "$1 $2" = "osd crush" ] && exit 0; [ "$1 $2" = "osd ls-tree" ] && echo 3; '
                     '[ "$1 $2" = "osd dump" ] && echo "osd.3 up   out weight 0"; [ "$1 $2" = "pg stat" ] && cat /etc/pgs.json; true')
    assert "already done" in etc.run(retire_steps.osds_out("pve1", "pve4", [("vm-storage", 3)])).stderr
    pgs["pg_summary"]["num_pg_by_state"][2]["name"] = "active+undersized+degraded"
    etc.file("/etc/pgs.json", json.dumps(pgs))
    assert "already done" not in etc.run(retire_steps.osds_out("pve1", "pve4", [("vm-storage", 3)])).stderr


def test_a_dead_member_in_a_qdevice_cluster_is_refused_with_the_manual_procedure(etc):
    with_device = COROSYNC.replace("provider: corosync_votequorum", "provider: corosync_votequorum\n  device {\n    model: net\n  }")
    etc.file("/etc/pve/corosync.conf", with_device)
    etc.fake("pvecm", nodes_online("pve1", "pve2", "pve3") + "; true")
    result = etc.run(cluster_steps.qdevice_aside_possible("pve1", ["pve1", "pve2", "pve3"]))
    assert result.returncode == 1
    assert "member(s) pve4 are offline: `pvecm qdevice remove` needs every member online" in result.stderr
    assert "raise totem's config_version by one" in result.stderr
    # Nothing to set aside (the membership stays), or every member online: fine.
    assert "already done" in etc.run(cluster_steps.qdevice_aside_possible("pve1", ["pve1", "pve2", "pve3", "pve4"])).stderr
    etc.fake("pvecm", nodes_online("pve1", "pve2", "pve3", "pve4") + "; true")
    assert "already done" in etc.run(cluster_steps.qdevice_aside_possible("pve1", ["pve1", "pve2", "pve3"])).stderr


def test_a_qdevice_on_another_ssh_port_is_reached_through_roots_ssh_config():
    """`pvecm qdevice setup` has no port option: the port goes into /root/.ssh/config, the pin names [addr]:port."""
    script = qdevice_steps.setup("pve1", "10.0.10.40", "ssh-ed25519 AAAA", ["pve1", "pve2"], port=2222).script()
    assert "Host 10.0.10.40\n    Port 2222\nHost *\n" in script
    assert "'[10.0.10.40]:2222 ssh-ed25519 AAAA'" in script
    assert script.index("/root/.ssh/config") < script.index("pvecm qdevice setup 10.0.10.40")
    default = qdevice_steps.setup("pve1", "10.0.10.40", "ssh-ed25519 AAAA", ["pve1", "pve2"]).script()
    assert "/root/.ssh/config" not in default and "'10.0.10.40 ssh-ed25519 AAAA'" in default


def test_the_mon_check_reads_the_monmap_past_cephs_stderr_chatter(etc):
    # Real `ceph mon dump` says "dumped monmap epoch N" on stderr: mixed into the JSON it read as "no monitor".
    monmap = {"mons": [{"name": n, "public_addr": f"10.0.100.1{i}:6789/0"} for i, n in enumerate(("pve1", "pve4"), 1)]}
    etc.file("/etc/monmap.json", json.dumps(monmap))
    etc.fake("ceph", '[ "$1 $2 $3 $4" = "--connect-timeout 30 mon dump" ] && { cat /etc/monmap.json; '
                     'echo "dumped monmap epoch 7" >&2; exit 0; }; '
                     '[ "$1 $2 $3 $4" = "--connect-timeout 30 auth get" ] && { echo "Error ENOENT: failed to find mgr.pve4" >&2; exit 2; }; true')
    step = retire_steps.ceph_daemons("pve1", "pve4")
    result = etc.run(step)
    assert "already done" not in result.stderr, result.stderr
    assert any(c.startswith("ceph mon remove pve4") or "pveceph mon destroy pve4" in c for c in etc.called()), etc.called()
    etc.file("/etc/monmap.json", "not json")
    result = etc.run(step)
    assert result.returncode != 0 and "cannot parse the monmap from Ceph" in result.stderr, result.stderr
