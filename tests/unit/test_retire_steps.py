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


def test_a_guest_ha_does_not_manage_stops_the_retirement(etc):
    etc.file("/etc/pve/nodes/pve4/qemu-server/205.conf", "memory: 512\n")
    etc.fake("ha-manager", 'echo "quorum OK"')
    result = etc.run(retire_steps.guests("pve1", "pve4"))
    assert result.returncode == 1
    assert "pve4 still holds guest(s) that HA does not manage: 205. Migrate them" in result.stderr
    assert not [c for c in etc.called() if "node-maintenance" in c]


def test_ha_guests_move_off_through_node_maintenance(etc):
    # ha-manager reports the guest on pve4 until maintenance is enabled, then on pve2.
    etc.fake("ha-manager", '[ "$2" = node-maintenance ] && touch /etc/maint; '
                           '[ "$1" = status ] && { [ -e /etc/maint ] && echo "service vm:100 (pve2, started)" || echo "service vm:100 (pve4, started)"; }; true')
    result = etc.run(retire_steps.guests("pve1", "pve4"))
    assert result.returncode == 0, result.stderr
    assert "ha-manager crm-command node-maintenance enable pve4" in etc.called()


def test_membership_refuses_without_a_majority(etc):
    etc.file("/etc/pve/corosync.conf", COROSYNC)
    # pve1 and pve4 online of four: removing pve4 leaves 1 of 3 online.
    etc.fake("pvecm", '[ "$1" = status ] && echo "Quorate:          Yes"; '
                      '[ "$1" = nodes ] && printf "\\nMembership information\\n----\\n    Nodeid      Votes Name\\n         1          1 pve1 (local)\\n         4          1 pve4\\n"; true')
    etc.fake("ssh", "exit 255")
    result = etc.run(retire_steps.membership("pve1", "pve4"))
    assert result.returncode == 1
    assert "removing pve4 would leave 1 of 3 remaining node(s) online, not a majority" in result.stderr
    assert "pvecm delnode pve4" not in etc.called()


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


def test_membership_stops_the_node_then_deletes_it(etc):
    etc.file("/etc/pve/corosync.conf", COROSYNC)
    online = "".join(f"         {i}          1 pve{i}\\n" for i in range(1, 5))
    etc.fake("pvecm", '[ "$1" = status ] && { echo "Quorate:          Yes"; grep -q pve4 /etc/pve/corosync.conf && echo "Expected votes:   4" || echo "Expected votes:   3"; }; '
                      f'[ "$1" = nodes ] && printf "    Nodeid      Votes Name\\n{online}"; '
                      '[ "$1" = delnode ] && sed -i "/name: pve4/,/}/d" /etc/pve/corosync.conf; true')
    etc.fake("ssh", "exit 0")
    result = etc.run(retire_steps.membership("pve1", "pve4"))
    assert result.returncode == 0, result.stderr
    calls = etc.called()
    stop = next(i for i, c in enumerate(calls) if c.startswith("ssh") and "systemctl stop corosync" in c)
    assert calls.index("pvecm delnode pve4") > stop, "the node must be stopped before it is deleted"
    assert "-o HostKeyAlias=pve4" in calls[stop] and "root@10.0.10.14" in calls[stop]


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
