"""`pvecm qdevice setup ADDRESS [--network CIDR] [--force]` and `pvecm qdevice remove`, step by step as
pve-cluster src/PVE/CLI/pvecm.pm setup_qdevice / remove_qdevice do them, with the real tools: ssh-copy-id,
corosync-qnetd-certutil on the QNetd host over ssh, scp, corosync-qdevice-net-certutil on every member over
its member ssh (pvelib.member_ssh = SSHInfo.pm), the quorum.device section written into
/etc/pve/corosync.conf under the cfs lock, systemctl start/enable corosync-qdevice (a real daemon, see
pvelib.PACKAGED_UNITS) and `corosync-cfgtool -R`.
"""
from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import pvelib as L
from ..pve import corosync as C

BASE_DIR = Path("/etc/corosync/qdevice/net")
DB_DIR_QNETD = "/etc/corosync/qnetd/nssdb"
DB_DIR_NODE = BASE_DIR / "nssdb"
CA_EXPORT_BASE = "qnetd-cacert.crt"
CRQ_FILE_BASE = "qdevice-net-node.crq"
P12_FILE_BASE = "qdevice-net-node.p12"
QDEVICE_CERTUTIL = "corosync-qdevice-net-certutil"
QNETD_CERTUTIL = "corosync-qnetd-certutil"
QDEV_STATE_DIR = "/etc/corosync/qdevice"
SSH_CMD = ["ssh", "-o", "BatchMode=yes", "-lroot"]
SCP_CMD = ["scp", "-o", "BatchMode=yes"]

USAGE_SETUP = "pvecm qdevice setup <address> [OPTIONS]"
USAGE_REMOVE = "pvecm qdevice remove"


def shell_quote(arg: str) -> str:
    """String::ShellQuote::shell_quote, as PVE::Cmd::to_string prints a failed command."""
    if arg == "":
        return "''"
    if re.search(r"[^\w!%+,\-./:=@^]", arg):
        return "'" + arg.replace("'", "'\\''") + "'"
    return arg


def run_command(cmd: list[str], noerr: bool = False, outfunc=None) -> int:
    """PVE::Tools::run_command: stdout (through outfunc line by line) and stderr shown; a non-zero exit dies
    with "command '...' failed: exit code N" unless noerr. No terminal and no askpass: where PVE would prompt
    (ssh-copy-id asking for a password or to accept a host key) the lab's batch run fails instead."""
    env = {k: v for k, v in os.environ.items() if k not in ("SSH_ASKPASS", "SSH_ASKPASS_REQUIRE", "DISPLAY")}
    env["HOME"] = "/root"  # pvecm.pm: $ENV{HOME} = '/root'; # for ssh-copy-id
    sys.stdout.flush()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE if outfunc else None,
                            text=True, env=env, start_new_session=True)
    if outfunc:
        for line in proc.stdout:
            outfunc(line.rstrip("\n"))
    code = proc.wait()
    if code and not noerr:
        raise L.PVEError(f"command '{' '.join(shell_quote(a) for a in cmd)}' failed: exit code {code}", 255)
    return code


def foreach_member(code, members: dict, noerr: bool = False) -> None:
    """pvecm.pm $foreach_member: sorted by node name, each with its cluster IP."""
    for node in sorted(members):
        ip = members[node].get("ip")
        if not ip:
            if not noerr:
                raise L.PVEError(f"cannot get the cluster IP for node '{node}'.", 255)
            L.warn(f"cannot get the cluster IP for node '{node}'.")
            return
        code(node, ip)


def outsub(node: str):
    return lambda line: sys.stdout.write(f"\nnode '{node}': {line}")


def check_all_online(members: dict) -> None:
    for node in sorted(members):
        if not members[node]["online"]:
            raise L.PVEError(f"All nodes must be online! Node {node} is offline, aborting.", 255)


def wait_members_reloaded(members: dict, want_device: bool, timeout: float = 20) -> None:
    """Lab only: real pmxcfs writes each member's /etc/corosync/corosync.conf and runs corosync-cfgtool -R as
    soon as /etc/pve/corosync.conf changes (pve-cluster src/pmxcfs/dcdb.c); the lab's stand-in (lab/pmxcfs.py)
    polls once a second. Wait until every member's corosync has (or no longer has) the quorum device, so that
    corosync-qdevice finds its configuration in cmap when PVE's next step starts it."""
    deadline = time.time() + timeout
    for node in sorted(members):
        argv = L.member_ssh(node, members[node]["ip"], "--", "corosync-cmapctl", "-g", "quorum.device.model")
        while True:
            res = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
            if (res.returncode == 0) == want_device or time.time() > deadline:
                break
            time.sleep(0.3)


def cmd_setup(argv, pvecm) -> int:
    pos, o = L.parse_args(argv, {"network": "str", "force": "bool"}, 1, USAGE_SETUP)
    qnetd_addr = pos[0]
    try:
        ipaddress.ip_address(qnetd_addr)
    except ValueError:
        raise L.PVEError("400 Parameter verification failed.\naddress: value does not look like a valid IP address\n"
                         + USAGE_SETUP, 255)
    if "network" in o:
        try:
            ipaddress.ip_network(o["network"], strict=False)
            if "/" not in o["network"]:
                raise ValueError
        except ValueError:
            raise L.PVEError("400 Parameter verification failed.\nnetwork: value does not look like a valid CIDR "
                             "network\n" + USAGE_SETUP, 255)
    force = o.get("force") == "1"
    pvecm.require_cluster()  # PVE::Corosync::check_conf_exists
    members = L.members()
    check_all_online(members)
    conf = pvecm.read_cluster() or {}
    if C.quorum_device(conf) is not None and not force:
        raise L.PVEError("QDevice already configured!", 255)
    # --network is taken and checked, and then not used by PVE's setup_qdevice either.
    model, algorithm = "net", "ffsplit"
    if len(members) & 1:
        if force:
            algorithm = "lms"
        else:
            raise L.PVEError("Clusters with an odd node count are not officially supported!", 255)
    clustername = conf.get("cluster_name")
    run_command(["ssh-copy-id", "-i", "/root/.ssh/id_rsa", f"root@{qnetd_addr}"])
    if DB_DIR_NODE.is_dir():
        # FIXME (PVE's): check on all nodes?!
        if force:
            shutil.rmtree(DB_DIR_NODE)
        else:
            raise L.PVEError("QDevice certificate store already initialised, set force to delete!", 255)
    pve_ca, pve_p12 = f"{L.PVE}/{CA_EXPORT_BASE}", f"{L.PVE}/{P12_FILE_BASE}"

    print("\nINFO: initializing qnetd server")
    run_command([*SSH_CMD, qnetd_addr, QNETD_CERTUTIL, "-i"], noerr=True)

    print("\nINFO: copying CA cert and initializing on all nodes")
    run_command([*SCP_CMD, f"root@[{qnetd_addr}]:{DB_DIR_QNETD}/{CA_EXPORT_BASE}", pve_ca])
    foreach_member(lambda node, ip: run_command(
        [*L.member_ssh(node, ip), "--", QDEVICE_CERTUTIL, "-i", "-c", pve_ca], noerr=True, outfunc=outsub(node)),
        members)
    Path(pve_ca).unlink(missing_ok=True)

    print("\nINFO: generating cert request")
    run_command([QDEVICE_CERTUTIL, "-r", "-n", clustername])

    print("\nINFO: copying exported cert request to qnetd server")
    run_command([*SCP_CMD, f"{DB_DIR_NODE}/{CRQ_FILE_BASE}", f"root@[{qnetd_addr}]:/tmp"])

    print("\nINFO: sign and export cluster cert")
    run_command([*SSH_CMD, qnetd_addr, QNETD_CERTUTIL, "-s", "-c", f"/tmp/{CRQ_FILE_BASE}", "-n", clustername])

    print("\nINFO: copy exported CRT")
    run_command([*SCP_CMD, f"root@[{qnetd_addr}]:{DB_DIR_QNETD}/cluster-{clustername}.crt", str(DB_DIR_NODE)])

    print("\nINFO: import certificate")
    run_command([QDEVICE_CERTUTIL, "-M", "-c", f"{DB_DIR_NODE}/cluster-{clustername}.crt"])

    print("\nINFO: copy and import pk12 cert to all nodes")
    run_command([*SCP_CMD, f"{DB_DIR_NODE}/{P12_FILE_BASE}", f"{L.PVE}/"])
    foreach_member(lambda node, ip: run_command(
        [*L.member_ssh(node, ip), "--", QDEVICE_CERTUTIL, "-m", "-c", pve_p12], outfunc=outsub(node)), members)
    Path(pve_p12).unlink(missing_ok=True)

    print("\nINFO: add QDevice to cluster configuration")
    with L.cfs_lock("file-corosync_conf", timeout=10):
        conf = pvecm.read_cluster()
        if C.quorum_device(conf) is not None:  # must not be forced!
            raise L.PVEError("Qdevice already configured, must be removed before setting up new one!", 255)
        device = {"model": model, model: {"tls": "on", "host": qnetd_addr, "algorithm": algorithm}}
        if algorithm == "ffsplit":
            device["votes"] = "1"
        C.set_quorum_device(conf, device)
        conf["config_version"] += 1  # atomic_write_conf
        L.write_file_atomic(L.PVE_COROSYNC_CONF, C.render_conf(conf))
    wait_members_reloaded(members, want_device=True)

    def start(node, ip):
        print(f"\nINFO: start and enable corosync qdevice daemon on node '{node}'...")
        run_command([*L.member_ssh(node, ip), "--", "systemctl", "start", "corosync-qdevice"], outfunc=outsub(node))
        run_command([*L.member_ssh(node, ip), "--", "systemctl", "enable", "corosync-qdevice"], outfunc=outsub(node))

    foreach_member(start, members)
    run_command(["corosync-cfgtool", "-R"])  # do cluster wide config reload
    return 0


def cmd_remove(argv, pvecm) -> int:
    L.parse_args(argv, {}, 0, USAGE_REMOVE)
    pvecm.require_cluster()
    members = L.members()
    check_all_online(members)
    with L.cfs_lock("file-corosync_conf", timeout=10):
        conf = pvecm.read_cluster()
        if C.quorum_device(conf) is None:
            raise L.PVEError("No QDevice configured!", 255)
        C.set_quorum_device(conf, None)
        conf["config_version"] += 1
        L.write_file_atomic(L.PVE_COROSYNC_CONF, C.render_conf(conf))
        # cleanup qdev state (cert storage)
        foreach_member(lambda node, ip: run_command([*L.member_ssh(node, ip), "--", "rm", "-rf", QDEV_STATE_DIR]),
                       members)

    def stop(node, ip):
        run_command([*L.member_ssh(node, ip), "--", "systemctl", "stop", "corosync-qdevice"])
        run_command([*L.member_ssh(node, ip), "--", "systemctl", "disable", "corosync-qdevice"])

    foreach_member(stop, members)
    wait_members_reloaded(members, want_device=False)
    run_command(["corosync-cfgtool", "-R"])
    print("\nRemoved Qdevice.")
    return 0


def cmd_qdevice(argv, pvecm) -> int:
    if not argv or argv[0] not in ("setup", "remove"):
        raise L.PVEError(f"{'unknown command' if argv else 'no command specified'}\n"
                         f"USAGE: pvecm qdevice <COMMAND> [ARGS] [OPTIONS]\n       {USAGE_REMOVE}\n"
                         f"       {USAGE_SETUP}", 255)
    return (cmd_setup if argv[0] == "setup" else cmd_remove)(argv[1:], pvecm)
