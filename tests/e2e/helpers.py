"""Waiting on the lab's cluster, read with the program's own probes (remote/probes.py); the secrets the lab
stack hands the program, and every command line this machine execs meanwhile."""
from __future__ import annotations

import re
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

from lab.common import DEFAULT_HOSTS
from remote import probes
from remote.step import probe

NODES = DEFAULT_HOSTS  # the lab stack's nodes (Pulumi.lab.yaml)


def wait_until(what: str, condition, timeout: float = 120, interval: float = 1):
    """The tests' one wait: polls `condition` until it returns something true, and returns that."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
    return value


def quorum(lab, node: str) -> tuple[bool, int]:
    """Quorate, and the votes, as `node` counts them (not quorate and 0 when it cannot say)."""
    said = lab.ssh(node, probe(f"{probes.TOTAL_VOTES}; {probes.QUORATE}"))
    return said.returncode == 0, int(said.stdout) if said.stdout.strip().isdigit() else 0


class QuorumWatch:
    """Each node's quorum as its corosync announces it, and every moment `holds` said no: one `corosync-quorumtool
    -m` per node, over ssh on a terminal (so it ends with its ssh), prints the status when it connects and again at
    each change, so no change falls between two samples. A node whose corosync cannot be read (stopped,
    restarting, powered off) is not quorate until its monitor connects again."""

    def __init__(self, lab, nodes: tuple[str, ...], holds, timeout: float = 60):
        self.lab, self.nodes, self.holds = lab, nodes, holds
        self.quorate: dict[str, bool] = {}
        self.lost: list[str] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._monitors: dict[str, subprocess.Popen] = {}
        self._threads = [threading.Thread(target=self._follow, args=(node,), daemon=True) for node in nodes]
        for thread in self._threads:
            thread.start()
        try:
            wait_until(f"a quorum status from each of {', '.join(nodes)}", lambda: len(self.quorate) == len(nodes), timeout, 0.1)
        except AssertionError:
            self.stop()
            raise

    def _follow(self, node: str) -> None:
        while True:
            with self._lock:  # stop() kills every monitor it can see: none may start after it
                if self._done.is_set():
                    return
                monitor = subprocess.Popen(self.lab.ssh_command(node, "corosync-quorumtool -m", tty=True),
                                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                           text=True)
                self._monitors[node] = monitor
            for line in monitor.stdout:
                if line.startswith("Quorate:"):
                    self._set(node, line.split()[1] == "Yes")
            monitor.wait()
            self._set(node, False)  # the monitor ended with corosync (or its node): nothing says quorate now
            self._done.wait(0.5)

    def _set(self, node: str, quorate: bool) -> None:
        with self._lock:
            if self._done.is_set():
                return
            self.quorate[node] = quorate
            if len(self.quorate) == len(self.nodes) and not self.holds(self.quorate):
                self.lost.append(f"{time.strftime('%T')} {({name: self.quorate[name] for name in self.nodes})}")

    def stop(self) -> list[str]:
        """Every moment `holds` said no, with each node's quorum then."""
        with self._lock:
            self._done.set()
            for monitor in self._monitors.values():
                monitor.kill()
        for thread in self._threads:
            thread.join(10)
        return self.lost


def pgs_clean(lab) -> bool:
    return lab.ssh("pve1", probe(probes.ALL_PGS_CLEAN)).returncode == 0


def lab_secrets(lab) -> dict[str, str]:
    """Each secret of the lab stack (a distinctive part of it), the exporter's token once `up` made it."""
    info = lab.info
    key_body = "".join(Path(info["ssh"]["private_key"]).read_text().splitlines()[1:-1])
    found = {
        "SSH private key": key_body[120:160],
        "API token": Path(info["api"]["token_file"]).read_text().strip().split("=", 1)[1],
        "PBS password": Path(info["pbs"]["password_file"]).read_text().strip(),
    }
    exporter = re.search(r"^monitoring@pve!exporter (\S+)", lab.ok("pve1", "cat /etc/pve/priv/token.cfg 2>/dev/null || true"), re.M)
    if exporter:
        found["exporter token"] = exporter.group(1)
    return found


class Execs:
    """Every command line exec'd on this machine while it listens (lab hosts included: they share its kernel), read
    from /proc/PID/cmdline as the kernel reports each exec through the proc connector (cn_proc, netlink), and how
    many of those processes had ended before their line could be read. Needs root, as the tests do."""

    _LISTEN = struct.pack("=I", 1)  # PROC_CN_MCAST_LISTEN
    _EXEC = 2  # PROC_EVENT_EXEC

    def __init__(self):
        self.lines: set[str] = set()
        self.missed = 0
        self._stop = threading.Event()
        self._socket = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 11)  # NETLINK_CONNECTOR
        self._socket.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE: an up's bursts of execs
        self._socket.bind((0, 1))  # CN_IDX_PROC
        header = struct.pack("=IIIIHH", 1, 1, 0, 0, len(self._LISTEN), 0)  # cn_msg: CN_IDX_PROC, CN_VAL_PROC
        self._socket.send(struct.pack("=IHHII", 16 + len(header) + len(self._LISTEN), 3, 0, 0, 0) + header + self._LISTEN)
        self._socket.settimeout(0.2)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._socket.recv(1 << 16)
            except socket.timeout:
                continue
            offset = 0
            while offset + 16 <= len(data):
                length = struct.unpack_from("=I", data, offset)[0]
                # nlmsghdr (16 bytes), cn_msg (20), proc_event: what, cpu, timestamp (16), then pid and tgid
                if struct.unpack_from("=I", data, offset + 36)[0] == self._EXEC:
                    self._note(struct.unpack_from("=I", data, offset + 56)[0])
                offset += max(length, 16)

    def _note(self, pid: int) -> None:
        try:
            line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            line = ""
        if line:
            self.lines.add(line)
        else:
            self.missed += 1

    def stop(self) -> None:
        self._stop.set()
        self._reader.join()
        self._socket.close()
