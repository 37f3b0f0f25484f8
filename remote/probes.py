"""Read-only probes of a node's view of the cluster: one reader per output of PVE's and Ceph's tools. Each is a
shell fragment that the steps, `ops` and the tests use; none changes anything.

A probe that answers a yes/no question exits 0 for yes and 1 for no, and calls `fail` (the step prelude's) when
it cannot read the cluster at all, so that a check never reads "cannot tell" as "done".
"""
from __future__ import annotations

import shlex

LOCAL_COROSYNC = "/etc/corosync/corosync.conf"
CLUSTER_COROSYNC = "/etc/pve/corosync.conf"

# --- corosync (pvecm status is corosync-quorumtool -siH; pvecm nodes is corosync-quorumtool -l) -------------
def _status(label: str) -> str:
    """The first word after `label:` in `pvecm status` ("Quorum:  2 Activity blocked" when not quorate). Nothing
    outside a cluster or while corosync is down; not quorate, `pvecm status` exits 2 and still prints its numbers."""
    return f"pvecm status 2>/dev/null | awk -F: '/^{label}:/ {{split($2, w, \" \"); print w[1]}}'"


QUORATE = f"[ \"$({_status('Quorate')})\" = Yes ]"
# The cluster's votes now, the votes it expects, and the votes quorum needs (empty outside a cluster).
TOTAL_VOTES = _status("Total votes")
EXPECTED_VOTES = _status("Expected votes")
QUORUM_VOTES = _status("Quorum")
# The cluster's members by name, sorted, one a line (nothing outside a cluster).
MEMBERS = f"awk '$1 == \"name:\" {{print $2}}' {CLUSTER_COROSYNC} 2>/dev/null | sort"
# The cluster has a QDevice: corosync.conf's quorum section holds a `device` block.
HAS_QDEVICE = f"grep -q '^[[:space:]]*device[[:space:]]*{{' {CLUSTER_COROSYNC}"
# The names of the members online now, one a line. `pvecm nodes` prints Nodeid, Votes, then, with a QDevice, a
# flags column, then the name, then "(local)" on this node; the QDevice's own row is id 0.
ONLINE_NAMES = ("pvecm nodes 2>/dev/null | awk '$1 ~ /^[0-9]+$/ && $1 != 0 "
                "{name = $NF; if (name == \"(local)\") name = $(NF - 1); print name}'")


def member(name: str) -> str:
    return f"{MEMBERS} | has -x {shlex.quote(name)}"


def member_address(name: str) -> str:
    """The member's link0 address in the nodelist (its `ring0_addr`); empty where it is no member."""
    return (f"awk -v n={shlex.quote(name)} '$1 == \"name:\" {{m = $2}} $1 == \"ring0_addr:\" && m == n {{print $2; exit}}' "
            f"{CLUSTER_COROSYNC} 2>/dev/null || true")


def online(name: str) -> str:
    return f"{ONLINE_NAMES} | has -x {shlex.quote(name)}"


# --- Ceph ---------------------------------------------------------------------------------------------------
def _stdout(var: str, command: str, what: str) -> str:
    """Shell: `command`'s stdout into $`var`, or `fail` with its stderr. Ceph chats on stderr ("dumped monmap epoch
    N" from `ceph mon dump`), so only stdout is the answer."""
    return (f"why=$(mktemp); {var}=$({command} 2>\"$why\") "
            f"|| {{ why=$(cat \"$why\"; rm -f \"$why\"); fail \"cannot read {what}: $why\"; }}; rm -f \"$why\"")


def _ceph_json(command: str, what: str, python: str, *args: str) -> str:
    """Shell: `python` over `command`'s JSON answer `d` (with `args` in sys.argv); `fail` when Ceph cannot give it."""
    return (f"{{ {_stdout('ceph_answer', command, what)}; printf '%s' \"$ceph_answer\" | "
            f"python3 -c 'import json, sys; d = json.load(sys.stdin); {python}'"
            + "".join(f" {shlex.quote(a)}" for a in args) + "; }")


def _pg_stat(python: str) -> str:
    """`python` over the summary `s` of `ceph pg stat --format json` (Reef and later wrap it in "pg_summary")."""
    return _ceph_json("ceph pg stat --format json", "the PG stats from Ceph", f"s = d.get(\"pg_summary\", d); {python}")


# Every PG is clean: active+clean, with a scrub running or not (a scrub is no degradation). A Ceph that cannot
# say is not clean, quietly: the subshell turns `fail` into a no, so the waits on it go on waiting.
ALL_PGS_CLEAN = "( " + _pg_stat(
    "n = s[\"num_pgs\"]; ok = sum(x[\"num\"] for x in s[\"num_pg_by_state\"] "
    "if {\"active\", \"clean\"} <= set(x[\"name\"].split(\"+\")) <= {\"active\", \"clean\", \"scrubbing\", \"deep\"}); "
    "sys.exit(0 if n and ok == n else 1)") + " ) 2>/dev/null"
# How many PGs the cluster has.
PG_COUNT = _pg_stat("print(s[\"num_pgs\"])")


def _ceph_answer(command: str, absent: str, what: str) -> str:
    """Exit 0 when `command` finds it, 1 when Ceph says it is not there (`absent`, matched in its error), and `fail`
    when Ceph cannot be read at all (no quorum, a timeout, no keyring)."""
    return (f"{{ out=$({command} 2>&1) && rc=0 || rc=$?; if [ $rc = 0 ]; then true; "
            f"elif printf '%s' \"$out\" | has -E {shlex.quote(absent)}; then false; "
            f"else fail \"cannot read {what} from Ceph (exit $rc): $out\"; fi; }}")


def crush_host(name: str) -> str:
    """The node's CRUSH host bucket exists."""
    return _ceph_answer(f"ceph --connect-timeout 30 osd crush ls {shlex.quote(name)}", "ENOENT|does not exist",
                        f"the CRUSH map (bucket {name})")


# The monmap's monitors into $mons, "NAME ADDRESS" a line (the address without its port); `fail` when Ceph cannot
# give the monmap or it does not parse (never "no monitor"). Read into a variable: in a pipeline `fail` would only
# end the pipeline's subshell, and read as "no".
_READ_MONS = (_stdout("dump", "ceph --connect-timeout 30 mon dump --format json", "the monmap from Ceph") + "; "
              "mons=$(printf '%s' \"$dump\" | python3 -c 'import json, sys; print(\"\\n\".join("
              "m[\"name\"] + \" \" + m[\"public_addr\"].split(\":\")[0] for m in json.load(sys.stdin)[\"mons\"]))') "
              "|| fail 'cannot parse the monmap from Ceph (ceph mon dump)'")
MONITORS = f"{{ {_READ_MONS}; printf '%s\\n' \"$mons\"; }}"


def monitor(name: str) -> str:
    """The node has a monitor in the monmap."""
    return f"{{ {_READ_MONS}; printf '%s\\n' \"$mons\" | awk '{{print $1}}' | has -x {shlex.quote(name)}; }}"


def monitor_address(name: str) -> str:
    """The address of the node's monitor in the monmap; `fail` when it has none."""
    return (f"{{ {_READ_MONS}; printf '%s\\n' \"$mons\" | awk -v n={shlex.quote(name)} '$1 == n {{print $2; found = 1}} END {{exit !found}}' "
            f"|| fail 'no monitor {name} in the monmap'; }}")


def manager(name: str) -> str:
    """The node's manager has its key in Ceph's auth database."""
    return _ceph_answer(f"ceph --connect-timeout 30 auth get mgr.{shlex.quote(name)}", "ENOENT|does not exist|failed to find",
                        f"mgr.{name}'s key")


def osds(name: str) -> str:
    """The OSD ids under the node's CRUSH host bucket, one a line (none once the bucket is gone)."""
    return f"ceph osd ls-tree {shlex.quote(name)} 2>/dev/null || true"


# The release Ceph packages installed on this node are (`ceph --version`: "ceph version 19.2.3 (...) squid (stable)"),
# as its major number; empty where it cannot say.
INSTALLED_CEPH = "ceph --version 2>/dev/null | sed -nE 's/^ceph version ([0-9]+)\\..*/\\1/p'"


def daemon_release(kind: str, name: str) -> str:
    """The release `kind` (mon, mgr, osd) `name` (a shell word, e.g. "$id" in a loop) last reported running (`ceph
    KIND metadata NAME`'s ceph_release); `fail` when Ceph cannot say."""
    return _ceph_json(f"ceph --connect-timeout 30 {kind} metadata {name} --format json", f"the metadata of {kind}.{name} from Ceph",
                      "print(d.get(\"ceph_release\", \"\"))")


def _quorum(python: str, *args: str) -> str:
    """`python` over Ceph's quorum status `d`; no when Ceph cannot say: the waits on it go on waiting."""
    return ("( " + _ceph_json("ceph --connect-timeout 30 quorum_status --format json", "the monitors' quorum from Ceph",
                              python, *args) + " ) 2>/dev/null")


# Every monitor in the monmap is in Ceph's quorum: restarting one then costs Ceph no quorum.
MONITORS_ALL_IN_QUORUM = _quorum("sys.exit(0 if sorted(d[\"quorum_names\"]) == sorted(m[\"name\"] for m in d[\"monmap\"][\"mons\"]) else 1)")


def in_quorum(name: str) -> str:
    """The node's monitor is in Ceph's quorum."""
    return _quorum("sys.exit(0 if sys.argv[1] in d[\"quorum_names\"] else 1)", name)


# The cluster has Ceph monitors: ceph.conf names them (`pveceph mon create` writes mon_host); before the first,
# nothing of Ceph can be asked.
HAS_MONITORS = "grep -qsE '^[[:space:]]*mon[_ ]host[[:space:]]*=' /etc/pve/ceph.conf"


def all_daemons_run(release: str) -> str:
    """Every Ceph daemon runs `release` (`ceph versions`' overall); `fail` when Ceph cannot say."""
    return _ceph_json("ceph --connect-timeout 30 versions", "the daemons' versions from Ceph (ceph versions)",
                      "o = d[\"overall\"]; sys.exit(0 if o and all(\" \" + sys.argv[1] + \" \" in v for v in o) else 1)", release)


# The cluster's require_osd_release (`ceph osd dump`), what OSDs of older releases may no longer join.
REQUIRED_OSD_RELEASE = _ceph_json("ceph --connect-timeout 30 osd dump --format json", "the OSD map from Ceph",
                                  "print(d.get(\"require_osd_release\", \"\"))")


def osd_is(osd: str, state: str) -> str:
    """osd.`osd` (a shell word, e.g. "$id" in a loop) is `state` in the OSD map: up or down, in or out (`ceph osd
    dump`'s lines "osd.3 up   in  weight 1 ..."). No when the map cannot be read: the waits on it go on waiting."""
    column = 2 if state in ("up", "down") else 3
    return f"ceph osd dump | awk -v osd=\"osd.{osd}\" '$1 == osd && ${column} == \"{state}\" {{f = 1}} END {{exit !f}}'"


# --- HA (ha-manager status, as PVE::API2::HA::Status prints it; each LRM's lrm_status) ----------------------
def ha_services(node: str, states: str = ".*", but: str = "") -> str:
    """The HA services the CRM places on `node` whose state matches the ERE `states` and not `but`, one SID a line;
    `fail` when ha-manager cannot say (no quorum, no pve-cluster)."""
    keep = f"$2 ~ /^({states})$/" + (f" && $2 !~ /^({but})$/" if but else "")
    return ("{ ha=$(ha-manager status 2>&1) || fail \"cannot read ha-manager status: $ha\"; "
            f"printf '%s\\n' \"$ha\" | sed -nE 's/^service ([^ ]+) \\({node}, ([^)]+)\\)$/\\1 \\2/p' | awk '{keep} {{print $1}}'; }}")


def maintenance_requested(node: str) -> str:
    """The CRM holds a maintenance request for `node` (manager_status node_request), which outlives the node."""
    return ("python3 -c 'import json, sys; s=json.load(open(\"/etc/pve/ha/manager_status\")); "
            f"sys.exit(0 if s.get(\"node_request\", {{}}).get(\"{node}\", {{}}).get(\"maintenance\") else 1)' 2>/dev/null")


def lrm_state(node: str) -> str:
    """`node`'s LRM state (active, maintenance, wait_for_agent_lock): `maintenance` once it gave up its watchdog."""
    return (f"python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(\"state\", \"\"))' "
            f"/etc/pve/nodes/{node}/lrm_status 2>/dev/null")
