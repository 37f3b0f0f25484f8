"""Lab shim for psmisc's `killall` on a PVE host: only this host's own processes, by name.

The lab shares one PID namespace with the machine, so the real killall would reach every lab host and the machine.
This one sees the processes under the host's pidfiles (STATE/hosts/HOST/pids) that live in its mount namespace,
never its sshd (it stands for the machine itself: its end is the host's power-off). Killing pmxcfs unmounts
/etc/pve, as pmxcfs's exit does (lab/shims/pmxcfs.py).
"""
from __future__ import annotations

import os
import signal
import sys

from ..common import pid_alive, read_pid, wait_until
from ..pmxcfs import NAME as PMXCFS
from . import pmxcfs as P
from . import pvelib as L

USAGE = """Usage: killall [OPTION]... [--] NAME...   (proxmox-ha lab shim for psmisc's killall)
  -q,--quiet          don't print complaints
  -s,--signal SIGNAL  send this signal instead of SIGTERM (also -SIGNAL)
  -w,--wait           wait for processes to die
Only the processes of this lab host (its pidfiles), never another host's or the machine's."""


def parse_signal(text: str) -> signal.Signals:
    if text.isdigit():
        return signal.Signals(int(text))
    name = text.upper()
    return signal.Signals[name if name.startswith("SIG") else f"SIG{name}"]


def host_processes() -> dict[int, str]:
    """{pid: name} of this host's processes under its pidfiles, its sshd left out."""
    found = {}
    for pidfile in sorted((L.host_dir() / "pids").glob("*.pid")):
        pid = read_pid(pidfile)
        name = pid and pidfile.name != "sshd.pid" and L.host_process_name(pid)
        if name:
            found[pid] = name
    return found


def wait_gone(pids: list[int], timeout: float) -> bool:
    return wait_until(lambda: not any(pid_alive(p) for p in pids), timeout)


@L.shim_main
def main(argv):
    quiet = wait = False
    sig, names, args = signal.SIGTERM, [], list(argv)
    try:
        while args:
            a = args.pop(0)
            if a == "--":
                names += args
                break
            if a in ("-h", "--help"):
                print(USAGE)
                return 0
            if a in ("-q", "--quiet"):
                quiet = True
            elif a in ("-w", "--wait"):
                wait = True
            elif a in ("-s", "--signal"):
                sig = parse_signal(args.pop(0))
            elif a.startswith("-") and len(a) > 1:
                sig = parse_signal(a[1:])
            else:
                names.append(a)
    except (IndexError, KeyError, ValueError):
        raise L.PVEError(USAGE, 1)
    if not names:
        raise L.PVEError(USAGE, 1)
    L.host_info()
    processes, rc, killed = host_processes(), 0, []
    for name in names:
        mine = [pid for pid, comm in processes.items() if comm == name[:15]]  # psmisc: comm, 15 characters
        if not mine:
            if not quiet:
                print(f"{name}: no process found", file=sys.stderr)
            rc = 1
            continue
        for pid in mine:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        killed += mine
    if wait:
        wait_gone(killed, 60)
    pmxcfs = [pid for pid in killed if processes[pid] == PMXCFS]
    if pmxcfs and wait_gone(pmxcfs, 10) and not P.running():
        P.unmount()
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
