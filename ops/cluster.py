"""Read the cluster's state and run the node-by-node procedures, each step behind a gate."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from models import StackConfig
from models.cluster import Node
from remote import probes
from remote.step import probe



class Shell(Protocol):
    def command(self, node: Node, command: str, timeout: float = 600): ...


class GateFailed(RuntimeError):
    """A precondition did not hold; nothing after it ran."""


@dataclass
class ClusterOps:
    stack: StackConfig
    shell: Shell
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr)
    poll_seconds: float = 2.0

    @property
    def nodes(self) -> list[Node]:
        return self.stack.cluster.nodes

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise GateFailed(f"{name} is not in proxmox-ha:cluster.nodes ({', '.join(n.name for n in self.nodes)})")

    def sh(self, node: Node, command: str, timeout: float = 600) -> str:
        result = self.shell.command(node, command, timeout=timeout)
        if result.returncode != 0:
            raise GateFailed(f"`{command}` failed on {node.name} (exit {result.returncode}): {result.stderr.strip()[-500:]}")
        return result.stdout

    # --- what the cluster says ---------------------------------------------------

    # The program's own probes (remote/probes.py): one home for what "quorate", "whole" and "clean" mean.
    def ask(self, via: Node, command: str) -> str:
        """A probe's answer; a probe that cannot read the cluster stops the procedure rather than read as 'none'."""
        done = self.shell.command(via, probe(command), timeout=30)
        if done.returncode == 2:
            raise GateFailed(f"{done.stderr.strip()} (on {via.name})")
        return done.stdout.strip()

    def whole(self, via: Node) -> tuple[bool, str]:
        """Quorate, every configured node online, and every vote the cluster expects present (a QDevice's too)."""
        quorate = self.shell.command(via, probe(probes.QUORATE), timeout=30).returncode == 0
        online = set(self.ask(via, probes.ONLINE_NAMES).split())
        total, expected = self.ask(via, probes.TOTAL_VOTES), self.ask(via, probes.EXPECTED_VOTES)
        missing = sorted(n.name for n in self.nodes if n.name not in online)
        ok = quorate and not missing and total.isdigit() and total == expected
        return ok, (f"quorate={quorate}, {total or '?'}/{expected or '?'} votes"
                    + (f", {', '.join(missing)} offline" if missing else "") + f" (pvecm status on {via.name})")

    def whole_everywhere(self) -> tuple[bool, str]:
        """Whole as each node counts it. With a QDevice a node counts that vote only once its own corosync-qdevice
        is back, a few seconds after its corosync: a peer can see every vote while the restarted node sees one short."""
        for node in self.nodes:
            ok, said = self.whole(node)
            if not ok:
                return False, said
        return True, f"every node counts every vote ({', '.join(n.name for n in self.nodes)})"

    def pgs_clean(self, via: Node) -> bool:
        return self.shell.command(via, probe(probes.ALL_PGS_CLEAN), timeout=30).returncode == 0

    # --- gates ----------------------------------------------------------------------

    def wait(self, what: str, condition: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise GateFailed(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(self.poll_seconds)

    def require_healthy(self, via: Node, ceph: bool) -> None:
        ok, said = self.whole_everywhere()
        if not ok:
            raise GateFailed(f"cluster not whole: {said}; never take a node down while another is out")
        if ceph and not self.pgs_clean(via):
            raise GateFailed(f"Ceph placement groups are not all active+clean (ceph pg stat on {via.name}); wait for recovery first")

    def wait_healthy(self, via: Node, ceph: bool, timeout: float) -> None:
        self.wait("quorum with every node and vote, as each node counts them", lambda: self.whole_everywhere()[0], timeout)
        if ceph:
            self.wait("all placement groups active+clean", lambda: self.pgs_clean(via), timeout)

    # --- procedures -------------------------------------------------------------------

    def peer_of(self, node: Node) -> Node:
        return next(n for n in self.nodes if n.name != node.name)

    def maintenance_enter(self, name: str, timeout: float = 300) -> None:
        node = self.node(name)
        via = self.peer_of(node)
        self.sh(via, f"ha-manager crm-command node-maintenance enable {node.name}")
        # Maintenance moves the started services; then the node's LRM gives up its watchdog ("watchdog closed").
        self.wait(f"HA to move the started services off {node.name} and its LRM to close its watchdog",
                  lambda: not self.ask(via, probes.ha_services(node.name, "started"))
                  and self.ask(via, probes.lrm_state(node.name)) == "maintenance", timeout)

    def maintenance_exit(self, name: str) -> None:
        node = self.node(name)
        self.sh(self.peer_of(node), f"ha-manager crm-command node-maintenance disable {node.name}")

    def rolling_update(self, upgrade: str, reboot: str, dry_run: bool = False, timeout: float = 600) -> None:
        ceph = self.stack.needs_ceph()
        steps = [
            ("gate: quorate, all votes, PGs active+clean", lambda n, via: self.require_healthy(via, ceph)),
            ("ceph osd set noout", lambda n, via: ceph and self.sh(via, "ceph osd set noout")),
            ("HA maintenance on, services moved away", lambda n, via: self.maintenance_enter(n.name, timeout)),
            (f"upgrade: {upgrade}", lambda n, via: self.sh(n, upgrade, timeout=3600)),
            (f"reboot: {reboot}", lambda n, via: self.reboot(n, reboot, timeout)),
            ("wait: quorum and PGs active+clean", lambda n, via: self.wait_healthy(via, ceph, timeout)),
            ("HA maintenance off, ceph osd unset noout", lambda n, via: (self.maintenance_exit(n.name), ceph and self.sh(via, "ceph osd unset noout"))),
        ]
        for index, node in enumerate(self.nodes, 1):
            via = self.peer_of(node)
            for number, (label, action) in enumerate(steps, 1):
                self.log(f"[{index}/{len(self.nodes)} {node.name}] {number}/{len(steps)} {label}")
                if dry_run and number > 1:
                    continue
                try:
                    action(node, via)
                except GateFailed as failed:
                    raise GateFailed(f"{node.name}, step {number} ({label}): {failed}. Stopped here; "
                                     f"{node.name} may still be in maintenance and noout may be set. Fix the cause, then "
                                     f"`python -m ops maintenance exit {node.name}` and `ceph osd unset noout`, or run the update again") from None
        self.log("rolling update finished" + (" (dry run: only the first gate was checked)" if dry_run else ""))

    def reboot(self, node: Node, command: str, timeout: float) -> None:
        # A real reboot drops the SSH session: its exit status means nothing, the node's return does.
        self.shell.command(node, command, timeout=120)
        self.wait(f"{node.name} to answer over SSH again", lambda: self.shell.command(node, "true", timeout=15).returncode == 0, timeout)
