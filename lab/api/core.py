"""What every part of the lab API shares: PVE's error replies, the cluster as PVE sees it (ClusterView), and
the helpers of the section-config files (storage.cfg, ha/*.cfg, jobs.cfg) that several handler modules edit.

The handlers themselves are functions `handler(api, ident, params)` in modules that follow PVE's API tree
(nodes, cluster, cluster_ha, cluster_backup, storage, access); routes.py says which serves what, and
dispatch.PVEAPI (the `api` argument: store, node, PVE major, cluster view, permission checks) calls them.
"""
from __future__ import annotations

import threading
import time

from . import schema
from ..pve import corosync
from .store import Store

API_PREFIX = "/api2/json"


class APIError(Exception):
    def __init__(self, status: int, msg: str, errors: dict | None = None):
        super().__init__(msg)
        self.status, self.msg, self.errors = status, msg.rstrip("\n"), errors


def fail(msg: str, status: int = 500):
    raise APIError(status, msg)


def param_fail(errors: dict):
    raise APIError(400, "Parameter verification failed.", errors)


# ---------------------------------------------------------------- cluster view (corosync) with test hooks
class ClusterView:
    """Cluster membership/quorum as PVE sees it: nodelist from DIR/corosync.conf, quorum and the online members
    from the real corosync (one `corosync-quorumtool -s`, exit 0 = quorate) unless a `quorum` hook is given.
    quorum() -> True/False, or None when not in a cluster; members() -> names of online nodes."""

    def __init__(self, store: Store, node: str, quorum=None, members=None, cache: float = 1.0):
        self.store, self.node = store, node
        self.quorum_hook, self.members_hook, self.cache = quorum, members, cache
        self._cached: dict = {}
        self._lock = threading.Lock()

    def conf(self) -> dict | None:
        text = self.store.read_text("corosync.conf")
        return corosync.parse_conf(text) if text else None

    def nodes(self) -> list[dict]:
        c = self.conf()
        if not c or not c["nodes"]:
            return [{"name": self.node, "nodeid": "0"}]
        return c["nodes"]

    def cluster_name(self) -> str | None:
        c = self.conf()
        return c.get("cluster_name") if c else None

    def _memo(self, key, fn, ttl: float | None = None):
        with self._lock:
            hit = self._cached.get(key)
            if hit and time.time() - hit[0] < (self.cache if ttl is None else ttl):
                return hit[1]
        val = fn()
        with self._lock:
            self._cached[key] = (time.time(), val)
        return val

    def quorate(self) -> bool | None:
        if self.quorum_hook is not None:
            return self.quorum_hook()
        if self.conf() is None:
            return None
        return self._corosync()[0] is True

    def members(self) -> list[str]:
        if self.members_hook is not None:
            return list(self.members_hook())
        q = self.quorate()
        if q is None:
            return [self.node]
        if self.quorum_hook is not None:
            return [n["name"] for n in self.nodes()] if q else [self.node]
        return self._corosync()[1] or [self.node]

    def _corosync(self) -> tuple[bool | None, list[str]]:
        return self._memo("corosync", lambda: corosync.quorum(self.conf(), timeout=5))


# ---------------------------------------------------------------- section-config files
def typed(opts: dict, types: dict) -> dict:
    """A section's options as the API returns them: each value typed by its property in `types`."""
    out = {}
    for k, v in opts.items():
        spec = types.get(k, {"type": "string"})
        out[k] = schema.typed(v, spec)
    return out


def check_digest(st, rel, digest):
    if digest and digest != st.digest(rel):
        fail("detected modified configuration - file changed by other user? Try again.")


def existing_section(st, rel, ident, digest, missing):
    """Under the file's lock: (all sections, the one named `ident`); PVE's error when it is absent."""
    check_digest(st, rel, digest)
    secs = st.sections(rel)
    sec = next((s for s in secs if s[1] == ident), None)
    if sec is None:
        fail(missing)
    return secs, sec

