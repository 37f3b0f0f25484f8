"""Helpers shared by the PVE command shims that run inside a lab host.

Each host has /etc/lab-host.json (written by `lab up` into the host's /etc overlay) that says
which host this is and where the lab's state directory is.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

from ..common import pid_alive, wait_until
from ..pve import release
from ..pve import ceph_release, corosync, files
from ..pve.errors import PVEError

HOST_INFO = Path("/etc/lab-host.json")
PVE = Path("/etc/pve")
RELEASE_RECORD = release.RECORD
CEPH_RECORD = ceph_release.INSTALLED
# The real ceph CLI: /usr/local/sbin/ceph is the lab's stand-in for the release it reports (lab/shims/ceph.py).
CEPH_BIN = "/usr/bin/ceph"
# PVE's file formats (lab/pve/files.py), by the names the shims have always used.
parse_section_config, format_section_config = files.parse_section_config, files.format_section_config
read_sections, write_file_atomic, GUEST_DIRS = files.read_sections, files.write_file_atomic, files.GUEST_DIRS
parse_guest_conf = files.parse_guest_conf


def vmlist(pve_dir: Path | None = None) -> dict[str, dict]:
    return files.vmlist(pve_dir or PVE)  # PVE, as tests repoint it


def host_info() -> dict:
    try:
        return json.loads(HOST_INFO.read_text())
    except OSError:
        raise PVEError("this command is a proxmox-ha lab shim and only works inside a lab host "
                       "(no /etc/lab-host.json)", 255)


def nodename() -> str:
    return os.uname().nodename.split(".")[0]


def host_dir() -> Path:
    return Path(host_info()["host_dir"])


def state_dir() -> Path:
    """The lab's state directory, which every host sees at the same path."""
    return Path(host_info()["state_dir"])


def run(cmd, check=True, timeout=120, input=None, capture=True):
    res = subprocess.run(cmd, capture_output=capture, text=True, timeout=timeout, input=input)
    if check and res.returncode != 0:
        raise PVEError(f"command '{' '.join(map(str, cmd))}' failed: exit code {res.returncode}\n"
                       f"{(res.stderr or '').strip()}")
    return res


def shim_main(fn):
    """Wrap a shim's main: PVEError -> message on stderr + exit code (PVE uses 255)."""
    def wrapper(argv):
        try:
            return fn(list(argv)) or 0
        except PVEError as e:
            if e.msg:
                sys.stderr.write(e.msg.rstrip("\n") + "\n")
            return e.code
        except KeyboardInterrupt:
            return 130
    return wrapper


def dispatch(tool: str, commands: dict, usage: str, argv: list[str]) -> int:
    """`TOOL SUBCOMMAND ARGS...` as PVE's CLIs take it: help, unknown-command error, then the handler."""
    if not argv or argv[0] in ("help", "-h", "--help"):
        print(usage)
        return 0
    if argv[0] not in commands:
        raise PVEError(f"unknown command '{tool} {argv[0]}'\n{usage}", 255)
    host_info()
    return commands[argv[0]](argv[1:])


# ---------------------------------------------------------------- PVE-style argument parsing
def pve_major() -> int:
    """The PVE major this host runs (its pve-manager record, lab/pve/release.py)."""
    major = release.host_major(RELEASE_RECORD)
    if major is None:
        raise PVEError(f"this host has no Proxmox VE installed ({RELEASE_RECORD} is missing)", 255)
    return major


CLI_KINDS = {"boolean": "bool", "integer": "int", "number": "num", "array": "list"}
# `link[n]` is the API viewer's name for corosync's link0..link7 (pve-cluster PVE::Corosync MAX_LINK_INDEX 7)
INDEXED = {"link[n]": [f"link{i}" for i in range(8)]}


class ApiOptions(Mapping):
    """The options of a PVE CLI command that calls an API method: PVE generates them from the method's
    parameters (exact names), less those given as positional arguments and those the CLI fills in itself
    (`node`: this node). Read from the lab's extract of PVE's API schema for pve_major() on each use, as
    parse_args kinds. A PVE without the method has no such command."""

    def __init__(self, method: str, template: str, positional=(), fixed=("node",), command: str = "", interactive=()):
        self.method, self.template, self.skip = method, template, set(positional) | set(fixed)
        self.command = command or f"{method} {template}"
        # The CLI's param mapping with `interactive => 1` (pve-password): a bare `--password` reads it (read_password).
        self.interactive = set(interactive)

    def table(self) -> dict:
        from ..api import schema as SC  # lazily: every shim imports this module, few take API options

        schema = SC.method_schema(self.method, self.template, pve_major())
        if schema is None:
            raise PVEError(f"400 unknown command '{self.command}'", 255)
        out = {}
        for name, spec in schema.items():
            if name not in self.skip:
                kind = "interactive" if name in self.interactive else CLI_KINDS.get(spec.get("type"), "str")
                out.update(dict.fromkeys(INDEXED.get(name, [name]), kind))
        return out

    def __getitem__(self, key):
        return self.table()[key]

    def __iter__(self):
        return iter(self.table())

    def __len__(self):
        return len(self.table())


def parse_args(argv, spec: dict, positionals: int | tuple = 0, usage: str = ""):
    """PVE CLI style: `--opt value` / `-opt value`; boolean options may stand alone.
    spec: option name -> 'bool' | 'int' | 'num' | 'str' | 'list' (repeatable), e.g. an ApiOptions.
    Returns (positional, opts)."""
    pos, opts = [], OrderedDict()
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("-") and len(a) > 1 and not a.lstrip("-")[:1].isdigit():
            key = a.lstrip("-")
            val = None
            if "=" in key:
                key, val = key.split("=", 1)
            # PVE's CLIs take the API schema's names exactly (Getopt::Long): no '-'/'_' folding.
            key_norm = key
            if key_norm not in spec:
                raise PVEError(f"Unknown option: {key}\n400 unable to parse option\n{usage}".rstrip(), 255)
            kind = spec[key_norm]
            if kind == "bool":
                if val is None and i + 1 < len(argv) and argv[i + 1].lower() in ("0", "1", "true", "false", "yes", "no", "on", "off"):
                    val = argv[i + 1]
                    i += 1
                val = "1" if val is None else ("1" if val.lower() in ("1", "true", "yes", "on") else "0")
            elif kind == "interactive" and val is None and (i + 1 >= len(argv) or argv[i + 1].startswith("-")):
                val = ""  # Getopt's `password:s`: no value given, the command reads it (read_password)
            else:
                if val is None:
                    if i + 1 >= len(argv):
                        raise PVEError(f"400 Parameter verification failed.\n{key_norm}: no value given\n{usage}".rstrip(), 255)
                    val = argv[i + 1]
                    i += 1
                if kind == "int":
                    try:
                        int(val)
                    except ValueError:
                        raise PVEError(f"400 Parameter verification failed.\n{key_norm}: type check ('integer') failed - got '{val}'", 255)
                if kind == "num" and not re.fullmatch(r"[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?", val):
                    raise PVEError(f"400 Parameter verification failed.\n{key_norm}: type check ('number') failed - got '{val}'", 255)
            if kind == "list":
                opts.setdefault(key_norm, []).append(val)
            else:
                opts[key_norm] = val
        else:
            pos.append(a)
        i += 1
    lo, hi = (positionals, positionals) if isinstance(positionals, int) else positionals
    if len(pos) < lo:
        raise PVEError(f"400 not enough arguments\n{usage}".rstrip(), 255)
    if hi is not None and len(pos) > hi:
        raise PVEError(f"400 too many arguments\n{usage}".rstrip(), 255)
    return pos, opts


def cfs_lock(name: str, timeout: float = 60):
    """Cluster-wide lock on the shared /etc/pve (lab/pve/files.py). A member without quorum gets no lock: its
    /etc/pve is read-only (PVE::Cluster::cfs_lock's error). The API checks quorum itself, by its own view."""
    if quorate() is False:
        raise PVEError(f"cfs-lock '{name}' error: no quorum!", 255)
    return files.locked(PVE, name, timeout)


# ---------------------------------------------------------------- other hosts
def resolve_host(target: str) -> str | None:
    """Lab host name for a hostname/FQDN/IP, or None."""
    info = host_info()
    t = target.split(".")[0] if not target[0].isdigit() else target
    for h, a in info["hosts"].items():
        if t == h or target in (a["management_address"], a["storage_address"]):
            return h
    return None


def ssh_cmd(target_addr: str, command: str, timeout=300, check=False, input=None):
    info = host_info()
    cmd = ["ssh", "-i", info["ssh"]["key"], "-o", f"UserKnownHostsFile={info['ssh']['known_hosts']}",
           "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
           "-o", "LogLevel=ERROR", "-T", f"root@{target_addr}", command]
    return run(cmd, check=check, timeout=timeout, input=input)


def member_ssh(node: str, ip: str, *extra_options: str) -> list[str]:
    """pve-cluster src/PVE/SSHInfo.pm ssh_info_to_command({ip, name}): root's own key, the member pinned by
    its node name (HostKeyAlias) against /etc/pve/nodes/NODE/ssh_known_hosts when that file exists."""
    known_hosts = PVE / "nodes" / node / "ssh_known_hosts"
    known = ["-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=none"] if known_hosts.is_file() else []
    return ["/usr/bin/ssh", "-e", "none", "-o", "BatchMode=yes", "-o", f"HostKeyAlias={node}", *known,
            *extra_options, f"root@{ip}"]


def members() -> dict[str, dict]:
    """PVE::Cluster::get_members as pmxcfs reports it: {node: {"id", "ip", "online"}} from the nodelist of
    /etc/pve/corosync.conf (ip: ring0_addr) and this host's real corosync membership; {} outside a cluster."""
    cluster = corosync.read_cluster(PVE_COROSYNC_CONF) if COROSYNC_CONF.exists() else None
    if cluster is None:
        return {}
    online = corosync.online_members(cluster) if unit_pid("corosync") else []
    return {n["name"]: {"id": int(n["nodeid"]), "ip": n.get("ring0_addr"), "online": n["name"] in online}
            for n in cluster["nodes"]}


def read_password() -> str:
    """PVE::PTY::read_password when stdin is not a terminal: one line, without its newline."""
    if sys.stdin.isatty():
        raise PVEError("the lab reads a password only from a pipe, not a terminal", 255)
    line = sys.stdin.readline()
    if not line:
        raise PVEError("EOF while reading password", 255)
    return line.rstrip("\n")


def warn(msg: str) -> None:
    """perl's warn: the message on stderr, and go on."""
    sys.stderr.write(msg.rstrip("\n") + "\n")
    sys.stderr.flush()


def on_host(host: str, command: str, timeout=300, check=False):
    """Run a command line on lab host `host` (locally if it is this host)."""
    if host == nodename():
        return run(["bash", "-c", command], check=check, timeout=timeout)
    return ssh_cmd(host_info()["hosts"][host]["management_address"], command, timeout=timeout, check=check)


# ---------------------------------------------------------------- services (systemd stand-in)
# pve-cluster is the lab's pmxcfs: /etc/pve's mount and the lab.pmxcfs loop. lab/shims/pmxcfs.py starts, stops and
# finds it (systemctl calls it), as it builds on this module; unit_pid/start/stop here run the other units.
CFS_UNIT = "pve-cluster"
RECORD_ONLY_ACTIVE = {"pve-ha-lrm", "pve-ha-crm", "watchdog-mux", "pveproxy",
                      "pvedaemon", "pvestatd", "pve-firewall", "pvescheduler", "ssh", "sshd", "cron",
                      "chrony", "rrdcached", "spiceproxy", "ksmtuned", "networking"}
RECORD_ONLY_INACTIVE = {"proxmox-backup-client",
                        "pve-daily-update", "frr", "ceph-crash"}

DESCRIPTIONS = {
    "corosync": "Corosync Cluster Engine",
    "ceph-mon": "Ceph cluster monitor daemon",
    "ceph-mgr": "Ceph cluster manager daemon",
    "ceph-osd": "Ceph object storage daemon",
    "corosync-qdevice": "Corosync Qdevice daemon",
    "corosync-qnetd": "Corosync Qdevice Network daemon",
    "pve-cluster": "The Proxmox VE cluster filesystem",
    "pve-ha-lrm": "PVE Local HA Resource Manager Daemon (lab: record only)",
    "pve-ha-crm": "PVE Cluster HA Resource Manager Daemon (lab: record only)",
    "watchdog-mux": "Proxmox VE watchdog multiplexer (lab: record only)",
}


def unit_name(u: str) -> str:
    for suf in (".service",):
        if u.endswith(suf):
            return u[: -len(suf)]
    return u


SERVICE_ENVIRONMENT = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def installed_service_argv(unit: str) -> list[str] | None:
    """ExecStart of a long-running service a step installed (/etc/systemd/system/UNIT.service), so it runs
    for real; oneshot units (e.g. the config backup) stay records, as their timers do."""
    path = Path(f"/etc/systemd/system/{unit}.service")
    if not path.is_file():
        return None
    settings = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    if "ExecStart" not in settings or settings.get("Type", "simple") not in ("simple", "exec"):
        return None
    return shlex.split(settings["ExecStart"])


# Debian's own unit files run as they are: ExecStart (in the foreground: `-f`, or a daemon that never forks) with the
# variables of its EnvironmentFile (substituted, and in the service's environment), as its User=, with its
# RuntimeDirectory= made (and removed on stop) as systemd does; `systemctl reload` runs ExecReload with $MAINPID (for
# Prometheus' units `/bin/kill -HUP $MAINPID`), and refuses a unit without one. Type=notify waits a little longer.
# Restart=, LimitNOFILE=, PrivateTmp= and the other sandboxing settings have no stand-in; StandardError=null is not
# applied (the log keeps stderr). The package made the state directories (/var/lib/prometheus/metrics2, ...).
PACKAGED_UNITS = ("corosync-qdevice", "corosync-qnetd", "prometheus", "prometheus-alertmanager", "prometheus-node-exporter",
                  "prometheus-blackbox-exporter")
SYSTEM_UNIT_DIR = Path("/lib/systemd/system")


def _environment_file(spec: str) -> dict:
    path = Path(spec.lstrip("-"))
    env = {}
    try:
        text = path.read_text()
    except OSError:
        if spec.startswith("-"):
            return env
        raise PVEError(f"Failed to load environment files: {path}", 1)
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            parts = shlex.split(value) if value else []
            env[key.strip()] = " ".join(parts)
    return env


def _command_line(line: str, env: dict) -> tuple[list[str], bool]:
    """An Exec*= line as systemd runs it: its variables expanded; also whether a failure counts (no `-` prefix)."""
    prefix = re.match(r"[-@:+!]*", line).group(0)
    argv = []
    for word in shlex.split(line[len(prefix):]):
        whole = re.fullmatch(r"\$\{?(\w+)\}?", word)
        if whole:  # an unbraced/braced lone $VAR is split on whitespace, and vanishes when empty
            argv += env.get(whole.group(1), "").split()
        else:
            argv.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), word))
    return argv, "-" not in prefix


def packaged_service(unit: str) -> dict | None:
    """{"argv", "user", "runtime_dirs", "runtime_mode", "requires", "type", "description", "environment", "reload"} of
    a Debian unit file in PACKAGED_UNITS; "reload" holds the ExecReload= lines, expanded at reload time ($MAINPID)."""
    if unit not in PACKAGED_UNITS:
        return None
    path = SYSTEM_UNIT_DIR / f"{unit}.service"
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    settings, env = {}, {}
    for line in lines:
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    for spec in settings.get("EnvironmentFile", []):
        env.update(_environment_file(spec))
    return {"argv": _command_line(settings["ExecStart"][-1], env)[0], "user": (settings.get("User") or [None])[-1],
            "runtime_dirs": " ".join(settings.get("RuntimeDirectory", [])).split(),
            "runtime_mode": int((settings.get("RuntimeDirectoryMode") or ["0755"])[-1], 8),
            "requires": [unit_name(u) for u in " ".join(settings.get("Requires", [])).split()],
            "type": (settings.get("Type") or ["simple"])[-1], "description": (settings.get("Description") or [unit])[-1],
            "environment": env, "reload": [line for line in settings.get("ExecReload", []) if line]}


def _as_user(packaged: dict) -> dict:
    """Popen's arguments for a unit's User=: its uid, primary group and its groups as initgroups() sets them, as systemd
    does; none without User=."""
    if not packaged.get("user"):
        return {}
    import pwd

    pw = pwd.getpwnam(packaged["user"])
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": os.getgrouplist(pw.pw_name, pw.pw_gid)}


def service_environment(packaged: dict) -> dict:
    """What systemd gives a service: its own PATH and LANG, its EnvironmentFile's variables, and for User= the user's
    USER, LOGNAME, HOME and SHELL; never the caller's environment."""
    env = {**SERVICE_ENVIRONMENT, **packaged.get("environment", {})}
    if packaged.get("user"):
        import pwd

        pw = pwd.getpwnam(packaged["user"])
        env.update(USER=pw.pw_name, LOGNAME=pw.pw_name, HOME=pw.pw_dir, SHELL=pw.pw_shell)
    return env


def unit_argv(unit: str):
    """Command line of a real daemon unit, or None for record-only units."""
    base, _, inst = unit.partition("@")
    if unit == CFS_UNIT:
        return [sys.executable, "-m", "lab.pmxcfs"]
    if unit == "corosync":
        return ["/usr/sbin/corosync", "-f"]
    packaged = packaged_service(unit)
    if packaged:
        return packaged["argv"]
    if base in ("ceph-mon", "ceph-mgr", "ceph-osd") and inst:
        return [f"/usr/bin/{base}", "-f", "--cluster", "ceph", "--id", inst]
    return installed_service_argv(unit)


def known_unit(unit: str) -> bool:
    base = unit.partition("@")[0]
    return (unit_argv(unit) is not None or unit in RECORD_ONLY_ACTIVE or unit in RECORD_ONLY_INACTIVE
            or base in ("ceph-mon", "ceph-mgr", "ceph-osd") or unit.endswith(".target")
            # Units a step installed as files (e.g. a timer) are known, and record-only like PVE's own.
            or any(Path(f"/etc/systemd/system/{unit}{suffix}").exists() for suffix in ("", ".service")))


def _pidfile(unit: str) -> Path:
    return host_dir() / "pids" / f"{unit}.pid"


def _statefile(unit: str) -> Path:
    return host_dir() / "services" / f"{unit}.state"


def _record_state(unit: str, state: str) -> None:
    """Record-only units (PVE's own daemons, installed timers) just remember what systemctl was told."""
    _statefile(unit).parent.mkdir(parents=True, exist_ok=True)
    _statefile(unit).write_text(f"{state}\n")


def host_process_name(pid: int) -> str | None:
    """The name (comm) of a live process of this host, i.e. of this mount namespace; None for any other, so that
    a stale pidfile never leads outside the host (the lab shares one PID namespace with the machine)."""
    if not pid_alive(pid):
        return None
    try:
        theirs, ours = os.stat(f"/proc/{pid}/ns/mnt"), os.stat("/proc/self/ns/mnt")
        if (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino):
            return None
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def unit_pid(unit: str) -> int | None:
    try:
        pid = int(_pidfile(unit).read_text().strip())
    except (OSError, ValueError):
        return None
    argv = unit_argv(unit)
    if not pid_alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    # A script's process shows its interpreter first (`python3 /opt/.../pve_exporter ...`).
    if argv and os.path.basename(argv[0]) not in {os.path.basename(part.decode()) for part in cmdline[:2]}:
        return None
    return pid


def unit_active(unit: str) -> bool:
    if unit_argv(unit) is not None:
        return unit_pid(unit) is not None
    st = _statefile(unit)
    if st.exists():
        return st.read_text().strip() == "active"
    return unit in RECORD_ONLY_ACTIVE


def unit_start(unit: str, wait: float = 0.3) -> None:
    argv = unit_argv(unit)
    if argv is None:
        _record_state(unit, "active")
        return
    if unit_pid(unit):
        return
    packaged = packaged_service(unit) or {}
    for required in packaged.get("requires", []):  # Requires= (+ After=): corosync for corosync-qdevice
        if required != unit and unit_argv(required) is not None:
            unit_start(required, wait=0.5)
    as_user = _as_user(packaged)
    for name in packaged.get("runtime_dirs", []):
        rdir = Path("/run") / name
        rdir.mkdir(parents=True, exist_ok=True)
        os.chmod(rdir, packaged["runtime_mode"])
        if as_user:
            os.chown(rdir, as_user["user"], as_user["group"])
    if packaged.get("type") == "notify":
        wait = max(wait, 1.0)  # Type=notify: systemctl waits for the daemon to be up
    logs = host_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{unit}.log", "ab") as logf:
        # systemd starts a service with its own environment, never the caller's (a step's exported secrets
        # would otherwise reach the exporter, which then takes them for its config).
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True, close_fds=True, cwd="/", env=service_environment(packaged), **as_user)
    _pidfile(unit).parent.mkdir(parents=True, exist_ok=True)
    _pidfile(unit).write_text(f"{p.pid}\n")
    if unit.partition("@")[0] in ceph_release.DAEMONS:
        ceph_release.started(_pidfile(unit).parent, unit, ceph_release.installed(CEPH_RECORD), state_dir())
    if unit == "corosync":
        # corosync.service is Type=notify: systemctl returns once corosync answers on its IPC, so a unit After= it
        # (corosync-qdevice) finds cmap. Started earlier, corosync-qdevice dies with "Failed to initialize the cmap API".
        wait_until(lambda: p.poll() is not None or _cmap_answers(), 30)
    if wait_until(lambda: p.poll() is not None, wait):
        _pidfile(unit).unlink(missing_ok=True)
        ceph_release.stopped(_pidfile(unit).parent, unit)
        tail = ""
        try:
            tail = (logs / f"{unit}.log").read_text()[-1500:]
        except OSError:
            pass
        raise PVEError(f"Job for {unit}.service failed because the control process exited with error code.\n"
                       f"See \"systemctl status {unit}.service\" and \"journalctl -xeu {unit}.service\" for details.\n"
                       f"{tail}", 1)


def unit_reload(unit: str, timeout: float = 90) -> None:
    """`systemctl reload` of a Debian unit: its ExecReload= lines with $MAINPID, as its User=, waited for; the main
    process stays (a unit without ExecReload= cannot be reloaded). What the daemon does on the signal is its own
    business and happens after this returns, as with systemd."""
    packaged = packaged_service(unit)
    pid = unit_pid(unit)
    if not packaged or not packaged["reload"]:
        raise PVEError(f"Failed to reload {unit}.service: Job type reload is not applicable for unit {unit}.service.", 1)
    env = {**service_environment(packaged), "MAINPID": str(pid)}
    as_user = _as_user(packaged)
    for line in packaged["reload"]:
        argv, counts = _command_line(line, env)
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd="/", env=env,
                              timeout=timeout, **as_user)
        if done.returncode != 0 and counts:
            raise PVEError(f"Job for {unit}.service failed because the control process exited with error code.\n"
                           f"See \"systemctl status {unit}.service\" and \"journalctl -xeu {unit}.service\" for details.\n"
                           f"{(done.stdout + done.stderr).strip()}", 1)


def _cmap_answers() -> bool:
    return subprocess.run(["corosync-cmapctl", "-g", "totem.cluster_name"], capture_output=True).returncode == 0


def unit_stop(unit: str, timeout: float = 20) -> None:
    argv = unit_argv(unit)
    if argv is None:
        _record_state(unit, "inactive")
        return
    pid = unit_pid(unit)
    if pid:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not wait_until(lambda: not pid_alive(pid), timeout):
            os.kill(pid, signal.SIGKILL)
            while pid_alive(pid):
                time.sleep(0.05)
    _pidfile(unit).unlink(missing_ok=True)
    ceph_release.stopped(_pidfile(unit).parent, unit)
    for name in (packaged_service(unit) or {}).get("runtime_dirs", []):  # systemd removes RuntimeDirectory=
        shutil.rmtree(Path("/run") / name, ignore_errors=True)


def units_of(base: str) -> list[str]:
    """Instances of a templated unit this host has a pidfile or enablement for."""
    names = set()
    for d, suffix in ((host_dir() / "pids", ".pid"), (host_dir() / "services", ".enabled")):
        if d.exists():
            for p in d.glob(f"{base}@*{suffix}"):
                names.add(p.name[: -len(suffix)])
    return sorted(names)


def unit_enable(unit: str, enable: bool = True) -> None:
    f = host_dir() / "services" / f"{unit}.enabled"
    f.parent.mkdir(parents=True, exist_ok=True)
    if enable:
        f.write_text("enabled\n")
    else:
        f.unlink(missing_ok=True)


def unit_enabled(unit: str) -> bool:
    return (host_dir() / "services" / f"{unit}.enabled").exists() or unit in RECORD_ONLY_ACTIVE or unit == CFS_UNIT


# ---------------------------------------------------------------- corosync helpers
COROSYNC_CONF = Path("/etc/corosync/corosync.conf")
COROSYNC_AUTHKEY = Path("/etc/corosync/authkey")
PVE_COROSYNC_CONF = PVE / "corosync.conf"


def quorate() -> bool | None:
    """Real corosync quorum of this host: True/False, None when this host is not in a cluster."""
    if not COROSYNC_CONF.exists():
        return None
    return bool(unit_pid("corosync")) and corosync.quorate() is True


def ceph(args, check=True, timeout=60, fmt_json=False):
    cmd = [CEPH_BIN, "--connect-timeout", "15"] + list(args)
    if fmt_json:
        cmd += ["--format", "json"]
    res = run(cmd, check=False, timeout=timeout)
    if check and res.returncode != 0:
        raise PVEError(f"command '{' '.join(cmd)}' failed: exit code {res.returncode}\n{res.stderr.strip()}", 255)
    if fmt_json and res.returncode == 0:
        return json.loads(res.stdout or "null")
    return res
