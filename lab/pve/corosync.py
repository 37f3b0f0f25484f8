"""corosync.conf as PVE reads and writes it (pve-cluster PVE::Corosync parse_conf/write_conf), and the members corosync
sees online. The API, the shims and the lab's daemons use it; it imports none of them."""
from __future__ import annotations

import ctypes
import re
import signal
import subprocess
import threading
from pathlib import Path

from .errors import PVEError

PVE_COROSYNC_CONF = Path("/etc/pve/corosync.conf")
LOCAL_COROSYNC_CONF = Path("/etc/corosync/corosync.conf")


# The cluster dict: the totem section's keys at top level (cluster_name, config_version as int, crypto_*, ...),
# "nodes" (list of node dicts), "links" (link numbers), and "_tree": every other section (logging, quorum
# with its device, anything else) and each interface's own keys, so that a rewrite keeps what it did not touch.
ARRAY_SECTIONS = ("node", "interface")  # pve-cluster PVE::Corosync $conf_array_sections
CLUSTER_KEYS = ("nodes", "links", "_tree")


def parse_tree(text: str) -> dict:
    """PVE::Corosync::parse_conf: whitespace tokens, `key {` opens a section (node/interface repeat), `key: value`."""
    raw = re.sub(r"#.*$", "", text, flags=re.M)
    tokens = raw.split()
    main: dict = {}
    stack, section = [], main
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt == "{":
            new: dict = {}
            if tok in ARRAY_SECTIONS:
                section.setdefault(tok, []).append(new)
            elif tok not in section:
                section[tok] = new
            else:
                raise PVEError(f"section '{tok}' already exists and not marked as array!", 255)
            stack.append(section)
            section = new
            i += 2
            continue
        if tok == "}":
            if not stack:
                raise PVEError("parse error - uncexpected '}'", 255)
            section = stack.pop()
            i += 1
            continue
        if not tok.endswith(":"):
            raise PVEError(f"missing ':' after key '{tok}'", 255)
        if nxt is None:
            raise PVEError(f"parse error - no value for '{tok[:-1]}'", 255)
        section[tok[:-1]] = nxt
        i += 2
    return main


def dump_tree(section: dict, prefix: str = "") -> str:
    """PVE::Corosync::write_conf's dump: keys sorted, nested sections indented by two, a blank line after each
    top-level section; repeated sections (node, interface) in the order of their hash keys (name, linknumber)."""
    raw = ""
    for k in sorted(section):
        v = section[k]
        if isinstance(v, dict):
            raw += f"{prefix}{k} {{\n" + dump_tree(v, prefix + "  ") + f"{prefix}}}\n" + ("" if prefix else "\n")
        elif isinstance(v, list):
            for child in v:
                raw += f"{prefix}{k} {{\n" + dump_tree(child, prefix + "  ") + f"{prefix}}}\n"
        else:
            raw += f"{prefix}{k}: {v}\n"
    return raw


def parse_conf(text: str) -> dict:
    """corosync.conf -> the cluster dict (see above)."""
    tree = parse_tree(text)
    totem = dict(tree.get("totem", {}))
    ifaces = totem.pop("interface", [])
    cluster = {k: v for k, v in totem.items()}
    cluster["nodes"] = [dict(n) for n in tree.get("nodelist", {}).get("node", [])]
    cluster["links"] = [int(i.get("linknumber", i.get("ringnumber", 0))) for i in ifaces] or [0]
    cluster["config_version"] = int(cluster.get("config_version", 1))
    rest = {k: v for k, v in tree.items() if k not in ("totem", "nodelist")}
    rest["interfaces"] = {int(i.get("linknumber", i.get("ringnumber", 0))): dict(i) for i in ifaces}
    cluster["_tree"] = rest
    return cluster


def render_conf(cluster: dict) -> str:
    """corosync.conf as PVE writes it (PVE::Corosync::create_conf + write_conf): knet, `secauth: on`, no crypto_*
    keys unless someone added them; every section this shim does not manage (quorum.device, logging, an
    interface's knet_link_priority, ...) as it was read."""
    rest = dict(cluster.get("_tree") or {})
    old_ifaces = rest.pop("interfaces", {})
    tree = {k: v for k, v in rest.items()}
    tree.setdefault("logging", {"debug": "off", "to_syslog": "yes"})
    tree.setdefault("quorum", {"provider": "corosync_votequorum"})
    # write_conf: hash_to_array over the nodelist keyed by name (ring0_addr without one), interfaces by number
    nodes = {n.get("name") or n.get("ring0_addr"): n for n in cluster["nodes"]}
    tree["nodelist"] = {"node": [nodes[k] for k in sorted(nodes)]}
    ifaces = {str(i): dict(old_ifaces.get(i) or {"linknumber": str(i)}) for i in cluster["links"]}
    totem = {k: str(v) for k, v in cluster.items() if k not in CLUSTER_KEYS}
    totem.setdefault("ip_version", "ipv4-6")
    totem.setdefault("link_mode", "passive")
    totem.setdefault("secauth", "on")
    totem.setdefault("version", "2")
    totem["interface"] = [ifaces[k] for k in sorted(ifaces)]
    tree["totem"] = totem
    return dump_tree(tree)


def quorum_device(cluster: dict) -> dict | None:
    """The quorum { device { ... } } section (model, votes, net { tls, host, algorithm }), or None."""
    return ((cluster.get("_tree") or {}).get("quorum") or {}).get("device")


def set_quorum_device(cluster: dict, device: dict | None) -> None:
    quorum = cluster.setdefault("_tree", {}).setdefault("quorum", {"provider": "corosync_votequorum"})
    if device is None:
        quorum.pop("device", None)
    else:
        quorum["device"] = device


def read_cluster(path: Path | None = None) -> dict | None:
    try:
        return parse_conf((path or PVE_COROSYNC_CONF).read_text())
    except FileNotFoundError:
        return None




def node_names(cluster: dict | None) -> list[str]:
    return sorted(n["name"] for n in cluster["nodes"]) if cluster else []


def quorate() -> bool | None:
    """This host's corosync quorum (corosync-quorumtool -s: 0 quorate, 2 not); None outside a cluster."""
    return quorum(None)[0]


def quorum(cluster: dict | None, timeout: float = 10) -> tuple[bool | None, list[str]]:
    """This host's quorum and the members corosync sees, from one `corosync-quorumtool -s` (exit 0 quorate, 2 not;
    its membership section as `-l` prints it). One call, not two: each is an IPC connection that costs corosync more
    CPU than its own token passing, and the API asks for both at each exporter scrape. (None, []) outside a cluster."""
    if not LOCAL_COROSYNC_CONF.exists():
        return None, []
    try:
        done = subprocess.run(["corosync-quorumtool", "-s"], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return False, []
    return done.returncode == 0, listed_members(cluster, done.stdout)


class QuorumWatch:
    """This host's quorum and members as corosync announces them, for a daemon that asks every second: `corosync-
    quorumtool -m` prints the status once connected and again at each change, over one IPC connection, as pmxcfs
    learns them from corosync's callbacks. (A `-s` each second cost corosync about 6% of a core per 3-host lab.)"""

    def __init__(self):
        self._monitor: subprocess.Popen | None = None
        self._status: str | None = None  # the last whole status the monitor printed

    def quorum(self, cluster: dict | None) -> tuple[bool | None, list[str]]:
        """As quorum(): (None, []) outside a cluster, not quorate while corosync cannot be read."""
        if not LOCAL_COROSYNC_CONF.exists():
            return None, []
        if self._monitor is None or self._monitor.poll() is not None:
            self._start()  # first use, or corosync went away (stopped, restarted) and the monitor with it
        status = self._status
        if status is None:
            return False, []
        return bool(re.search(r"^Quorate:\s+Yes\b", status, re.M)), listed_members(cluster, status)

    def _start(self) -> None:
        self._status = None
        # Line-buffered (stdbuf), or a change would wait in the pipe; ended with its daemon (PR_SET_PDEATHSIG).
        monitor = subprocess.Popen(["stdbuf", "-oL", "corosync-quorumtool", "-m"], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True, preexec_fn=_end_with_parent)
        self._monitor = monitor
        threading.Thread(target=self._follow, args=(monitor,), daemon=True).start()

    def _follow(self, monitor: subprocess.Popen) -> None:
        block: list[str] = []
        for line in monitor.stdout:
            block.append(line)
            # Blank lines part the sections; the one after the membership rows ends the status.
            if not line.strip() and any(seen.startswith("Membership information") for seen in block):
                if self._monitor is monitor:
                    self._status = "".join(block)
                block = []
        if self._monitor is monitor:
            self._status = None


def _end_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def online_members(cluster: dict | None, timeout: float = 10) -> list[str]:
    """The members corosync sees now (corosync-quorumtool -l), by name, as pmxcfs reports members to PVE's API and
    pvecm."""
    if not cluster:
        return []
    try:
        listed = subprocess.run(["corosync-quorumtool", "-l"], capture_output=True, text=True, timeout=timeout).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return listed_members(cluster, listed)


def listed_members(cluster: dict | None, text: str) -> list[str]:
    """The membership section of `corosync-quorumtool -l`, `-s` or `-m`: the nodelist's name for each nodeid listed.
    With a QDevice the rows have a flags column and the device has its own row (nodeid 0), which is no member. The
    one reading of the list for the API, the shims and the HA daemons."""
    if not cluster:
        return []
    by_id = {str(n.get("nodeid")): n["name"] for n in cluster["nodes"]}
    rows = text.partition("Membership information")[2].splitlines()
    return sorted(by_id[parts[0]] for parts in (line.split() for line in rows)
                  if parts and parts[0].isdigit() and parts[0] in by_id)
