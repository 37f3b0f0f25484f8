"""Lab shim for `qm`: guests as config files only (the lab has no KVM), so HA has something to manage.

A VM is /etc/pve/nodes/NODE/qemu-server/VMID.conf, which is how PVE's cluster filesystem knows a guest
(its vmlist). The guest never runs: `qm status` says stopped.
"""
from __future__ import annotations

import re
import sys

from . import pvelib as L

USAGE = """USAGE: qm <COMMAND> [ARGS] [OPTIONS]   (proxmox-ha lab shim)

Stands in for Proxmox VE's `qm`: guests are config files only (no KVM in the lab).

       qm create <vmid> [--name NAME] [--memory MiB] [--cores N]
       qm config <vmid>
       qm destroy <vmid>
       qm list
       qm status <vmid>
"""

# POST /nodes/{node}/qemu's names (a subset: what the lab's guests need).
CREATE_OPTS = {"name": "str", "memory": "int", "cores": "int"}
DNS_NAME = re.compile(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?$")


def _vmid(text: str) -> str:
    # pve-vmid: 100 .. 999999999
    if not re.fullmatch(r"[1-9][0-9]{2,8}", text):
        raise L.PVEError("400 Parameter verification failed.\nvmid: invalid format - value does not look like a valid VM ID\n", 255)
    return text


def _conf_path(vmid: str):
    entry = L.vmlist().get(vmid)
    if entry is None or entry["type"] != "qemu":
        raise L.PVEError(f"Configuration file 'nodes/{L.nodename()}/qemu-server/{vmid}.conf' does not exist", 2)
    return L.PVE / "nodes" / entry["node"] / "qemu-server" / f"{vmid}.conf"


def cmd_create(argv):
    pos, o = L.parse_args(argv, CREATE_OPTS, 1, USAGE)
    vmid = _vmid(pos[0])
    if "name" in o and not DNS_NAME.match(o["name"]):
        raise L.PVEError(f"400 Parameter verification failed.\nname: invalid format - value '{o['name']}' does not look like a valid DNS name\n", 255)
    with L.cfs_lock(f"vm-{vmid}"):
        existing = L.vmlist().get(vmid)
        if existing:
            raise L.PVEError(f"unable to create VM {vmid} - VM {vmid} already exists on node '{existing['node']}'", 255)
        lines = [f"{key}: {o[key]}" for key in ("cores", "memory", "name") if key in o]
        L.write_file_atomic(L.PVE / "nodes" / L.nodename() / "qemu-server" / f"{vmid}.conf", "\n".join(lines + ["ostype: l26", ""]))
    return 0


def cmd_config(argv):
    pos, _ = L.parse_args(argv, {}, 1, USAGE)
    print(_conf_path(_vmid(pos[0])).read_text(), end="")
    return 0


def cmd_destroy(argv):
    pos, _ = L.parse_args(argv, {}, 1, USAGE)
    vmid = _vmid(pos[0])
    path = _conf_path(vmid)
    if any(s[1] == vmid for s in L.read_sections(L.PVE / "ha" / "resources.cfg")):
        raise L.PVEError(f"unable to remove VM {vmid} - used in HA resources and purge parameter not set.", 255)
    path.unlink()
    return 0


def cmd_list(argv):
    L.parse_args(argv, {}, 0, USAGE)
    mine = {vmid: e for vmid, e in L.vmlist().items() if e["node"] == L.nodename() and e["type"] == "qemu"}
    if mine:
        print(f"{'VMID':>10} {'NAME':<20} {'STATUS':<10} {'MEM(MB)':>10} {'BOOTDISK(GB)':>10} {'PID':>10}")
    for vmid in sorted(mine, key=int):
        conf = L.parse_guest_conf(_conf_path(vmid).read_text())
        print(f"{vmid:>10} {conf.get('name', f'VM {vmid}'):<20} {'stopped':<10} {conf.get('memory', '2048'):>10} {'0.00':>10} {'0':>10}")
    return 0


def cmd_status(argv):
    pos, _ = L.parse_args(argv, {}, 1, USAGE)
    _conf_path(_vmid(pos[0]))
    print("status: stopped")
    return 0


COMMANDS = {"create": cmd_create, "config": cmd_config, "destroy": cmd_destroy, "list": cmd_list, "status": cmd_status}


@L.shim_main
def main(argv):
    return L.dispatch("qm", COMMANDS, USAGE, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
