"""The API process's one librados session, as pvestatd's storage status asks Ceph through PVE::RADOS (librados),
not the `ceph` CLI: a CLI run starts a Python interpreter and a new monitor session, about 0.35 CPU-s, and each
lab host's API would pay it every status cycle."""
from __future__ import annotations

import json
import threading
from pathlib import Path

CEPH_CONF = Path("/etc/ceph/ceph.conf")
TIMEOUT = "3"  # seconds, as the CLI's --connect-timeout 3 was: a lost monitor must not hold a request long


class Session:
    def __init__(self, conf: Path = CEPH_CONF):
        self.conf = conf
        self._lock = threading.Lock()
        self._rados = None
        self._conf_mtime = None

    def mon_json(self, prefix: str):
        """A monitor command's JSON answer, or None when Ceph cannot be read (no cluster here, no quorum, a timeout)."""
        with self._lock:
            try:
                mtime = self.conf.stat().st_mtime_ns
            except FileNotFoundError:
                self._close()
                return None
            if mtime != self._conf_mtime:  # another cluster, or its monitors moved: a new session
                self._close()
            try:
                if self._rados is None:
                    self._rados = self._connect()
                    self._conf_mtime = mtime
                ret, out, _ = self._rados.mon_command(json.dumps({"prefix": prefix, "format": "json"}), b"")
                if ret == 0:
                    return json.loads(out)
            except Exception:  # rados.Error and its kin, or bad JSON: the session is suspect either way
                pass
            self._close()
            return None

    def _connect(self):
        import rados  # python3-rados, which the ceph CLI itself runs on

        session = rados.Rados(conffile=str(self.conf),
                              conf={"client_mount_timeout": TIMEOUT, "rados_mon_op_timeout": TIMEOUT})
        try:
            session.connect()
        except Exception:
            session.shutdown()
            raise
        return session

    def _close(self) -> None:
        if self._rados is not None:
            self._rados.shutdown()
        self._rados, self._conf_mtime = None, None
