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


def online(name: str) -> str:
    return f"{ONLINE_NAMES} | has -x {shlex.quote(name)}"


# --- Ceph ---------------------------------------------------------------------------------------------------
# Every PG is clean: active+clean, with a scrub running or not (a scrub is no degradation).
ALL_PGS_CLEAN = (
    "ceph pg stat --format json 2>/dev/null | python3 -c "
    "'import json,sys; s=json.load(sys.stdin); s=s.get(\"pg_summary\", s); n=s[\"num_pgs\"]; "
    "ok=sum(x[\"num\"] for x in s[\"num_pg_by_state\"] "
    "if {\"active\", \"clean\"} <= set(x[\"name\"].split(\"+\")) <= {\"active\", \"clean\", \"scrubbing\", \"deep\"}); "
    "sys.exit(0 if n and ok==n else 1)'"
)


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


def monitor(name: str) -> str:
    """The node has a monitor in the monmap. `ceph mon dump` says "dumped monmap epoch N" on stderr, so only its
    stdout is JSON; a dump that cannot be read or parsed fails (never "no monitor")."""
    names = "python3 -c 'import json, sys; print(\"\\n\".join(m[\"name\"] for m in json.load(sys.stdin)[\"mons\"]))'"
    return ("{ why=$(mktemp); dump=$(ceph --connect-timeout 30 mon dump --format json 2>\"$why\") "
            "|| { why=$(cat \"$why\"; rm -f \"$why\"); fail \"cannot read the monmap from Ceph: $why\"; }; rm -f \"$why\"; "
            f"mons=$(printf '%s' \"$dump\" | {names}) || fail 'cannot parse the monmap from Ceph (ceph mon dump)'; "
            f"printf '%s\\n' \"$mons\" | has -x {shlex.quote(name)}; }}")


def manager(name: str) -> str:
    """The node's manager has its key in Ceph's auth database."""
    return _ceph_answer(f"ceph --connect-timeout 30 auth get mgr.{shlex.quote(name)}", "ENOENT|does not exist|failed to find",
                        f"mgr.{name}'s key")


def osds(name: str) -> str:
    """The OSD ids under the node's CRUSH host bucket, one a line (none once the bucket is gone)."""
    return f"ceph osd ls-tree {shlex.quote(name)} 2>/dev/null || true"


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
