"""Lab shim for `ha-manager` (Proxmox VE HA manager CLI) over /etc/pve/ha/*.cfg."""
from __future__ import annotations

import json
import re
import sys
import time
from collections import OrderedDict

from . import pvelib as L
from ..pve import corosync as C
from ..pve import ha as HA_CORE

USAGE = """USAGE: ha-manager <COMMAND> [ARGS] [OPTIONS]   (proxmox-ha lab shim)

Stands in for Proxmox VE's `ha-manager`: keeps /etc/pve/ha/groups.cfg, resources.cfg and
rules.cfg in PVE's section-config format; crm-command queues for the lab's CRM (lab/pve/ha.py,
run by each host's lab.hamanager), and `status` prints what the CRM and LRMs last wrote, with
the real corosync quorum of this host.

       ha-manager add <sid> [--state started|stopped|enabled|disabled|ignored] [--group G]
                            [--max_restart N] [--max_relocate N] [--comment TEXT]
       ha-manager set <sid> [same options] [--delete OPT[,OPT]]
       ha-manager remove <sid>
       ha-manager config [--type vm|ct]
       ha-manager status [--verbose]
       ha-manager groupadd <group> --nodes <node>[:<pri>]{,<node>[:<pri>]}* [--nofailback 0|1] [--restricted 0|1] [--comment TEXT]
       ha-manager groupset <group> [same options]
       ha-manager groupremove <group>
       ha-manager groupconfig
       ha-manager rules add node-affinity|resource-affinity <rule> --resources SIDS [--nodes N[:P],...] [--strict 0|1] [--affinity positive|negative]
       ha-manager rules set <type> <rule> [options]
       ha-manager rules remove <rule>
       ha-manager rules config
       ha-manager crm-command node-maintenance enable|disable <node>
       ha-manager crm-command migrate|relocate <sid> <node>
       ha-manager crm-command stop <sid> <timeout>
"""

HA = L.PVE / "ha"
GROUPS = HA / "groups.cfg"
RESOURCES = HA / "resources.cfg"
RULES = HA / "rules.cfg"

# Options are the API methods' parameters (pve-ha-manager PVE/CLI/ha_manager.pm maps each command to one),
# from PVE's schema for the lab's PVE major: e.g. `failback` only on PVE 9, `rules` not on PVE 8.
RES_ADD_OPTS = L.ApiOptions("POST", "/cluster/ha/resources", positional=("sid",))
RES_SET_OPTS = L.ApiOptions("PUT", "/cluster/ha/resources/{sid}", positional=("sid",))
GROUP_ADD_OPTS = L.ApiOptions("POST", "/cluster/ha/groups", positional=("group",))
GROUP_SET_OPTS = L.ApiOptions("PUT", "/cluster/ha/groups/{group}", positional=("group",))
RULE_ADD_OPTS = L.ApiOptions("POST", "/cluster/ha/rules", positional=("type", "rule"), command="ha-manager rules")
RULE_SET_OPTS = L.ApiOptions("PUT", "/cluster/ha/rules/{rule}", positional=("type", "rule"),
                             command="ha-manager rules")
STATES = ("started", "stopped", "enabled", "disabled", "ignored")
NODE_NAME_RE = re.compile(r"^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$")  # pve-common pve_verify_node_name


def norm_sid(sid: str) -> str:
    if ":" not in sid:
        if not sid.isdigit():
            raise L.PVEError(f"400 Parameter verification failed.\nsid: invalid format - unable to parse service ID '{sid}'", 255)
        guest = L.vmlist().get(sid)
        if guest is None:
            raise L.PVEError(f"unable to detect SID from VMID - VM/CT {sid} does not exist", 255)
        return f"{'vm' if guest['type'] == 'qemu' else 'ct'}:{sid}"
    typ, vmid = sid.split(":", 1)
    if typ not in ("vm", "ct") or not vmid.isdigit():
        raise L.PVEError(f"400 Parameter verification failed.\nsid: invalid format - unable to parse service ID '{sid}'", 255)
    return sid


def parse_nodes(spec: str) -> OrderedDict:
    out = OrderedDict()
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        node, _, pri = part.partition(":")
        if pri and not pri.isdigit():
            raise L.PVEError(f"400 Parameter verification failed.\nnodes: invalid format - value '{part}' does not look like a valid node name", 255)
        out[node] = int(pri) if pri else 0
    if not out:
        raise L.PVEError("400 Parameter verification failed.\nnodes: property is missing and it is not optional", 255)
    return out


# ---------------------------------------------------------------- resources
def _res_split(sid_typ_id):
    return sid_typ_id


def cmd_add(argv):
    pos, o = L.parse_args(argv, RES_ADD_OPTS, 1, USAGE)
    sid = norm_sid(pos[0])
    typ, vmid = sid.split(":")
    if o.get("state", "started") not in STATES:
        raise L.PVEError(f"400 Parameter verification failed.\nstate: value '{o['state']}' does not have a value in the enumeration '{', '.join(STATES)}'", 255)
    if L.quorate() is False:
        raise L.PVEError("cluster not ready - no quorum?", 255)
    missing = HA_CORE.guest_missing(L.PVE, typ, vmid)
    if missing:
        raise L.PVEError(missing, 255)
    with L.cfs_lock("domain-ha"):
        if o.get("group") and not any(s[1] == o["group"] for s in L.read_sections(GROUPS)):
            raise L.PVEError(f"400 Parameter verification failed.\ngroup: group '{o['group']}' does not exist", 255)
        secs = L.read_sections(RESOURCES)
        if any(s[0] == typ and s[1] == vmid for s in secs):
            raise L.PVEError(f"resource ID '{sid}' already defined", 255)
        opts = OrderedDict()
        for k in ("comment", "failback", "group", "max_relocate", "max_restart", "state"):
            if k in o:
                opts[k] = o[k]
        secs.append([typ, vmid, opts])
        L.write_file_atomic(RESOURCES, L.format_section_config(secs))
    return 0


def update_options(sec, o) -> None:
    """`set`/`groupset`: drop the options named in --delete, then set the given ones (sorted, as PVE writes)."""
    for d in (o.pop("delete", "") or "").split(","):
        if d:
            sec[2].pop(d, None)
    for k, v in o.items():
        if k != "type":
            sec[2][k] = v
    sec[2] = OrderedDict(sorted(sec[2].items()))


def cmd_set(argv):
    pos, o = L.parse_args(argv, RES_SET_OPTS, 1, USAGE)
    sid = norm_sid(pos[0])
    typ, vmid = sid.split(":")
    with L.cfs_lock("domain-ha"):
        secs = L.read_sections(RESOURCES)
        sec = next((s for s in secs if s[0] == typ and s[1] == vmid), None)
        if sec is None:
            raise L.PVEError(f"service '{sid}' is not under HA management", 255)
        if o.get("group") and not any(s[1] == o["group"] for s in L.read_sections(GROUPS)):
            raise L.PVEError(f"400 Parameter verification failed.\ngroup: group '{o['group']}' does not exist", 255)
        update_options(sec, o)
        L.write_file_atomic(RESOURCES, L.format_section_config(secs))
    return 0


def cmd_remove(argv):
    pos, _ = L.parse_args(argv, {"purge": "bool"}, 1, USAGE)
    sid = norm_sid(pos[0])
    typ, vmid = sid.split(":")
    with L.cfs_lock("domain-ha"):
        secs = L.read_sections(RESOURCES)
        if not any(s[0] == typ and s[1] == vmid for s in secs):
            raise L.PVEError(f"service '{sid}' is not under HA management", 255)
        L.write_file_atomic(RESOURCES, L.format_section_config(
            [s for s in secs if not (s[0] == typ and s[1] == vmid)]))
    return 0


def cmd_config(argv):
    _, o = L.parse_args(argv, {"type": "str", "output-format": "str"}, 0, USAGE)
    secs = L.read_sections(RESOURCES)
    if o.get("type"):
        secs = [s for s in secs if s[0] == o["type"]]
    if o.get("output-format", "text").startswith("json"):
        print(json.dumps([dict(sid=f"{t}:{i}", type=t, **opts) for t, i, opts in secs]))
        return 0
    for typ, vmid, opts in secs:
        print(f"{typ}:{vmid}")
        for k, v in opts.items():
            print(f"\t{k} {v}")
        print("")
    return 0


# ---------------------------------------------------------------- groups
def cmd_groupadd(argv):
    pos, o = L.parse_args(argv, GROUP_ADD_OPTS, 1, USAGE)
    HA_CORE.refuse_groups_once_migrated(L.PVE, L.pve_major(), "create group")
    name = pos[0]
    if "nodes" not in o:
        raise L.PVEError("400 Parameter verification failed.\nnodes: property is missing and it is not optional", 255)
    parse_nodes(o["nodes"])
    with L.cfs_lock("domain-ha"):
        secs = L.read_sections(GROUPS)
        if any(s[1] == name for s in secs):
            raise L.PVEError(f"ha group '{name}' already defined", 255)
        opts = OrderedDict()
        for k in ("comment", "nodes", "nofailback", "restricted"):
            if k in o:
                opts[k] = o[k]
        opts.setdefault("nofailback", "0")
        opts.setdefault("restricted", "0")
        secs.append(["group", name, OrderedDict(sorted(opts.items()))])
        L.write_file_atomic(GROUPS, L.format_section_config(secs))
    return 0


def cmd_groupset(argv):
    pos, o = L.parse_args(argv, GROUP_SET_OPTS, 1, USAGE)
    HA_CORE.refuse_groups_once_migrated(L.PVE, L.pve_major(), "update group")
    name = pos[0]
    if "nodes" in o:
        parse_nodes(o["nodes"])
    with L.cfs_lock("domain-ha"):
        secs = L.read_sections(GROUPS)
        sec = next((s for s in secs if s[1] == name), None)
        if sec is None:
            raise L.PVEError(f"no such ha group '{name}'", 255)
        update_options(sec, o)
        L.write_file_atomic(GROUPS, L.format_section_config(secs))
    return 0


def cmd_groupremove(argv):
    pos, _ = L.parse_args(argv, {}, 1, USAGE)
    HA_CORE.refuse_groups_once_migrated(L.PVE, L.pve_major(), "delete group")
    name = pos[0]
    with L.cfs_lock("domain-ha"):
        secs = L.read_sections(GROUPS)
        if not any(s[1] == name for s in secs):
            raise L.PVEError(f"no such ha group '{name}'", 255)
        users = [f"{t}:{i}" for t, i, opts in L.read_sections(RESOURCES) if opts.get("group") == name]
        if users:
            raise L.PVEError(f"ha group '{name}' is used by service '{users[0]}'", 255)
        L.write_file_atomic(GROUPS, L.format_section_config([s for s in secs if s[1] != name]))
    return 0


def cmd_groupconfig(argv):
    _, o = L.parse_args(argv, {"output-format": "str"}, 0, USAGE)
    HA_CORE.refuse_groups_once_migrated(L.PVE, L.pve_major(), "index groups")
    secs = L.read_sections(GROUPS)
    if o.get("output-format", "text").startswith("json"):
        print(json.dumps([dict(group=i, type=t, **opts) for t, i, opts in secs]))
        return 0
    sys.stdout.write(L.format_section_config(secs))
    return 0


# ---------------------------------------------------------------- rules (PVE 9)
def cmd_rules(argv):
    if not argv:
        raise L.PVEError(f"400 not enough arguments\n{USAGE}", 255)
    sub, rest = argv[0], argv[1:]
    if sub in ("config", "list"):
        _, o = L.parse_args(rest, {"output-format": "str", "type": "str", "resource": "str"}, 0, USAGE)
        secs = L.read_sections(RULES)
        if o.get("output-format", "text").startswith("json"):
            print(json.dumps([dict(rule=i, type=t, **opts) for t, i, opts in secs]))
        else:
            sys.stdout.write(L.format_section_config(secs))
        return 0
    if sub == "remove":
        pos, _ = L.parse_args(rest, {}, 1, USAGE)
        with L.cfs_lock("domain-ha"):
            secs = L.read_sections(RULES)
            if not any(s[1] == pos[0] for s in secs):
                raise L.PVEError(f"HA rule '{pos[0]}' does not exist", 255)
            L.write_file_atomic(RULES, L.format_section_config([s for s in secs if s[1] != pos[0]]))
        return 0
    if sub in ("add", "set"):
        pos, o = L.parse_args(rest, RULE_ADD_OPTS if sub == "add" else RULE_SET_OPTS, 2, USAGE)
        typ, rid = pos
        HA_CORE.refuse_rules_before_migration(L.PVE, f"{'create' if sub == 'add' else 'update'} ha rule")
        if typ not in ("node-affinity", "resource-affinity"):
            raise L.PVEError(f"400 Parameter verification failed.\ntype: value '{typ}' does not have a value in the enumeration 'node-affinity, resource-affinity'", 255)
        if "resources" in o:
            o["resources"] = ",".join(norm_sid(s) for s in o["resources"].split(",") if s)
        if "nodes" in o:
            parse_nodes(o["nodes"])
        with L.cfs_lock("domain-ha"):
            secs = L.read_sections(RULES)
            sec = next((s for s in secs if s[1] == rid), None)
            if sub == "add":
                if sec is not None:
                    raise L.PVEError(f"HA rule '{rid}' already defined", 255)
                if "resources" not in o:
                    raise L.PVEError("400 Parameter verification failed.\nresources: property is missing and it is not optional", 255)
                if typ == "node-affinity" and "nodes" not in o:
                    raise L.PVEError("400 Parameter verification failed.\nnodes: property is missing and it is not optional", 255)
                o.pop("delete", None)
                secs.append([typ, rid, OrderedDict(sorted(o.items()))])
            else:
                if sec is None:
                    raise L.PVEError(f"HA rule '{rid}' does not exist", 255)
                for d in (o.pop("delete", "") or "").split(","):
                    if d:
                        sec[2].pop(d, None)
                sec[2].update(o)
                sec[2] = OrderedDict(sorted(sec[2].items()))
            L.write_file_atomic(RULES, L.format_section_config(secs))
        return 0
    raise L.PVEError(f"400 unknown command 'ha-manager rules {sub}'\n{USAGE}", 255)


# ---------------------------------------------------------------- crm-command
def cmd_crm(argv):
    """PVE::CLI::ha_manager crm-command: checked here as PVE's CLI and API check it, then queued in
    /etc/pve/ha/crm_commands for the CRM's next round (lab/pve/ha.py), which may still drop it."""
    if not argv:
        raise L.PVEError(f"400 not enough arguments\n{USAGE}", 255)
    sub = argv[0]
    if sub == "node-maintenance":
        pos, _ = L.parse_args(argv[1:], {}, 2, USAGE)
        action, node = pos
        if action not in ("enable", "disable"):
            raise L.PVEError(f"400 unknown command 'ha-manager crm-command node-maintenance {action}'", 255)
        if not NODE_NAME_RE.match(node):  # the 'pve-node' standard option
            raise L.PVEError("400 Parameter verification failed.\nnode: value does not look like a valid node "
                             f"name\nha-manager crm-command node-maintenance {action} <node>", 255)
        if node not in cluster_nodes():  # PVE::Cluster::check_node_exists (pmxcfs's nodelist)
            raise L.PVEError(f"no such cluster node '{node}'", 255)
        HA_CORE.queue_command(L.PVE, f"{action}-node-maintenance {node}")
        return 0
    if sub in ("migrate", "relocate"):
        pos, _ = L.parse_args(argv[1:], {}, 2, USAGE)
        sid, node = norm_sid(pos[0]), pos[1]
        typ, vmid = sid.split(":")
        opts = next((o for t, i, o in L.read_sections(RESOURCES) if t == typ and i == vmid), None)
        if opts is None or opts.get("state") == "ignored":  # API2/HA/Resources.pm service_is_ha_managed
            raise L.PVEError(f"resource '{sid}' is not HA managed", 255)
        if node not in cluster_nodes():
            raise L.PVEError(f"no such cluster node '{node}'", 255)
        HA_CORE.queue_command(L.PVE, f"{sub} {sid} {node}")
        return 0
    if sub == "stop":
        pos, _ = L.parse_args(argv[1:], {}, 2, USAGE)
        return cmd_set([pos[0], "--state", "stopped"])
    raise L.PVEError(f"400 unknown command 'ha-manager crm-command {sub}'\n{USAGE}", 255)


# ---------------------------------------------------------------- status
def cluster_nodes() -> list[str]:
    """The nodes pmxcfs knows: the corosync nodelist of /etc/pve/corosync.conf, this node alone outside a cluster."""
    from .pvecm import read_cluster

    return C.node_names(read_cluster()) or [L.nodename()]


def cmd_status(argv):
    """PVE::CLI::ha_manager status: '$type $status' of each entry of PVE::API2::HA::Status->status."""
    L.parse_args(argv, {"verbose": "bool"}, 0, USAGE)
    for entry in HA_CORE.status(L.PVE, L.nodename(), L.quorate() is not False, L.pve_major(), time.time()):
        print(f"{entry['type']} {entry['status']}")
    return 0


COMMANDS = {"add": cmd_add, "set": cmd_set, "remove": cmd_remove, "config": cmd_config,
            "groupadd": cmd_groupadd, "groupset": cmd_groupset, "groupremove": cmd_groupremove,
            "groupconfig": cmd_groupconfig, "rules": cmd_rules, "crm-command": cmd_crm, "status": cmd_status}


@L.shim_main
def main(argv):
    HA.mkdir(parents=True, exist_ok=True)
    return L.dispatch("ha-manager", COMMANDS, USAGE, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
