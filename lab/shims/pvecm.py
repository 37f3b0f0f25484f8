"""Lab shim for `pvecm` (Proxmox VE cluster manager), driving the real corosync.

create NAME --link0 ADDR --link1 ADDR | add HOST --link0 ADDR --link1 ADDR [--use_ssh] [--fingerprint FP] [--force]
status | nodes | expected N | delnode NODE | updatecerts | qdevice setup ADDRESS | qdevice remove | help
"""
from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time

from ..common import wait_until
from . import cluster_setup as CS
from . import pvelib as L
from . import qdevice as QD
from ..pve import corosync as C

USAGE = """USAGE: pvecm <COMMAND> [ARGS] [OPTIONS]   (proxmox-ha lab shim)

Stands in for Proxmox VE's `pvecm`; drives the real corosync of this lab host
(config in /etc/pve/corosync.conf, copied to /etc/corosync/corosync.conf).

       pvecm add <hostname> [--link0 ADDR] [--link1 ADDR] [--use_ssh] [--fingerprint FP] [--force] [--nodeid N] [--votes N]
       pvecm create <clustername> [--link0 ADDR] [--link1 ADDR] [--nodeid N] [--votes N]
       pvecm delnode <node>
       pvecm expected <expected>
       pvecm nodes
       pvecm qdevice remove
       pvecm qdevice setup <address> [--network CIDR] [--force]
       pvecm status
       pvecm updatecerts [--force] [--silent]
       pvecm help
"""

NAME_RE = re.compile(r"^[A-Za-z0-9-]{1,15}$")


# ---------------------------------------------------------------- corosync.conf
def link_addr(v: str) -> str:
    # PVE syntax: --link0 [address=]ADDR[,priority=N]
    first = v.split(",")[0]
    return first.split("=", 1)[1] if first.startswith("address=") else first


def read_cluster() -> dict | None:
    return C.read_cluster(L.PVE_COROSYNC_CONF)  # L's, as shim tests repoint it


def local_conf_install() -> None:
    """What pmxcfs does on each node: copy /etc/pve/corosync.conf to /etc/corosync/."""
    L.write_file_atomic(L.COROSYNC_CONF, L.PVE_COROSYNC_CONF.read_text())


def not_in_cluster_error() -> L.PVEError:
    return L.PVEError("Error: Corosync config '/etc/pve/corosync.conf' does not exist - "
                      "is this node part of a cluster?", 2)


def wait_quorate(timeout: float) -> bool:
    return wait_until(lambda: L.quorate() is True, timeout, 0.25)


# ---------------------------------------------------------------- commands
def cmd_create(argv):
    # pve-cluster PVE/CLI/pvecm.pm: create = POST /cluster/config (options by PVE's schema, link0..link7)
    pos, o = L.parse_args(argv, L.ApiOptions("POST", "/cluster/config", positional=("clustername",)), 1, USAGE)
    name = pos[0]
    if not NAME_RE.match(name):
        raise L.PVEError("400 Parameter verification failed.\nclustername: value does not match the regex pattern", 255)
    if L.PVE_COROSYNC_CONF.exists():
        raise L.PVEError("cluster config '/etc/pve/corosync.conf' already exists", 255)
    if L.COROSYNC_AUTHKEY.exists():
        raise L.PVEError("authentication key '/etc/corosync/authkey' already exists", 255)
    info = L.host_info()
    me = L.nodename()
    link0 = link_addr(o.get("link0") or o.get("ring0_addr") or info["management_address"])
    node = {"name": me, "nodeid": o.get("nodeid", "1"), "quorum_votes": o.get("votes", "1"), "ring0_addr": link0}
    links, ifaces = [0], {0: {"linknumber": "0"}}
    for i in range(1, 8):
        if f"link{i}" in o:
            node[f"ring{i}_addr"] = link_addr(o[f"link{i}"])
            links.append(i)
            ifaces[i] = {"linknumber": str(i)}
    for i in links:  # create_conf: knet_link_priority from the link's priority=N
        prio = re.search(r"(?:^|,)priority=(\d+)", o.get(f"link{i}", ""))
        if prio and int(prio.group(1)):
            ifaces[i]["knet_link_priority"] = prio.group(1)
    cluster = {"cluster_name": name, "config_version": 1, "nodes": [node], "links": links,
               "_tree": {"interfaces": ifaces}}
    if "token-coefficient" in L.ApiOptions("POST", "/cluster/config"):
        # PVE 9's create: $param->{'token-coefficient'} //= 125, written as totem.token_coefficient
        cluster["token_coefficient"] = o.get("token-coefficient", "125")
    with L.cfs_lock("file-corosync_conf"):
        if L.PVE_COROSYNC_CONF.exists():
            raise L.PVEError("cluster config '/etc/pve/corosync.conf' already exists", 255)
        # ClusterConfig.pm create: root's SSH first (Setup.pm setup_sshd_config, setup_rootsshconfig, setup_ssh_keys)
        CS.setup_sshd_config()
        CS.setup_rootsshconfig()
        CS.setup_ssh_keys()
        print("Corosync Cluster Engine Authentication key generator.")
        print("Gathering 2048 bits for key from /dev/urandom.")
        print("Writing corosync key to /etc/corosync/authkey.")
        key = secrets.token_bytes(256)
        L.COROSYNC_AUTHKEY.parent.mkdir(parents=True, exist_ok=True)
        L.COROSYNC_AUTHKEY.write_bytes(key)
        os.chmod(L.COROSYNC_AUTHKEY, 0o400)
        (L.PVE / "priv").mkdir(parents=True, exist_ok=True)
        (L.PVE / "priv" / "authkey.key").write_bytes(key)
        os.chmod(L.PVE / "priv" / "authkey.key", 0o400)
        print("Writing corosync config to /etc/pve/corosync.conf")
        L.write_file_atomic(L.PVE_COROSYNC_CONF, C.render_conf(cluster))
        local_conf_install()
        # then ssh_merge_keys, gen_pve_node_files (the lab's certificates exist), ssh_merge_known_hosts(.., 1)
        CS.ssh_merge_keys()
        CS.ssh_merge_known_hosts(me, link0, True)
        # Lab stand-in: a PVE node has run `pvecm updatecerts --silent` at boot (pveproxy.service ExecStartPre),
        # which left /etc/pve/nodes/NODE/ssh_known_hosts for SSHInfo.pm; the lab's hosts never run it, so the
        # node that creates the cluster writes its own here (joining nodes get theirs in finish_join).
        CS.ssh_create_node_known_hosts(me)
    print("Restart corosync and cluster filesystem")
    L.unit_stop("corosync")
    L.unit_start("corosync", wait=0.5)
    L.unit_enable("corosync")
    return 0


def cmd_add(argv):
    # `pvecm add` is CLI-only (pve-cluster PVE/CLI/pvecm.pm's own schema, not in the API's): options by hand
    pos, o = L.parse_args(argv, {"link0": "str", "link1": "str", "use_ssh": "bool", "fingerprint": "str",
                                 "force": "bool", "nodeid": "int", "votes": "int", "ring0_addr": "str"}, 1, USAGE)
    target = pos[0]
    me = L.nodename()
    info = L.host_info()
    errors = []
    if L.COROSYNC_AUTHKEY.exists():
        errors.append("authentication key '/etc/corosync/authkey' already exists")
    if L.COROSYNC_CONF.exists():
        errors.append("cluster config '/etc/corosync/corosync.conf' already exists")
    # The lab's /etc/pve is shared from the start: this host's guests are the ones under its own node folder.
    if any(guest["node"] == me for guest in L.vmlist().values()):
        errors.append("this host already contains virtual guests")
    if L.unit_pid("corosync"):
        errors.append("corosync is already running, is this node already in a cluster?!")
    if errors and o.get("force") != "1":
        raise L.PVEError("detected the following error(s):\n" + "".join(f"* {e}\n" for e in errors)
                         + "Check if node may join a cluster failed!", 255)
    # Setup.pm join (and pvecm.pm add with --use_ssh) after assert_joinable: root's SSH, known_hosts made local
    CS.setup_sshd_config()
    CS.setup_rootsshconfig()
    CS.setup_ssh_keys()
    CS.ssh_unmerge_known_hosts()
    th = L.resolve_host(target)
    if th is None:
        raise L.PVEError(f"500 Can't connect to {target}:8006 (Name or service not known)", 255)
    taddr = info["hosts"][th]["management_address"]
    print(f"Establishing API connection with host '{target}'")
    if o.get("fingerprint"):
        want = o["fingerprint"].upper()
        crt = L.PVE / "nodes" / th / "pve-ssl.pem"
        fp = L.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(crt)]).stdout.strip().split("=", 1)[1]
        if fp.upper() != want:
            raise L.PVEError(f"500 Can't connect to {target}:8006 (fingerprint '{want}' not verified, "
                             f"abort!)", 255)
    member_check = "test -f /etc/corosync/corosync.conf || exit 10; corosync-quorumtool -s >/dev/null 2>&1"
    if o.get("use_ssh") == "1":
        # PVE's --use_ssh logs in as root with root's own keys and known_hosts (ssh-copy-id, then ssh -o
        # BatchMode=yes): the joiner's key must be authorized there and the target's host key known here.
        chk = L.run(["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", f"root@{target}", member_check],
                    check=False, timeout=30)
        if chk.returncode == 255:
            raise L.PVEError(f"unable to copy ssh ID: command 'ssh-copy-id -i /root/.ssh/id_rsa root@{target}' "
                             f"failed: exit code 1\n{chk.stderr.strip()}", 255)
    else:
        # Without --use_ssh PVE asks for the target's root password; the lab logs in with its own key instead.
        chk = L.ssh_cmd(taddr, member_check, timeout=30)
    if chk.returncode == 10:
        raise L.PVEError(f"500 unable to join: remote node '{th}' is not part of a cluster", 255)
    if chk.returncode != 0:
        raise L.PVEError("cluster not ready - no quorum?", 255)
    print("Login succeeded.")
    print("check cluster join API version")
    link0 = link_addr(o.get("link0") or o.get("ring0_addr") or info["management_address"])
    with L.cfs_lock("file-corosync_conf"):
        cluster = read_cluster()
        if cluster is None:
            raise L.PVEError("500 unable to join: corosync config on cluster node not found", 255)
        for n in cluster["nodes"]:
            if n["name"] == me and o.get("force") != "1":
                raise L.PVEError(f"500 can't add existing node '{me}'", 255)
            if n.get("ring0_addr") == link0 and n["name"] != me:
                raise L.PVEError(f"500 unable to add node: link0 address '{link0}' already used by node '{n['name']}'", 255)
        cluster["nodes"] = [n for n in cluster["nodes"] if n["name"] != me]
        used = {int(n["nodeid"]) for n in cluster["nodes"]}
        nodeid = int(o["nodeid"]) if "nodeid" in o else next(i for i in range(1, 1000) if i not in used)
        if nodeid in used:
            raise L.PVEError(f"500 Node/link ID {nodeid} already used", 255)
        node = {"name": me, "nodeid": str(nodeid), "quorum_votes": o.get("votes", "1"), "ring0_addr": link0}
        if 1 in cluster["links"]:
            if "link1" not in o:
                raise L.PVEError("500 cluster uses link1 but no --link1 address given", 255)
            node["ring1_addr"] = link_addr(o["link1"])
        cluster["nodes"].append(node)
        cluster["config_version"] += 1
        print("Request addition of this node")
        # Members install it and reload corosync through their pmxcfs (lab/pmxcfs.py), as on PVE.
        L.write_file_atomic(L.PVE_COROSYNC_CONF, C.render_conf(cluster))
    print("Join request OK, finishing setup locally")
    L.COROSYNC_AUTHKEY.parent.mkdir(parents=True, exist_ok=True)
    if L.COROSYNC_AUTHKEY.exists():
        os.chmod(L.COROSYNC_AUTHKEY, 0o600)
    L.COROSYNC_AUTHKEY.write_bytes((L.PVE / "priv" / "authkey.key").read_bytes())
    os.chmod(L.COROSYNC_AUTHKEY, 0o400)
    local_conf_install()
    print("stopping pve-cluster service")
    print("backup old database to '/var/lib/pve-cluster/backup/config-%d.sql.gz'" % int(time.time()))
    L.unit_stop("corosync")
    L.unit_start("corosync", wait=0.5)
    L.unit_enable("corosync")
    print("waiting for quorum...", end="", flush=True)
    if not wait_quorate(60):
        print("")
        raise L.PVEError("timeout waiting for quorum", 255)
    print("OK")
    # Setup.pm finish_join: generate_local_files, updatecerts_and_ssh(1)
    CS.generate_local_files()
    CS.updatecerts_and_ssh(force_new_cert=True)
    print("generated new node certificate, restart pveproxy and pvedaemon services")
    print(f"successfully added node '{me}' to cluster.")
    return 0


def require_cluster():
    if not L.COROSYNC_CONF.exists() or not L.PVE_COROSYNC_CONF.exists():
        raise not_in_cluster_error()


def cmd_status(argv):
    """pvecm.pm status: the totem section of /etc/pve/corosync.conf, then exec('corosync-quorumtool', '-siH'):
    its output (Flags: Quorate Qdevice, the Qdevice membership line, ...) and its exit code (2: not quorate)."""
    L.parse_args(argv, {}, 0, USAGE)
    require_cluster()
    cluster = read_cluster() or {}
    if cluster:
        print("Cluster information")
        print("-------------------")
        for label, key, default in (("Name", "cluster_name", "UNKOWN?"), ("Config Version", "config_version", -1),
                                    ("Transport", "transport", "knet"), ("Secure auth", "secauth", "off")):
            print(f"{label + ':':<17} {cluster.get(key, default)}")
        print("")
    sys.stdout.flush()
    os.execvp("corosync-quorumtool", ["corosync-quorumtool", "-siH"])


def cmd_nodes(argv):
    L.parse_args(argv, {}, 0, USAGE)
    require_cluster()
    if not L.unit_pid("corosync"):
        print("Cannot initialize CMAP service", file=sys.stderr)
        return 2
    res = L.run(["corosync-quorumtool", "-l"], check=False, timeout=15)
    print("")
    print("Membership information")
    print("----------------------")
    lines = res.stdout.splitlines()
    start = next((i for i, l in enumerate(lines) if l.strip().startswith("Nodeid")), None)
    if start is None:
        sys.stdout.write(res.stdout)
        return 2
    for l in lines[start:]:
        print(l)
    return 0


def cmd_expected(argv):
    # pvecm.pm 'expected': check_conf_exists, then exec('corosync-quorumtool', '-e', N): its output and exit code
    pos, _ = L.parse_args(argv, {}, 1, USAGE)
    if not re.fullmatch(r"[+-]?\d+", pos[0]):
        raise L.PVEError(f"400 Parameter verification failed.\nexpected: type check ('integer') failed - got "
                         f"'{pos[0]}'\npvecm expected <expected>", 255)
    if int(pos[0]) < 1:
        raise L.PVEError("400 Parameter verification failed.\nexpected: value must have a minimum value of 1\n"
                         "pvecm expected <expected>", 255)
    require_cluster()
    sys.stdout.flush()
    os.execvp("corosync-quorumtool", ["corosync-quorumtool", "-e", pos[0]])


NODE_NAME_RE = re.compile(r"^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$")  # pve-common pve_verify_node_name


def cmd_delnode(argv):
    """pvecm delnode = PVE::API2::ClusterConfig delnode (DELETE /cluster/config/nodes/{node})."""
    pos, _ = L.parse_args(argv, {}, 1, USAGE)
    name = pos[0]
    if not NODE_NAME_RE.match(name):  # the `node` parameter is a standard 'pve-node' option
        raise L.PVEError("400 Parameter verification failed.\nnode: value does not look like a valid node name\n"
                         "pvecm delnode <node>", 255)
    if name == L.nodename():
        raise L.PVEError("Cannot delete myself from cluster!", 255)
    if L.quorate() is False:  # check_cfs_quorum; a node outside a cluster is quorate (writable /etc/pve)
        raise L.PVEError("cluster not ready - no quorum?", 255)
    # $config_change_lock: cfs_lock_file('corosync.conf') with more than one member
    with L.cfs_lock("file-corosync_conf", timeout=10):
        cluster = read_cluster() or {"nodes": []}
        found = next((n for n in cluster["nodes"]
                      if name in (n.get("name"), n.get("ring0_addr"), n.get("ring1_addr"))), None)
        if found is None:
            raise L.PVEError(f"Node/IP: {name} is not a known host of the cluster.", 255)
        cluster["nodes"] = [n for n in cluster["nodes"] if n is not found]
        # "allowed to fail when node is already shut down!": run_command in an eval; the tool's own output
        # ("Killing node N", or its error) still shows, its exit code does not matter.
        if found.get("nodeid") is not None:
            sys.stdout.flush()
            subprocess.run(["corosync-cfgtool", "-k", str(found["nodeid"])], stdin=subprocess.DEVNULL)
        # update_nodelist -> atomic_write_conf: config_version + 1. pmxcfs installs it on the members (the lab's
        # lab/pmxcfs.py loop) and reloads corosync there; PVE leaves /etc/pve/nodes/NODE and the SSH keys alone.
        cluster["config_version"] += 1
        L.write_file_atomic(L.PVE_COROSYNC_CONF, C.render_conf(cluster))
    return 0


def cmd_updatecerts(argv):
    """pvecm.pm updatecerts: generate_local_files, wait for a quorate /etc/pve, updatecerts_and_ssh."""
    _, o = L.parse_args(argv, {"force": "bool", "silent": "bool", "unmerge-known-hosts": "bool"}, 0, USAGE)
    silent = o.get("silent") == "1"
    CS.generate_local_files()
    deadline, i = time.time() + 80, 0  # run_fork_with_timeout(80, ...)
    while L.quorate() is False:
        if time.time() > deadline:
            msg = ("got timeout when trying to ensure cluster certificates and base file hierarchy is set up - "
                   "no quorum (yet) or hung pmxcfs?")
            if not silent:
                raise L.PVEError(msg, 255)
            L.warn(msg)
            return 0
        if not silent and i % 50 == 0:
            print("waiting for pmxcfs mount to appear and get quorate...", flush=True)
        i += 1
        time.sleep(0.1)
    CS.updatecerts_and_ssh(o.get("force") == "1", silent, o.get("unmerge-known-hosts") == "1")
    return 0


COMMANDS = {"create": cmd_create, "add": cmd_add, "status": cmd_status, "nodes": cmd_nodes,
            "expected": cmd_expected, "delnode": cmd_delnode, "updatecerts": cmd_updatecerts,
            "qdevice": lambda argv: QD.cmd_qdevice(argv, sys.modules[__name__])}


@L.shim_main
def main(argv):
    if not argv or argv[0] in ("help", "-h", "--help"):
        print(USAGE)
        return 0
    cmd = argv[0]
    if cmd not in COMMANDS:
        raise L.PVEError(f"unknown command 'pvecm {cmd}'\n{USAGE}", 255)
    L.host_info()
    return COMMANDS[cmd](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
