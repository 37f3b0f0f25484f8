"""Build the whole cluster through the PVE shims over SSH, the way an operator would, plus waits.

Used by `python3 -m lab bootstrap`, the benchmark and the tests. Each step is check-then-act,
so running it again on a built lab changes nothing.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from .common import ALL_HOSTS, CLUSTER_NAME, STORAGE_NET, lab_hosts, Paths, log, mgmt_addr, ssh, storage_addr
from .hosts import host_pubkey

POOL = "vm-storage"


def on(paths: Paths, host: str, cmd: str, timeout=300):
    res = ssh(paths, host, cmd, check=False, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"{host}: `{cmd}` failed ({res.returncode}):\n{res.stdout}{res.stderr}")
    return res


def parallel(fn, items):
    with ThreadPoolExecutor(max_workers=len(items)) as ex:
        return list(ex.map(fn, items))


def storage_network(paths: Paths) -> None:
    """vmbr1 over eno2 with the storage address, as an operator adds it on PVE: a stanza in
    /etc/network/interfaces, then ifupdown2's `ifreload -a` (the project's own steps do the same)."""
    prefix = STORAGE_NET.split("/")[1]
    for h in lab_hosts(paths):
        stanza = (f"auto vmbr1\niface vmbr1 inet static\n\taddress {storage_addr(h)}/{prefix}\n"
                  "\tbridge-ports eno2\n\tbridge-stp off\n\tbridge-fd 0")
        on(paths, h, "grep -qx 'auto vmbr1' /etc/network/interfaces || "
                     f"{{ printf '\\n{stanza}\\n' >> /etc/network/interfaces && ifreload -a; }}")


def cluster(paths: Paths) -> None:
    first, *joiners = hosts = lab_hosts(paths)
    on(paths, first, f"test -f /etc/corosync/corosync.conf || pvecm create {CLUSTER_NAME} "
                     f"--link0 {mgmt_addr(first)} --link1 {storage_addr(first)}")
    for h in joiners:  # one at a time, as PVE requires
        trust_root_key(paths, h, first)
        on(paths, h, f"test -f /etc/corosync/corosync.conf || pvecm add {mgmt_addr(first)} --link0 {mgmt_addr(h)} "
                     f"--link1 {storage_addr(h)} --use_ssh")
    wait_quorum(paths, len(hosts), 60)


def trust_root_key(paths: Paths, joiner: str, first: str) -> None:
    """What `pvecm add --use_ssh` needs, as an operator sets it up: the joiner's root key authorized on the
    first node, and the first node's host key known to the joiner's root."""
    key = on(paths, joiner, "test -s /root/.ssh/id_ed25519.pub || ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519; "
                            "cat /root/.ssh/id_ed25519.pub").stdout.strip()
    on(paths, first, f"mkdir -p -m 700 /root/.ssh; grep -qxF '{key}' /root/.ssh/authorized_keys 2>/dev/null || "
                     f"echo '{key}' >> /root/.ssh/authorized_keys")
    entry = f"{first},{mgmt_addr(first)} {host_pubkey(paths, first)}"
    on(paths, joiner, f"grep -qxF '{entry}' /root/.ssh/known_hosts 2>/dev/null || echo '{entry}' >> /root/.ssh/known_hosts")


def ceph(paths: Paths, timings: dict | None = None) -> None:
    timings = timings if timings is not None else {}
    hosts = lab_hosts(paths)
    t = time.time()
    parallel(lambda h: on(paths, h, "test -f /etc/apt/sources.list.d/ceph.list || "
                                    "pveceph install --repository no-subscription >/dev/null"), hosts)
    on(paths, hosts[0], f"test -f /etc/pve/ceph.conf || pveceph init --network {STORAGE_NET}")
    timings["ceph_init"] = time.time() - t
    t = time.time()
    for h in hosts:  # monitors join one by one
        on(paths, h, "test -d /var/lib/ceph/mon/ceph-$(hostname) || pveceph mon create")
    timings["ceph_mons"] = time.time() - t
    t = time.time()
    parallel(lambda h: on(paths, h, "test -d /var/lib/ceph/mgr/ceph-$(hostname) || pveceph mgr create >/dev/null"), hosts)
    timings["ceph_mgrs"] = time.time() - t
    t = time.time()
    parallel(lambda h: on(paths, h, "ls /var/lib/ceph/osd/ 2>/dev/null | grep -q ceph- || pveceph osd create /dev/sdb >/dev/null"), hosts)
    timings["ceph_osds"] = time.time() - t
    t = time.time()
    wait_osds_up(paths, len(hosts), 120)
    on(paths, hosts[0], f"pveceph pool ls --output-format json | grep -q '\"pool_name\": \"{POOL}\"' || "
                        f"pveceph pool create {POOL} --size 3 --min_size 2 --pg_num 32 --add_storages 1")
    timings["ceph_pool"] = time.time() - t
    t = time.time()
    wait_ceph_clean(paths, 180)
    timings["ceph_clean_wait"] = time.time() - t


def bootstrap(paths: Paths | None = None, ceph_too: bool = True, ceph_: bool | None = None, **kw) -> dict:
    paths = paths or Paths()
    if "ceph" in kw:
        ceph_too = kw["ceph"]
    timings = {}
    t = time.time()
    storage_network(paths)
    cluster(paths)
    timings["corosync_cluster"] = time.time() - t
    if ceph_too:
        ceph(paths, timings)
    log("bootstrap: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    return timings


# ---------------------------------------------------------------- waits
def _poll(desc: str, fn, timeout: float, interval: float = 0.5):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        ok, last = fn()
        if ok:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timeout after {timeout:.0f}s waiting for {desc}; last: {last}")


def quorum_info(paths: Paths, host: str) -> tuple[int, str]:
    res = ssh(paths, host, "corosync-quorumtool -s", check=False, timeout=30)
    return res.returncode, res.stdout


def wait_quorum(paths: Paths, votes: int = 3, timeout: float = 60, host: str = ALL_HOSTS[0]):
    def check():
        rc, out = quorum_info(paths, host)
        return rc == 0 and f"Total votes:      {votes}" in out, out.strip()[-300:]
    return _poll(f"corosync quorum with {votes} votes on {host}", check, timeout)


def ceph_status(paths: Paths, host: str = ALL_HOSTS[0]) -> dict:
    res = ssh(paths, host, "ceph --connect-timeout 10 status --format json", check=False, timeout=60)
    if res.returncode != 0:
        return {}
    return json.loads(res.stdout)


def pgs_clean(st: dict) -> bool:
    pg = st.get("pgmap", {})
    n = pg.get("num_pgs", 0)
    states = {x["state_name"]: x["count"] for x in pg.get("pgs_by_state", [])}
    return n > 0 and states.get("active+clean", 0) == n


def wait_ceph_clean(paths: Paths, timeout: float = 180, host: str = ALL_HOSTS[0]):
    def check():
        st = ceph_status(paths, host)
        return pgs_clean(st), st.get("pgmap", {}).get("pgs_by_state")
    return _poll("all PGs active+clean", check, timeout)


def wait_ceph_health(paths: Paths, status: str = "HEALTH_OK", timeout: float = 180, host: str = ALL_HOSTS[0]):
    def check():
        st = ceph_status(paths, host)
        h = st.get("health", {})
        return h.get("status") == status, {k: v.get("summary", {}).get("message") for k, v in h.get("checks", {}).items()}
    return _poll(status, check, timeout)


def wait_osds_up(paths: Paths, n: int, timeout: float = 120, host: str = ALL_HOSTS[0]):
    def check():
        st = ceph_status(paths, host)
        o = st.get("osdmap", {})
        o = o.get("osdmap", o)
        return o.get("num_up_osds", 0) >= n, o
    return _poll(f"{n} OSDs up", check, timeout)
