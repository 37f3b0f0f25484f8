"""End-to-end tests of the embedded lab: real sshd, corosync and Ceph behind the PVE shims.

Each test asks for the state it starts from (conftest: unformed, clustered, cephless, with_ceph), so any
one of them runs alone; in file order the fixtures find the state already there and do nothing.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
from pathlib import Path

import pytest

from lab import bootstrap, pbs as PBS
from lab.common import (ALL_HOSTS, CLUSTER_NAME, DEFAULT_HOSTS, MGMT_NET, MGMT_PREFIX, QNETD_HOST, STORAGE_NET, Paths,
                        mgmt_addr, nsenter, ssh_base, storage_addr)
from remote import probes
from remote.step import probe
from tests.e2e.helpers import pgs_clean, quorum, wait_until

from .conftest import lab_cli, root_snapshot

pytestmark = pytest.mark.lab

HOSTS = DEFAULT_HOSTS
ADDR = {h: (mgmt_addr(h), storage_addr(h)) for h in HOSTS}


def ceph_json(lab, host, args):
    return json.loads(lab.ok(host, f"ceph --connect-timeout 10 {args} --format json"))


# ---------------------------------------------------------------- hosts
def test_root_namespace_untouched_by_down_and_up(lab, root_before):
    lab_cli("down")
    assert root_snapshot() == root_before, "lab down must restore /etc/hosts and the root routes"
    lab_cli("up")
    assert Path("/etc/hosts").read_text() == root_before["hosts"]
    extra = [l for l in root_snapshot()["routes"].splitlines() if l not in root_before["routes"].splitlines()]
    assert all(l.startswith((f"{MGMT_NET} ", f"{STORAGE_NET} ")) for l in extra), extra
    # up twice is a no-op: same sshd PIDs
    before = json.loads(Path(lab.info["state_dir"], "lab.json").read_text())
    lab_cli("up")
    after = json.loads(Path(lab.info["state_dir"], "lab.json").read_text())
    assert [h["sshd_pid"] for h in before["hosts"]] == [h["sshd_pid"] for h in after["hosts"]]
    lab.__init__(after)


def test_lab_json_schema(lab):
    info = lab.info
    assert [h["name"] for h in info["hosts"]] == list(HOSTS)
    for h in info["hosts"]:
        assert (h["management_address"], h["storage_address"]) == ADDR[h["name"]]
        assert h["ssh_port"] == 22
        assert h["host_key"].startswith("ssh-ed25519 AAAA") and len(h["host_key"].split()) == 2
        assert h["osd_disks"] == ["/dev/sdb"]
        assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", h["api_fingerprint"])
    assert Path(info["ssh"]["private_key"]).is_file()
    assert info["networks"]["management"]["bridge"] == "phalab0"
    assert info["networks"]["storage"]["bridge"] == "phalab1"


def test_ssh_shows_own_hostname_with_pinned_host_key(lab):
    for h in HOSTS:
        out = lab.ok(h, "hostname; cat /etc/hostname; ip -o -4 addr show dev vmbr0; ip -o link show eno1; ip -o -4 addr show dev eno2")
        lines = out.splitlines()
        assert lines[0] == h and lines[1] == h
        # ifupdown2 brought up the installer's interfaces file: the address on vmbr0, eno1 its port,
        # eno2 unconfigured (as on a fresh PVE) until the storage bridge is added.
        assert f"{ADDR[h][0]}/24" in lines[2] and "master vmbr0" in lines[3] and len(lines) == 4
    # the pinned key is really checked: a wrong known_hosts entry is refused
    bad = Path(lab.info["state_dir"]) / "bad_known_hosts"
    other = lab.hosts["pve2"]["host_key"]
    bad.write_text(f"{ADDR['pve1'][0]} {other}\n")
    try:
        r = subprocess.run(["ssh", "-i", lab.info["ssh"]["private_key"], "-o", f"UserKnownHostsFile={bad}",
                            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                            f"root@{ADDR['pve1'][0]}", "true"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 255 and "HOST IDENTIFICATION HAS CHANGED" in r.stderr
    finally:
        bad.unlink()


def test_sshd_agrees_on_curve25519_and_refuses_the_costly_exchange(lab):
    """The lab's sshd offers curve25519 alone (lab/machine.py): OpenSSH's own first choice, sntrup761x25519, costs
    each client about 0.13 CPU-s, and the tests open thousands of connections."""
    # The lab's own client, verbose (-v outranks its LogLevel=ERROR); each case adds its options before the host.
    *options, host = ssh_base(Paths(), "pve1")
    agreed = subprocess.run([*options, "-v", host, "true"], capture_output=True, text=True, timeout=30)
    assert agreed.returncode == 0 and "kex: algorithm: curve25519-sha256" in agreed.stderr, agreed.stderr
    costly = subprocess.run([*options, "-v", "-o", "KexAlgorithms=sntrup761x25519-sha512@openssh.com", host, "true"],
                            capture_output=True, text=True, timeout=30)
    assert costly.returncode == 255 and "no matching key exchange method" in costly.stderr, costly.stderr


def test_the_storage_bridge_comes_up_through_ifupdown2(lab):
    bootstrap.storage_network(Paths())
    for h in HOSTS:
        out = lab.ok(h, "ip -o -4 addr show dev vmbr1; ip -o link show eno2")
        assert f"{ADDR[h][1]}/24" in out and "master vmbr1" in out
    # pve3 answers on the storage network (nothing listens on port 1: a refusal is an answer).
    probe = lab.ssh("pve1", f"timeout 3 bash -c '</dev/tcp/{ADDR['pve3'][1]}/1'")
    assert "Connection refused" in probe.stderr, probe.stderr


def test_a_wrong_management_bridge_loses_the_host_as_on_pve(lab):
    """ifreload applies what the file says: vmbr0 with another address cuts off SSH to the old one."""
    interfaces = lab.ok("pve3", "cat /etc/network/interfaces")
    # At the console (the host's namespaces), as an SSH session would be cut off half-way.
    console = lambda script: nsenter(int(Paths().sshd_pidfile("pve3").read_text()), ["bash", "-c", script])  # noqa: E731
    broken = console(f"sed -i 's#address {ADDR['pve3'][0]}/24#address {MGMT_PREFIX}.99/24#' /etc/network/interfaces && ifreload -a")
    assert broken.returncode == 0, broken.stderr
    assert lab.ssh("pve3", "true", timeout=30).returncode == 255
    restored = console(f"printf '%s' {shlex.quote(interfaces)} > /etc/network/interfaces && ifreload -a")
    assert restored.returncode == 0, restored.stderr
    assert lab.ok("pve3", "ip -o -4 addr show dev vmbr0").count(f"{ADDR['pve3'][0]}/24") == 1


def test_hosts_have_private_etc_run_dev(lab):
    for h in HOSTS:
        out = lab.ok(h, "test -b /dev/sdb && echo sdb; grep -c lab.local /etc/hosts; test -d /etc/pve && echo pve;"
                        " touch /etc/lab-probe-$(hostname); ls /etc/lab-probe-*")
        assert out.splitlines()[0] == "sdb"
        assert out.splitlines()[2] == "pve"
        assert out.splitlines()[3:] == [f"/etc/lab-probe-{h}"]  # /etc is per host (overlay)
    assert not Path("/dev/sdb").exists()
    assert not list(Path("/etc").glob("lab-probe-*"))
    # /etc/pve is shared between the hosts
    lab.ok("pve1", "echo shared > /etc/pve/lab-probe")
    assert lab.ok("pve3", "cat /etc/pve/lab-probe").strip() == "shared"
    lab.ok("pve2", "rm /etc/pve/lab-probe")


def test_a_host_that_went_down_comes_back_with_its_disk_and_files(lab):
    lab.ok("pve2", "echo kept > /etc/lab-reboot-probe && mkdir -p /opt/lab-reboot-probe")
    assert not Path("/opt/lab-reboot-probe").exists()  # /opt is the host's own
    os.kill(int(Paths().sshd_pidfile("pve2").read_text()), signal.SIGKILL)
    lab_cli("up")
    assert lab.ok("pve2", "cat /etc/lab-reboot-probe; ls -d /opt/lab-reboot-probe").split() == ["kept", "/opt/lab-reboot-probe"]
    lab.ok("pve2", "rm -r /etc/lab-reboot-probe /opt/lab-reboot-probe")


def test_shims_have_help_naming_the_real_tool(lab):
    for tool in ("pvecm help", "pveceph help", "pvesm help", "ha-manager help", "systemctl --help"):
        out = lab.ok("pve1", tool)
        assert "lab shim" in out, tool


# ---------------------------------------------------------------- corosync
def test_pvecm_status_outside_a_cluster_exits_2(lab, unformed):
    r = lab.ssh("pve2", "pvecm status")
    assert r.returncode == 2
    assert "Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?" in r.stderr
    assert lab.ssh("pve2", "pvecm nodes").returncode == 2


def test_cluster_create_and_join_one_at_a_time(lab, unformed):
    out = lab.ok("pve1", f"pvecm create {CLUSTER_NAME} --link0 {ADDR['pve1'][0]} --link1 {ADDR['pve1'][1]}")
    assert "Writing corosync config to /etc/pve/corosync.conf" in out
    fp = lab.hosts["pve1"]["api_fingerprint"]
    # --use_ssh logs in with root's own key and known_hosts, as PVE's does: nothing set up, nothing joins.
    refused = lab.ssh("pve2", f"pvecm add {ADDR['pve1'][0]} --link0 {ADDR['pve2'][0]} --link1 {ADDR['pve2'][1]} --use_ssh")
    assert refused.returncode == 255 and "unable to copy ssh ID" in refused.stderr
    for h in ("pve2", "pve3"):
        m, s = ADDR[h]
        bootstrap.trust_root_key(Paths(), h, "pve1")
        out = lab.ok(h, f"pvecm add {ADDR['pve1'][0]} --link0 {m} --link1 {s} --use_ssh --fingerprint {fp}")
        assert f"successfully added node '{h}' to cluster." in out
    wait_until("3 votes", lambda: quorum(lab, "pve1") == (True, 3), 90)
    st = lab.ok("pve2", "pvecm status")
    assert "Quorate:          Yes" in st
    assert re.search(rf"^Name:\s+{re.escape(CLUSTER_NAME)}$", st, re.M)
    assert re.search(r"^Config Version:\s+3$", st, re.M)
    assert re.search(r"^Expected votes:\s+3$", st, re.M) and re.search(r"^Total votes:\s+3$", st, re.M)
    for a, _ in ADDR.values():
        assert a in st
    conf = lab.ok("pve3", "cat /etc/corosync/corosync.conf")
    assert conf == lab.ok("pve1", "cat /etc/pve/corosync.conf")
    for needle in ("secauth: on", "config_version: 3", "linknumber: 1", f"ring1_addr: {ADDR['pve3'][1]}",
                   f"cluster_name: {CLUSTER_NAME}"):
        assert needle in conf
    assert "crypto_" not in conf  # PVE's create_conf writes none: knet's defaults under secauth
    assert lab.ok("pve3", "cmp /etc/corosync/authkey /etc/pve/priv/authkey.key && echo same").strip() == "same"
    nodes = lab.ok("pve1", "pvecm nodes")
    assert "Membership information" in nodes and "pve3" in nodes


def test_create_and_add_again_are_refused_like_pve(lab, clustered):
    r = lab.ssh("pve1", f"pvecm create {CLUSTER_NAME} --link0 {ADDR['pve1'][0]} --link1 {ADDR['pve1'][1]}")
    assert r.returncode == 255 and "cluster config '/etc/pve/corosync.conf' already exists" in r.stderr
    r = lab.ssh("pve2", f"pvecm add {ADDR['pve1'][0]} --link0 {ADDR['pve2'][0]} --link1 {ADDR['pve2'][1]} --use_ssh")
    assert r.returncode == 255
    assert "detected the following error(s):" in r.stderr
    assert "* authentication key '/etc/corosync/authkey' already exists" in r.stderr
    # the check-then-act idiom the project relies on
    for h in HOSTS:
        assert lab.ssh(h, "pvecm status >/dev/null").returncode == 0
    assert "Config Version:   3" in lab.ok("pve1", "pvecm status")


def test_quorum_with_one_and_two_nodes_down(lab, clustered):
    lab.ok("pve3", "systemctl stop corosync")
    assert lab.ssh("pve3", "systemctl is-active corosync").returncode == 3
    wait_until("2 votes", lambda: quorum(lab, "pve1")[1] == 2, 30)
    assert quorum(lab, "pve1") == (True, 2)
    assert lab.ok("pve1", "ha-manager status").splitlines()[0] == "quorum OK"
    lab.ok("pve2", "systemctl stop corosync")
    wait_until("1 vote", lambda: quorum(lab, "pve1")[1] == 1, 30)
    assert quorum(lab, "pve1") == (False, 1)
    # pvecm status is corosync-quorumtool's: exit 2 when not quorate.
    status = lab.ssh("pve1", "pvecm status")
    assert status.returncode == 2 and "Quorate:          No" in status.stdout
    assert lab.ok("pve1", "ha-manager status").splitlines()[0] == "quorum No quorum on node 'pve1'!"
    lab.ok("pve2", "systemctl start corosync")
    lab.ok("pve3", "systemctl start corosync")
    wait_until("3 votes", lambda: quorum(lab, "pve1")[1] == 3, 60)
    assert quorum(lab, "pve1")[0]


def test_join_to_non_quorate_cluster_is_refused(lab, clustered):
    # take pve3 out of the cluster, as an admin would
    lab.ok("pve3", "systemctl stop corosync && rm -f /etc/corosync/corosync.conf /etc/corosync/authkey")
    lab.ok("pve1", "pvecm delnode pve3")
    wait_until("2 expected", lambda: lab.ssh("pve1", probe(probes.EXPECTED_VOTES)).stdout.strip() == "2", 30)
    lab.ok("pve2", "systemctl stop corosync")
    wait_until("pve1 not quorate", lambda: not quorum(lab, "pve1")[0], 30)
    r = lab.ssh("pve3", f"pvecm add pve1 --link0 {ADDR['pve3'][0]} --link1 {ADDR['pve3'][1]} --use_ssh")
    assert r.returncode == 255 and "cluster not ready - no quorum?" in r.stderr
    assert lab.ssh("pve3", "pvecm status").returncode == 2
    lab.ok("pve2", "systemctl start corosync")
    wait_until("pve1 quorate", lambda: quorum(lab, "pve1")[0], 30)
    lab.ok("pve3", f"pvecm add pve1 --link0 {ADDR['pve3'][0]} --link1 {ADDR['pve3'][1]} --use_ssh")
    wait_until("3 votes", lambda: quorum(lab, "pve1")[1] == 3, 60)
    assert quorum(lab, "pve1")[0]
    assert "Config Version:   5" in lab.ok("pve2", "pvecm status")


# ---------------------------------------------------------------- ceph
def test_ceph_through_pveceph(lab, cephless):
    for h in HOSTS:
        lab.ok(h, "pveceph install --repository no-subscription --version squid")  # offered on PVE 8 and 9
    lab.ok("pve1", f"pveceph init --network {STORAGE_NET}")
    conf = lab.ok("pve2", "cat /etc/pve/ceph.conf")
    assert f"public_network = {STORAGE_NET}" in conf and "fsid = " in conf
    for h in HOSTS:
        lab.ok(h, "pveceph mon create")
    for h in HOSTS:
        lab.ok(h, "pveceph mgr create")
    for h in HOSTS:
        lab.ok(h, "pveceph osd create /dev/sdb")
    q = ceph_json(lab, "pve1", "quorum_status")
    assert sorted(q["quorum_names"]) == list(HOSTS)
    wait_until("3 OSDs up", lambda: ceph_json(lab, "pve1", "osd stat").get("num_up_osds") == 3, 120)
    lab.ok("pve1", "pveceph pool create vm-storage --size 3 --min_size 2 --pg_num 32 --add_storages 1")
    assert lab.ok("pve2", "ceph osd pool get vm-storage size").strip() == "size: 3"
    assert lab.ok("pve3", "ceph osd pool get vm-storage min_size").strip() == "min_size: 2"
    assert lab.ok("pve1", "ceph osd pool get vm-storage pg_num").strip() == "pg_num: 32"
    cfg = lab.ok("pve1", "cat /etc/pve/storage.cfg")
    assert "rbd: vm-storage\n\tpool vm-storage\n\tcontent images,rootdir\n\tkrbd 0\n" in cfg
    st = lab.ok("pve2", "pvesm status")
    row = next(l for l in st.splitlines() if l.startswith("vm-storage "))
    assert row.split()[1:3] == ["rbd", "active"]
    # each host's OSD sits under its own host bucket
    tree = ceph_json(lab, "pve1", "osd tree")
    hosts = sorted(n["name"] for n in tree["nodes"] if n["type"] == "host")
    assert hosts == list(HOSTS)
    wait_until("all PGs active+clean", lambda: pgs_clean(lab), 180)
    wait_until("HEALTH_OK", lambda: ceph_json(lab, "pve1", "health")["status"] == "HEALTH_OK", 120)


def test_ceph_create_again_is_refused_like_pve(lab, with_ceph):
    r = lab.ssh("pve2", "pveceph osd create /dev/sdb")
    assert r.returncode == 255 and "device '/dev/sdb' is already in use" in r.stderr
    r = lab.ssh("pve2", "pveceph mon create")
    assert r.returncode == 255 and "monitor 'pve2' already exists" in r.stderr
    r = lab.ssh("pve2", "pveceph mgr create")
    assert r.returncode == 255 and "already exists" in r.stderr
    r = lab.ssh("pve1", "pveceph pool create vm-storage --size 3 --min_size 2")
    assert r.returncode == 255 and "already exists" in r.stderr
    pools = json.loads(lab.ok("pve3", "pveceph pool ls --output-format json"))
    assert {"pool_name": "vm-storage", "size": 3, "min_size": 2}.items() <= next(
        p for p in pools if p["pool_name"] == "vm-storage").items()


# ---------------------------------------------------------------- storage, HA, systemctl, status
def test_pvesm_section_config(lab, with_ceph):
    lab.ok("pve1", "pvesm add dir backups --path /var/lib/vz-backups --content backup")
    pbs = lab.info["pbs"]
    password = Path(pbs["password_file"]).read_text().strip()
    add_pbs = (f"pvesm add pbs pbs-backup --server {PBS.ADDRESS} --datastore {PBS.DATASTORE} "
               f"--username backup@pbs --password={password} --fingerprint ")  # the random password may start with '-'
    # Activated on create, as PVE does: the lab's PBS stand-in presents its own certificate.
    r = lab.ssh("pve2", add_pbs + ":".join(["AA"] * 32))
    assert r.returncode == 255 and f"pbs-backup: error fetching datastores - fingerprint '{pbs['fingerprint']}' not verified, abort!" in r.stderr
    lab.ok("pve2", add_pbs + pbs["fingerprint"])
    r = lab.ssh("pve3", "pvesm add dir backups --path /x")
    assert r.returncode == 255 and "storage ID 'backups' already defined" in r.stderr
    cfg = lab.ok("pve3", "cat /etc/pve/storage.cfg")
    assert "dir: backups\n\tpath /var/lib/vz-backups\n\tcontent backup\n" in cfg
    assert f"pbs: pbs-backup\n\tserver {PBS.ADDRESS}\n\tdatastore {PBS.DATASTORE}\n" in cfg
    assert password not in cfg
    assert lab.ok("pve1", "cat /etc/pve/priv/storage/pbs-backup.pw").strip() == password
    names = [l.split()[0] for l in lab.ok("pve1", "pvesm status").splitlines()[1:]]
    assert {"local", "vm-storage", "backups", "pbs-backup"} <= set(names)
    lab.ok("pve1", "pvesm remove pbs-backup && pvesm remove backups")
    r = lab.ssh("pve1", "pvesm remove backups")
    assert r.returncode == 255 and "does not exist" in r.stderr


def test_ha_manager(lab, clustered):
    # PVE 9: with no group left, groups are refused and placement is a node-affinity rule.
    r = lab.ssh("pve1", 'ha-manager groupadd critical_services --nodes "pve1:2,pve2:1,pve3:1"')
    assert r.returncode == 255 and "cannot create group: ha groups have been migrated to rules" in r.stderr
    lab.ok("pve2", "ha-manager add vm:100 --state started --max_restart 3 --max_relocate 3")
    assert lab.ssh("pve2", "ha-manager add vm:100").returncode == 255
    lab.ok("pve1", 'ha-manager rules add node-affinity critical --resources vm:100 --nodes "pve1:2,pve2:1,pve3:1"')
    assert lab.ssh("pve2", 'ha-manager rules add node-affinity critical --resources vm:100 --nodes pve1').returncode == 255
    res = lab.ok("pve3", "cat /etc/pve/ha/resources.cfg")
    assert res == "vm: 100\n\tmax_relocate 3\n\tmax_restart 3\n\tstate started\n\n"
    assert "node-affinity: critical\n\tnodes pve1:2,pve2:1,pve3:1\n\tresources vm:100\n" in lab.ok("pve3", "cat /etc/pve/ha/rules.cfg")
    wait_until("vm:100 started on pve1", lambda: "vm:100" in lab.ok("pve3", probe(probes.ha_services("pve1", "started"))).split(), 60)
    assert lab.ok("pve3", "ha-manager status").splitlines()[0] == "quorum OK"
    # Maintenance moves the started service to the next priority, and the config file goes with it.
    lab.ok("pve1", "ha-manager crm-command node-maintenance enable pve1")
    wait_until("vm:100 moved to pve2", lambda: "vm:100" in lab.ok("pve1", probe(probes.ha_services("pve2", "started"))).split(), 60)
    assert lab.ssh("pve1", "test -e /etc/pve/nodes/pve2/qemu-server/100.conf").returncode == 0
    lab.ok("pve1", "ha-manager crm-command node-maintenance disable pve1")
    lab.ok("pve1", "ha-manager set vm:100 --max_restart 2")
    assert "max_restart 2" in lab.ok("pve1", "ha-manager config")
    lab.ok("pve1", "ha-manager rules remove critical && ha-manager remove vm:100")
    assert lab.ok("pve1", "cat /etc/pve/ha/resources.cfg").strip() == ""


def test_systemctl_exit_codes(lab, with_ceph):
    assert lab.ssh("pve1", "systemctl is-active corosync").returncode == 0
    assert lab.ssh("pve1", "systemctl is-active ceph-mon@pve1").returncode == 0
    assert lab.ssh("pve1", "systemctl is-active pve-cluster").returncode == 0
    assert lab.ssh("pve1", "systemctl status no-such-unit").returncode == 4
    st = lab.ssh("pve1", "systemctl status corosync")
    assert st.returncode == 0 and "Active: active (running)" in st.stdout



def test_systemctl_start_of_corosync_returns_once_it_answers_as_type_notify(lab, clustered):
    """Debian's corosync.service is Type=notify: a unit After= it (corosync-qdevice) finds its IPC up at once."""
    r = lab.ssh("pve2", "systemctl restart corosync && corosync-cmapctl -g totem.cluster_name")
    assert r.returncode == 0 and CLUSTER_NAME in r.stdout, r.stderr
    wait_until("pve2 back in the cluster", lambda: quorum(lab, "pve1") == (True, 3), 60)

def test_lab_status_reports_quorum_and_ceph(lab, with_ceph):
    data = json.loads(lab_cli("status", "--json").stdout)
    assert all(h["up"] for h in data["hosts"])
    for h in data["hosts"]:
        assert h["corosync"]["quorate"] and h["corosync"]["total_votes"] == 3 and h["corosync"]["expected_votes"] == 3
    assert data["ceph"]["health"] in ("HEALTH_OK", "HEALTH_WARN")
    assert data["ceph"]["osds_up"] == 3
    table = lab_cli("status").stdout
    assert "pve1" in table and "ceph: HEALTH_" in table


def test_the_lab_grows_to_five_hosts_and_never_shrinks(lab):
    from tests.lab.conftest import _fresh
    # As lab.json says now: an earlier test may have restarted a host.
    running = {h["name"]: h["sshd_pid"] for h in json.loads(Path(lab.info["state_dir"], "lab.json").read_text())["hosts"]}
    try:
        lab_cli("up", "--hosts", "5")
        lab.__init__(json.loads(Path(lab.info["state_dir"], "lab.json").read_text()))
        assert [h["name"] for h in lab.info["hosts"]] == list(ALL_HOSTS)
        assert {h["name"]: h["sshd_pid"] for h in lab.info["hosts"][:3]} == running, "a running host was restarted"
        for name in ALL_HOSTS[len(HOSTS):]:
            assert (lab.hosts[name]["management_address"], lab.hosts[name]["storage_address"]) == (mgmt_addr(name), storage_addr(name))
            assert lab.ok(name, "hostname").strip() == name
            assert lab.ok(name, "ip -br addr show vmbr0").split()[2] == f"{mgmt_addr(name)}/24"
        # The running hosts learn the new ones (the lab's name service); pve1 reaches pve5's sshd.
        names = lab.ok("pve1", "python3 -c 'import json; print(*sorted(json.load(open(\"/etc/lab-host.json\"))[\"hosts\"]))'")
        assert names.split() == list(ALL_HOSTS)
        lab.ok("pve1", f"timeout 3 bash -c '</dev/tcp/{mgmt_addr(ALL_HOSTS[-1])}/22'")
        shrink = lab_cli("up", "--hosts", "4", check=False)
        assert shrink.returncode != 0 and "never shrinks" in shrink.stderr
        # The QDevice's machine is plain Debian: no PVE command, no /etc/pve of the cluster's.
        assert lab.ok(QNETD_HOST, "hostname").strip() == QNETD_HOST
        assert lab.ssh(QNETD_HOST, "command -v pvecm").returncode != 0
        assert lab.ssh(QNETD_HOST, "test -e /etc/pve/corosync.conf || test -e /etc/pve/.lab-id").returncode != 0
    finally:
        _fresh(lab)
