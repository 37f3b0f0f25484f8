"""The policy rules as pure functions over resource properties; `pack.py` wires them into CrossGuard.

Each rule returns the list of violation messages (empty when the stack complies).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, NamedTuple

# Siblings by their top-level names: the pack runs from its own folder (see __main__.py).
from ceph_releases import END_OF_LIFE, RELEASES_BY_PVE
from contract import BACKUP, COMMAND, HA, HAGROUP, HARESOURCE, HARULE, NODE, PROMETHEUS, PROVIDER

# Kernel watchdog drivers PVE's watchdog-mux can arm (PVE's kernel blacklists the hardware ones, so only the
# module it loads gives /dev/watchdog); softdog is its default.
WATCHDOG_DRIVERS = ("softdog", "ipmi_watchdog", "iTCO_wdt", "sp5100_tco", "hpwdt", "wdat_wdt")
# Inputs that carry a secret, by resource type: (path into props, what it is).
SECRET_INPUTS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    PROVIDER: [(("apiToken",), "PVE API token"), (("password",), "PVE password")],
    COMMAND: [(("connection", "privateKey"), "SSH private key"), (("connection", "password"), "SSH password"),
              (("stdin",), "step stdin (PBS and IPMI passwords, exporter token)"), (("environment",), "step environment")],
}


class Resource(NamedTuple):
    type: str
    name: str
    props: Mapping[str, Any]


class SecretMarker(NamedTuple):
    """How the pack hands a rule a value the engine sent as a secret."""

    value: Any


def _num(value: Any) -> int:
    # The engine sends numbers as floats.
    return int(value)


def _of(resources: Iterable[Resource], type_: str) -> list[Resource]:
    return [r for r in resources if r.type == type_]


# --- cluster -----------------------------------------------------------------

def node_count(cluster: Mapping[str, Any]) -> list[str]:
    """Odd and at least 3, or even with a QDevice (2 + QDevice is the smallest cluster that survives a failure).

    A QDevice with an odd count is not judged here: `pvecm qdevice setup` refuses it, so the models do."""
    count, qdevice = _num(cluster.get("nodeCount", 0)), bool(cluster.get("qdevice"))
    if count % 2 == 0 and count >= 2:
        if qdevice:
            return []
        return [f"the cluster has {count} nodes; an even count adds no failure tolerance over {count - 1}. "
                "Add or remove a node, or configure a QDevice"]
    if count < 3:
        return [f"the cluster has {count} node(s); at least 3 are needed to keep quorum through one failure "
                "(or 2 with a QDevice)"]
    return []


def even_count_with_qdevice(cluster: Mapping[str, Any]) -> list[str]:
    count = _num(cluster.get("nodeCount", 0))
    if count % 2 == 0 and cluster.get("qdevice"):
        return [f"{count} nodes rely on a QDevice for the tie-breaking vote; keep it outside the cluster's failure domains"]
    return []


def corosync_crypto(cluster: Mapping[str, Any]) -> list[str]:
    found = []
    for key in ("cryptoCipher", "cryptoHash"):
        if cluster.get(key) in (None, "", "none"):
            found.append(f"corosync {key} is {cluster.get(key)!r}; cluster traffic must be encrypted and authenticated")
    return found


def corosync_single_link(cluster: Mapping[str, Any]) -> list[str]:
    if _num(cluster.get("links", 1)) >= 2:
        return []
    return ["corosync has a single link; a second network lets the cluster survive a switch or NIC failure"]


# --- ceph ----------------------------------------------------------------------

def pool_replication(pools: Iterable[Mapping[str, Any]], size: int = 3, min_size: int = 2) -> list[str]:
    found = []
    for pool in pools:
        got_size, got_min = _num(pool.get("size", 0)), _num(pool.get("minSize", 0))
        name = pool.get("name", "?")
        if got_min <= 1:
            found.append(f"pool {name}: min_size {got_min} acknowledges writes held by a single copy; never use min_size 1")
        elif (got_size, got_min) != (size, min_size):
            found.append(f"pool {name}: size {got_size}/min_size {got_min}, required {size}/{min_size}")
    return found


def replicas_fit_osd_hosts(ceph: Mapping[str, Any]) -> list[str]:
    """PVE and Ceph create such a pool, but with the host failure domain its PGs never become clean."""
    hosts = list(ceph.get("osdHosts", []))
    found = []
    for i, pool in enumerate(ceph.get("pools", [])):
        size = _num(pool.get("size", 0))
        if size > len(hosts):
            found.append(f"proxmox-ha:ceph.pools[{i}].size: {size} replicas of pool {pool.get('name')} need {size} hosts "
                         f"with OSDs, but only {len(hosts)} carry OSDs ({', '.join(hosts) or 'none'}); with the host "
                         "failure domain its PGs never become clean")
    return found


def ceph_release_supported(ceph: Mapping[str, Any]) -> list[str]:
    release, pve = ceph.get("release"), _num(ceph.get("pveVersion", 8))
    if release in END_OF_LIFE:
        newer = [r for r in RELEASES_BY_PVE.get(pve, ()) if r not in END_OF_LIFE]
        if newer:
            return [f"Ceph {release} is past its end of life; upgrade to {' or '.join(newer)} (pveceph install --version)"]
        later = sorted({r for major, offered in RELEASES_BY_PVE.items() if major > pve for r in offered} - END_OF_LIFE)
        return [f"Ceph {release} is past its end of life, and PVE {pve} offers no supported release; upgrade to "
                f"PVE {pve + 1} and Ceph {' or '.join(later)}"]
    return []


# --- HA --------------------------------------------------------------------------

def ha_placements(resources: list[Resource]) -> list[str]:
    """Every HA group or node-affinity rule names at least 2 nodes (PVE takes one, but then nothing fails over).

    Nodes that are not in the cluster, and groups a resource names but nobody defines, are dangling
    references: the models refuse them."""
    found = []
    for r in _of(resources, HAGROUP) + _of(resources, HARULE):
        label = r.props.get("group") or r.props.get("rule") or r.name
        nodes = set(r.props.get("nodes") or {})
        if len(nodes) < 2:
            found.append(f"{label}: names {len(nodes)} node(s); HA needs at least 2 to fail over")
    return found


def max_relocate(props: Mapping[str, Any]) -> list[str]:
    value = props.get("maxRelocate")
    if value is not None and _num(value) < 1:
        return [f"{props.get('resourceId')}: maxRelocate {_num(value)} means the service is never moved off a failed node"]
    return []


def watchdog_driver(resources: list[Resource]) -> list[str]:
    """With HA resources, the watchdog module is one that gives PVE's self-fencing a /dev/watchdog."""
    if not _of(resources, HARESOURCE):
        return []
    modules = {h.props.get("watchdog") for h in _of(resources, HA)}
    return [f"proxmox-ha:ha.watchdog: {module!r} is not a watchdog driver ({', '.join(WATCHDOG_DRIVERS)}); "
            "watchdog-mux loads it, finds no /dev/watchdog and exits, so HA cannot fence a failed node"
            for module in sorted(modules - set(WATCHDOG_DRIVERS))]


def hardware_fencing(resources: list[Resource]) -> list[str]:
    if not _of(resources, HARESOURCE):
        return []
    nodes = _of(resources, NODE)
    without_ipmi = [n.props.get("nodeName", n.name) for n in nodes if not n.props.get("ipmiConfigured")]
    watchdog = next((h.props.get("watchdog") for h in _of(resources, HA)), None)
    found = []
    if without_ipmi:
        found.append(f"no IPMI configured on {', '.join(without_ipmi)}: a hung node can only fence itself by watchdog")
    if watchdog == "softdog":
        found.append("the watchdog is softdog (software); a hardware watchdog (e.g. ipmi_watchdog) also fires when the kernel hangs")
    return found


# --- backups ---------------------------------------------------------------------

def _jobs(resources: list[Resource]) -> list[Mapping[str, Any]]:
    return [job for plan in _of(resources, BACKUP) for job in (plan.props.get("jobs") or [])]


def backups_cover_ha(resources: list[Resource]) -> list[str]:
    jobs = _jobs(resources)
    everything = any(j.get("all") for j in jobs)
    listed = {str(_num(v)) for j in jobs for v in (j.get("vmids") or [])}
    found = []
    for r in _of(resources, HARESOURCE):
        sid = str(r.props.get("resourceId", ""))
        vmid = sid.split(":")[-1]
        if not everything and vmid not in listed:
            found.append(f"HA resource {sid} is not covered by any backup job (set all: true or list vmid {vmid})")
    return found




def job_mail(plan: Mapping[str, Any]) -> list[str]:
    """mailnotification works only with mailto: without it, notification-mode auto uses PVE's notification system
    (PVE 8.1+, VZDump.pm) and the setting silently does nothing."""
    return [f"backup job {job.get('id')}: mailNotification is set without mailTo, so PVE ignores it and notifies "
            "through its notification system (Datacenter > Notifications); add mailTo, or drop mailNotification "
            "and set up a notification matcher"
            for job in plan.get("jobs") or [] if job.get("mailNotification") and not job.get("mailTo")]


# --- monitoring ------------------------------------------------------------------

def prometheus_outside_cluster(resources: list[Resource]) -> list[str]:
    """Prometheus on a node goes down with it, and with the cluster its alerts were to report: none would fire."""
    nodes = {str(r.props.get("managementAddress")): r.props.get("nodeName") for r in _of(resources, NODE)}
    return [f"proxmox-ha:monitoring.prometheus.address: {address} is node {nodes[address]}; run Prometheus on a "
            "machine outside the cluster, so that its alerts outlive the nodes they watch"
            for address in (str(r.props.get("address")) for r in _of(resources, PROMETHEUS)) if address in nodes]


# --- secrets ---------------------------------------------------------------------

def plaintext_secrets(resource_type: str, raw_props: Mapping[str, Any]) -> list[str]:
    """Secret-bearing inputs must arrive as secrets (SecretMarker); the engine then encrypts them in state."""
    found = []
    for path, label in SECRET_INPUTS.get(resource_type, []):
        value: Any = raw_props
        for part in path:
            if isinstance(value, SecretMarker):
                break  # an enclosing object is secret: everything inside is
            value = value.get(part) if isinstance(value, Mapping) else None
        # A map (a step's environment) is safe when each of its values is a secret.
        leaves = list(value.values()) if isinstance(value, Mapping) else [value]
        if all(leaf in (None, "") or isinstance(leaf, SecretMarker) for leaf in leaves):
            continue
        found.append(f"{label} ({'.'.join(path)}) is a plaintext input; pass it as a secret "
                     "(pulumi config set --secret, or pulumi.Output.secret)")
    return found
