"""The HA stack as the lab runs it: pve-ha-manager's CRM and LRM (src/PVE/HA/Manager.pm, NodeStatus.pm, LRM.pm) over
PVE's own files, and the status Status.pm prints from them.

Files, as on PVE: ha/resources.cfg, groups.cfg, rules.cfg (the config); ha/crm_commands (queued by `ha-manager
crm-command`); ha/manager_status (the CRM's JSON: master, node states and requests, service states); and
nodes/NODE/lrm_status (each LRM's JSON: mode, state, timestamp). A guest lives where its config file is
(nodes/NODE/qemu-server/ID.conf): a migration or a recovery moves that file, as PVE's does.

What the lab keeps from PVE's rules:
- node maintenance moves only started services; stopped, disabled and error ones stay, and `crm-command migrate`
  moves a stopped or disabled one (next_state_stopped);
- maintenance is queued only for an online node ("crm command error - node not online" otherwise), and is cleared
  only by `node-maintenance disable`; a node's request outlives the node;
- a node that is gone is fenced, and only then are its started and stopped services recovered (disabled ones stay);
- an LRM in maintenance with no active service gives up its watchdog ("watchdog closed (disabled)"), which its
  lrm_status shows as state `maintenance`.
What it simplifies: a migration is the move of the config file (no guest runs), the master is the lowest-named
online node, and fencing takes LAB_FENCE_SECONDS instead of PVE's 60 s delay plus the 120 s agent lock lifetime.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from . import files
from .errors import PVEError

RESOURCES, GROUPS, RULES = "ha/resources.cfg", "ha/groups.cfg", "ha/rules.cfg"
MANAGER_STATUS, CRM_COMMANDS = "ha/manager_status", "ha/crm_commands"
LAB_FENCE_SECONDS = 20
STALE_SECONDS = 30  # Status.pm: an LRM or master timestamp older than this is "old timestamp - dead?"
CONFIG_DIRS = {"vm": "qemu-server", "ct": "lxc"}


def groups_migrated(pve: Path) -> bool:
    """Config.pm have_groups_been_migrated: no group left."""
    return not files.read_sections(pve / GROUPS)


def refuse_groups_once_migrated(pve: Path, major: int, action: str) -> None:
    """API2/HA/Groups.pm on PVE 9: once groups are migrated, they are rules."""
    if major >= 9 and groups_migrated(pve):
        raise PVEError(f"cannot {action}: ha groups have been migrated to rules")


def refuse_rules_before_migration(pve: Path, action: str) -> None:
    """API2/HA/Rules.pm: while a group is left, the groups rule placement (PVE 8's way, or PVE 9 mid-upgrade)."""
    if not groups_migrated(pve):
        raise PVEError(f"cannot {action}: ha groups have not been migrated yet")


def lrm_status_path(pve: Path, node: str) -> Path:
    return pve / "nodes" / node / "lrm_status"


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def write_json(path: Path, data: dict) -> None:
    files.write_file_atomic(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def queue_command(pve: Path, command: str) -> None:
    """PVE::HA::Config::queue_crm_commands: append a line for the CRM's next round."""
    path = pve / CRM_COMMANDS
    path.parent.mkdir(parents=True, exist_ok=True)
    with files.locked(pve, "domain-ha"), open(path, "a") as out:
        out.write(command + "\n")


def config_state(opts: dict) -> str:
    state = opts.get("state", "started")
    return "started" if state == "enabled" else state


def placement(pve: Path, sid: str, opts: dict, major: int) -> tuple[dict[str, int] | None, bool, bool]:
    """(node priorities or None, strict, failback) of a service: its group (PVE 8) or node-affinity rule (PVE 9)."""
    failback = opts.get("failback", "1") != "0"
    for _, group, gopts in files.read_sections(pve / GROUPS):
        if group == opts.get("group"):
            prio = {n.partition(":")[0]: int(n.partition(":")[2] or 0) for n in gopts.get("nodes", "").split(",") if n}
            return prio, gopts.get("restricted") == "1", failback and gopts.get("nofailback") != "1"
    if major >= 9:
        for kind, _, ropts in files.read_sections(pve / RULES):
            if kind == "node-affinity" and "disable" not in ropts and sid in ropts.get("resources", "").split(","):
                prio = {n.partition(":")[0]: int(n.partition(":")[2] or 0) for n in ropts.get("nodes", "").split(",") if n}
                return prio, ropts.get("strict") == "1", failback
    return None, False, failback


def select_node(current: str, online: list[str], prio: dict[str, int] | None, strict: bool, failback: bool,
                load: dict[str, int], fallback: str | None = None) -> str | None:
    """Manager.pm select_service_node: the highest-priority online nodes; stay where allowed, else the least loaded."""
    if prio:
        inside = [n for n in online if n in prio]
        if inside:
            top = max(prio[n] for n in inside)
            preferred = [n for n in inside if prio[n] == top]
        else:
            preferred = [] if strict else list(online)
        allowed = inside or ([] if strict else list(online))
    else:
        preferred = allowed = list(online)
    if not preferred:
        return None
    if fallback in preferred:
        return fallback
    if current in preferred or (not failback and current in allowed):
        return current
    return min(preferred, key=lambda n: (load.get(n, 0), n))


def move_guest(pve: Path, sid: str, source: str, target: str) -> None:
    """What a migration or a recovery leaves in pmxcfs: the guest's config file under its new node."""
    kind, vmid = sid.split(":")
    old = pve / "nodes" / source / CONFIG_DIRS[kind] / f"{vmid}.conf"
    new = pve / "nodes" / target / CONFIG_DIRS[kind] / f"{vmid}.conf"
    new.parent.mkdir(parents=True, exist_ok=True)
    if old.exists():
        old.replace(new)


def guest_missing(pve: Path, typ: str, vmid: str) -> str | None:
    """pve-ha-manager's Resources::PVEVM/PVECT->exists: the refusal for an HA resource without its guest."""
    entry = files.vmlist(pve).get(vmid)
    if entry is None:
        return f"resource '{typ}:{vmid}' does not exist in cluster"
    if (typ, entry["type"]) not in (("vm", "qemu"), ("ct", "lxc")):
        return f"resource '{typ}:{vmid}' - guest with ID {vmid} is not a {'VM' if typ == 'vm' else 'container'}"
    return None


def _guest_node(pve: Path, sid: str) -> str | None:
    entry = files.vmlist(pve).get(sid.split(":")[1])
    return entry["node"] if entry else None


def crm_round(pve: Path, me: str, nodes: list[str], online: list[str], major: int, now: float, log) -> None:
    """One round of the master's CRM: node states, queued commands, then each service's next state."""
    ms = read_json(pve / MANAGER_STATUS)
    ms.update(master_node=me, timestamp=int(now))
    requests = ms.setdefault("node_request", {})
    offline_since = ms.setdefault("lab_offline_since", {})
    fenced = set(ms.setdefault("lab_fenced", []))
    states = {}
    for node in nodes:
        lrm = read_json(lrm_status_path(pve, node))
        if node in online:
            offline_since.pop(node, None)
            fenced.discard(node)
            states[node] = "maintenance" if lrm.get("mode") == "maintenance" else "online"
        elif ms.get("node_status", {}).get(node) == "maintenance" and lrm.get("mode") == "maintenance":
            states[node] = "maintenance"  # NodeStatus.pm: gone while in maintenance, it stays so
        else:
            since = offline_since.setdefault(node, now)
            if node not in fenced and now - since >= LAB_FENCE_SECONDS:
                log(f"fencing: acknowledged - got agent lock for node '{node}'")
                fenced.add(node)
            states[node] = "unknown"
    ms["node_status"], ms["lab_fenced"] = states, sorted(fenced)
    services = ms.setdefault("service_status", {})

    with files.locked(pve, "domain-ha"):  # Config.pm read_crm_commands: read and empty it
        commands = (pve / CRM_COMMANDS).read_text().splitlines() if (pve / CRM_COMMANDS).exists() else []
        (pve / CRM_COMMANDS).write_text("")
    for command in filter(None, commands):
        verb, *args = command.split()
        if verb in ("enable-node-maintenance", "disable-node-maintenance"):
            node = args[0]
            if verb == "disable-node-maintenance":
                if states.get(node) != "maintenance":
                    log(f"clearing maintenance of node {node} requested, but it's in state {states.get(node, 'gone')}")
                requests.get(node, {}).pop("maintenance", None)
            elif states.get(node) == "online":
                requests.setdefault(node, {})["maintenance"] = 1
            elif states.get(node) == "maintenance":
                log(f"ignoring crm command - node {node} is already in maintenance state")
            else:
                log(f"crm command error - node not online: {command}")
        elif verb in ("migrate", "relocate") and args[0] in services:
            target = args[1]
            if states.get(target) != "online":
                log(f"crm command error - node not online: {command}")
            elif services[args[0]]["node"] == target:
                log(f"ignore crm command - service already on target node: {command}")
            else:
                services[args[0]]["cmd"] = [verb, target]

    available = [n for n in nodes if states.get(n) == "online"]
    config = {f"{kind}:{vmid}": opts for kind, vmid, opts in files.read_sections(pve / RESOURCES)}
    for sid in list(services):
        if sid not in config or config_state(config[sid]) == "ignored":
            del services[sid]
    load = {n: sum(1 for s in services.values() if s["node"] == n and s["state"] == "started") for n in nodes}
    for sid, opts in sorted(config.items()):
        wanted = config_state(opts)
        if wanted == "ignored":
            continue
        where = _guest_node(pve, sid)
        sd = services.setdefault(sid, {"node": where or me, "state": "started" if wanted == "started" else "stopped"})
        if where and where != sd["node"]:
            sd["node"] = where  # moved outside HA (qm migrate): follow the config file
        prio, strict, failback = placement(pve, sid, opts, major)

        def move(target: str, message: str) -> None:
            log(message)
            move_guest(pve, sid, sd["node"], target)
            load[sd["node"]] = load.get(sd["node"], 0) - (sd["state"] == "started")
            load[target] = load.get(target, 0) + (sd["state"] == "started")
            sd["node"] = target

        node_state = states.get(sd["node"], "gone")
        if sd["node"] in fenced and wanted != "disabled":
            target = select_node(sd["node"], available, prio, strict, failback, load)
            if target:
                move(target, f"recover service '{sid}' from fenced node '{sd['node']}' to node '{target}'")
                sd["state"] = "started" if wanted == "started" else "stopped"
            continue
        if sd.get("cmd") and node_state in ("online", "maintenance"):  # the source's LRM does the migration
            verb, target = sd.pop("cmd")
            move(target, f"{verb} service '{sid}' to node '{target}'")
            continue
        if wanted != "started":
            sd["state"] = "stopped"
            continue
        sd["state"] = "started"
        if node_state == "maintenance":
            target = select_node(sd["node"], available, prio, strict, failback, load)
            if target:
                sd["maintenance_node"] = sd["node"]
                move(target, f"migrate service '{sid}' to node '{target}' (running)")
        elif node_state == "online":
            fallback = sd.get("maintenance_node")
            if fallback and states.get(fallback) != "maintenance":
                sd.pop("maintenance_node")
                if states.get(fallback) != "online":
                    log(f"dropping maintenance fallback node '{fallback}' for '{sid}'")
                    fallback = None
            target = select_node(sd["node"], available, prio, strict, failback, load, fallback)
            if target and target != sd["node"]:
                move(target, f"migrate service '{sid}' to node '{target}' (running)")
    write_json(pve / MANAGER_STATUS, ms)
    if major >= 9 and not groups_migrated(pve):
        try_group_migration(pve, nodes, states, services, log)


# Manager.pm: the first try after 3 rounds, then every 6 (PVE's rounds are 10 s, the lab's 1 s).
_group_migration = {"round": 3}
# Manager.pm $HA_RULES_MINVERSION: the pve-manager that knows HA rules.
RULES_MIN_VERSION = (9, 0, 0)


def _cannot_migrate_groups(pve: Path, nodes: list[str], states: dict, services: dict) -> str | None:
    """Manager.pm $assert_cluster_can_migrate_ha_groups: why not yet, or None."""
    for node in nodes:
        if states.get(node) != "online":
            return f"node '{node}' is not online"
        lrm = read_json(lrm_status_path(pve, node))
        if not lrm.get("state") or not lrm.get("mode"):
            return f"could not retrieve state for lrm '{node}'"
        active = any(s["node"] == node and s["state"] == "started" for s in services.values())
        if not (lrm["state"] == "active" or (lrm["state"] == "wait_for_agent_lock" and not active)):
            return f"lrm '{node}' is not in state 'active' or 'idle'"
        if lrm["mode"] != "active":
            return f"lrm '{node}' is not in mode 'active'"
        version = lrm.get("lab_version")
        if not version:
            return f"could not retrieve version from node '{node}'"
        if tuple(int(x) for x in version.split(".")[:3]) < RULES_MIN_VERSION:
            return f"node '{node}' needs at least pve-manager version '9.0.0~16'"
    return None


def try_group_migration(pve: Path, nodes: list[str], states: dict, services: dict, log) -> None:
    """Manager.pm try_persistent_group_migration and Groups.pm migrate_groups_to_rules/_to_resources: each group
    with resources becomes the node-affinity rule `ha-group-GROUP` (its nodes and priorities, strict = restricted),
    each resource loses its group and keeps nofailback as `failback 0`, and groups.cfg goes."""
    _group_migration["round"] -= 1
    if _group_migration["round"] > 0:
        return
    _group_migration["round"] = 6
    log("start ha group migration...")
    why = _cannot_migrate_groups(pve, nodes, states, services)
    if why:
        log(f"abort ha groups migration: {why}")
        log("retry ha groups migration in 6 rounds (~ 60 seconds)")
        return
    with files.locked(pve, "domain-ha"):
        groups = {gid: opts for _, gid, opts in files.read_sections(pve / GROUPS)}
        resources = files.read_sections(pve / RESOURCES)
        rules = files.read_sections(pve / RULES) if (pve / RULES).exists() else []
        members: dict[str, list[str]] = {}
        for kind, vmid, opts in resources:
            if opts.get("group") in groups:
                members.setdefault(opts["group"], []).append(f"{kind}:{vmid}")
        for gid, sids in members.items():
            gopts = groups[gid]
            # SectionConfig's order: the comment, the required keys, the rest; an unset `restricted` stays unset.
            rule = {"comment": gopts.get("comment") or f"Generated from HA group '{gid}'.",
                    "resources": ",".join(sorted(sids)), "nodes": gopts.get("nodes", ""),
                    **({"strict": "1"} if gopts.get("restricted") == "1" else {})}
            rules.append(["node-affinity", f"ha-group-{gid}", rule])
        files.write_file_atomic(pve / RULES, files.format_section_config(rules))
        log("ha groups migration: migration to rules config successful")
        for _, _, opts in resources:
            group = opts.pop("group", None)
            if group is not None and groups.get(group, {}).get("nofailback") == "1":
                opts["failback"] = "0"
        files.write_file_atomic(pve / RESOURCES, files.format_section_config(resources))
        log("ha groups migration: migration to resources config successful")
        (pve / GROUPS).unlink(missing_ok=True)
        log("ha groups migration: group config deletion successful")
    log("ha groups migration successful")


def lrm_round(pve: Path, me: str, now: float, log, version: str | None = None) -> None:
    """This node's LRM: its mode follows the maintenance request; with no active service left it gives up its
    watchdog (state `maintenance`), as LRM.pm does before the node may go down. `version` (this node's
    pve-manager) goes along under `lab_version`: PVE's CRM reads it from the cluster's node versions instead."""
    ms = read_json(pve / MANAGER_STATUS)
    path = lrm_status_path(pve, me)
    before = read_json(path)
    mode = "maintenance" if ms.get("node_request", {}).get(me, {}).get("maintenance") else "active"
    active = sum(1 for s in ms.get("service_status", {}).values() if s["node"] == me and s["state"] == "started")
    if mode == "maintenance" and not active:
        state = "maintenance"
        if before.get("state") == "active":
            log("watchdog closed (disabled)")
    else:
        state = "active" if active else "wait_for_agent_lock"
    write_json(path, {"mode": mode, "state": state, "timestamp": int(now), "results": {}, "lab_version": version})


def _lrm_text(lrm: dict, now: float) -> tuple[str, bool]:
    """Status.pm's words for an LRM, and whether its watchdog is active."""
    fresh = lrm and now - lrm.get("timestamp", 0) <= STALE_SECONDS
    mode, state = lrm.get("mode", "active"), lrm.get("state", "wait_for_agent_lock")
    if not fresh:
        return ("maintenance mode" if mode == "maintenance" else "old timestamp - dead?"), False
    if mode != "active":
        return f"{mode} mode", state in ("active", "maintenance")
    return ("idle" if state == "wait_for_agent_lock" else state), state in ("active", "maintenance")


def _crs(pve: Path) -> str:
    """Status.pm's master suffix when datacenter.cfg sets `crs: ha=...` to other than basic."""
    for line in (pve / "datacenter.cfg").read_text().splitlines() if (pve / "datacenter.cfg").exists() else []:
        if line.startswith("crs:"):
            for part in line.split(":", 1)[1].strip().split(","):
                key, _, value = part.partition("=")
                if key.strip() == "ha" and value.strip() not in ("", "basic"):
                    return f" - {value.strip()} load CRS"
    return ""


def status(pve: Path, me: str, quorate: bool, major: int, now: float) -> list[dict]:
    """PVE::API2::HA::Status->status entries: {type, node, status, ...}; `ha-manager status` prints TYPE STATUS."""
    clock = time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(now))
    found = [{"id": "quorum", "type": "quorum", "node": me, "quorate": int(quorate),
              "status": "OK" if quorate else f"No quorum on node '{me}'!"}]
    ms = read_json(pve / MANAGER_STATUS)
    config = {f"{kind}:{vmid}": opts for kind, vmid, opts in files.read_sections(pve / RESOURCES)}
    services = ms.get("service_status", {})
    watchdogs = major >= 9  # pve-ha-manager 5.1.3+: the fencing line and each LRM's watchdog
    if ms.get("master_node"):
        master_alive = now - ms.get("timestamp", 0) <= STALE_SECONDS
        found.append({"id": "master", "type": "master", "node": ms["master_node"], "timestamp": ms.get("timestamp"),
                      "status": f"{ms['master_node']} ({'active' if master_alive else 'old timestamp - dead?'}, "
                                f"{time.strftime('%a %b %d %H:%M:%S %Y', time.localtime(ms.get('timestamp', 0)))})"
                                f"{_crs(pve)}"})
        if watchdogs:
            armed = master_alive and any(s["state"] == "started" for s in services.values())
            found.append({"id": "fencing", "type": "fencing", "armed-state": "armed" if armed else "standby",
                          "status": "armed (CRM watchdog active)" if armed else "standby (CRM watchdog standby)"})
        for node in sorted(ms.get("node_status", {})):
            text, watchdog = _lrm_text(read_json(lrm_status_path(pve, node)), now)
            wd = f"{'watchdog active' if watchdog else 'watchdog standby'}, " if watchdogs else ""
            found.append({"id": f"lrm:{node}", "type": "lrm", "node": node, "status": f"{node} ({text}, {wd}{clock})"})
    for sid in sorted(config):
        if config_state(config[sid]) == "ignored":
            state, node = "ignored", _guest_node(pve, sid) or me
        elif sid in services:
            sd = services[sid]
            node, state = sd["node"], sd["state"]
            if state == "stopped" and config_state(config[sid]) == "disabled":
                state = "disabled"
            elif state == "started" and not quorate:
                state = "freeze"
        else:
            state, node = "queued", _guest_node(pve, sid) or me
        entry = {"id": f"service:{sid}", "type": "service", "sid": sid, "node": node, "state": state,
                 "request_state": config[sid].get("state", "started"), "status": f"{sid} ({node}, {state})"}
        if config[sid].get("group"):
            entry["group"] = config[sid]["group"]
        found.append(entry)
    return found
