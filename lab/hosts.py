"""Bring the embedded lab up (or grow it) and down: keys, the shared /etc/pve, shims, bridges, the hosts
(lab/machine.py), their API and pmxcfs processes, the PBS stand-in, lab.json."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from importlib import metadata
from pathlib import Path

from . import install as install_mod
from . import pbs
from .pve import ceph_release
from .common import (ALL_HOSTS, DEFAULT_HOST_COUNT, DOMAIN, MGMT_BRIDGE, MGMT_GW, MGMT_NET, SHIMS, DEBIAN_SHIMS,
                     STORAGE_BRIDGE, STORAGE_GW, STORAGE_NET, CLUSTER_NAME, LAB_GUEST, DEBIAN_HOSTS, MONITOR_HOST, QNETD_HOST, Paths,
                     REPO_ROOT, kill_pid,
                     lab_hosts, lab_major, log, mgmt_addr, netns, netns_exists, netns_pids, pid_alive, read_pid, run,
                     ssh_port, storage_addr, sshd_pid, wait_until)
from .machine import ensure_host_net, host_is_up, host_json, link_exists, start_host, veth_names, wait_port

BRIDGES = ((MGMT_BRIDGE, MGMT_GW), (STORAGE_BRIDGE, STORAGE_GW))


# ---------------------------------------------------------------- keys and certificates
def ensure_keys(paths: Paths, hosts: tuple[str, ...]) -> None:
    paths.ssh.mkdir(parents=True, exist_ok=True)
    os.chmod(paths.ssh, 0o700)
    if not paths.client_key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "proxmox-ha-lab", "-f", str(paths.client_key)])
    pub = Path(str(paths.client_key) + ".pub").read_text().strip()
    paths.authorized_keys.write_text(pub + "\n")
    for h in (*hosts, *DEBIAN_HOSTS):
        for kind in ("ed25519", "rsa"):  # PVE's cluster-wide known_hosts carry the RSA key
            k = paths.host_key(h, kind)
            if not k.exists():
                run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"root@{h}", "-f", str(k)])
        if h in DEBIAN_HOSTS:
            continue
        crt = paths.ssh / f"pve-ssl.{h}.pem"
        key = paths.ssh / f"pve-ssl.{h}.key"
        if not crt.exists() or not key.exists():
            run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-days", "3650", "-subj", f"/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN={h}.{DOMAIN}",
                 "-addext", f"subjectAltName=DNS:{h},DNS:{h}.{DOMAIN},IP:{mgmt_addr(h)},IP:127.0.0.1",
                 "-keyout", str(key), "-out", str(crt)])
    lines = []
    for h in (*hosts, *DEBIAN_HOSTS):
        hk = " ".join(Path(str(paths.host_key(h)) + ".pub").read_text().split()[:2])
        names = [h, f"{h}.{DOMAIN}", mgmt_addr(h)] + ([storage_addr(h)] if h not in DEBIAN_HOSTS else [])
        if ssh_port(h) != 22:  # known_hosts names a host on another port as [name]:port
            names = [f"[{n}]:{ssh_port(h)}" for n in names]
        lines.append(f"{','.join(names)} {hk}")
    paths.known_hosts.write_text("\n".join(lines) + "\n")


def host_pubkey(paths: Paths, name: str) -> str:
    return " ".join(Path(str(paths.host_key(name)) + ".pub").read_text().split()[:2])


def cert_fingerprint(paths: Paths, name: str) -> str:
    out = run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
               str(paths.ssh / f"pve-ssl.{name}.pem")]).stdout.strip()
    return out.split("=", 1)[1]


# ---------------------------------------------------------------- shared /etc/pve and shims
def ensure_pve_dir(paths: Paths, hosts: tuple[str, ...]) -> None:
    pve = paths.pve
    for d in ("priv", "priv/storage", "ha", "nodes", "sdn", "firewall", "virtual-guest"):
        (pve / d).mkdir(parents=True, exist_ok=True)
    os.chmod(pve / "priv", 0o700)
    # This lab's identity, new with every /etc/pve: a stack whose state describes an earlier lab is stale.
    if not paths.lab_id.exists():
        paths.lab_id.write_text(uuid.uuid4().hex + "\n")
    for h in hosts:
        nd = pve / "nodes" / h
        for d in ("qemu-server", "lxc", "openvz", "priv"):
            (nd / d).mkdir(parents=True, exist_ok=True)
        for ext in ("pem", "key"):
            dst = nd / f"pve-ssl.{ext}"
            if not dst.exists():
                shutil.copyfile(paths.ssh / f"pve-ssl.{h}.{ext}", dst)
    # The guest the lab stack puts under HA: VM 100 on the first host, as a config only (no KVM here).
    # pve1 forms the cluster, which a host with guests may do; joining hosts must have none.
    guest = pve / "nodes" / hosts[0] / "qemu-server" / f"{LAB_GUEST}.conf"
    if not any((pve / "nodes").glob(f"*/qemu-server/{LAB_GUEST}.conf")):
        guest.write_text("memory: 512\nname: lab-guest\nostype: l26\n")
    sc = pve / "storage.cfg"
    if not sc.exists():
        sc.write_text("dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\n")
    dc = pve / "datacenter.cfg"
    if not dc.exists():
        dc.write_text("keyboard: en-us\n")
    for f in ("user.cfg",):
        p = pve / f
        if not p.exists():
            p.write_text("user:root@pam:1:0:::root@localhost::\n\n")


def write_shims(paths: Paths) -> None:
    """STATE/bin: every shim, for PVE hosts; STATE/bin-debian: Debian's own commands only, for the Debian hosts."""
    paths.bin.mkdir(parents=True, exist_ok=True)
    paths.bin_debian.mkdir(parents=True, exist_ok=True)
    modules = {"pvecm": "pvecm", "pveceph": "pveceph", "pvesm": "pvesm", "ha-manager": "ha_manager",
               "systemctl": "systemctl", "pvenode": "pvenode", "pveum": "pveum", "pvesh": "pvesh", "qm": "qm", "apt-get": "apt", "apt": "apt",
               "dpkg-query": "apt", "pveversion": "pveversion",
               "pmxcfs": "pmxcfs", "killall": "killall", "pve8to9": "pve8to9", "reboot": "reboot", "ceph": "ceph"}
    entries = {"dpkg-query": "dpkg_query_main"}
    for name in SHIMS:
        for folder in (paths.bin, paths.bin_debian) if name in DEBIAN_SHIMS else (paths.bin,):
            p = folder / name
            p.write_text(
                "#!/usr/bin/python3\n"
                f"# proxmox-ha lab shim for `{name}` (see lab/README.md)\n"
                "import sys\n"
                f"sys.path.insert(0, {str(REPO_ROOT)!r})\n"
                f"from lab.shims.{modules[name]} import {entries.get(name, 'main')} as main\n"
                "sys.exit(main(sys.argv[1:]))\n")
            p.chmod(0o755)


# ---------------------------------------------------------------- network
def ensure_bridges() -> None:
    for br, gw in BRIDGES:
        if not link_exists(br):
            run(["ip", "link", "add", br, "type", "bridge"])
        # Bridged lab traffic must not pass through the machine's iptables (br_netfilter).
        run(["ip", "link", "set", br, "type", "bridge", "nf_call_iptables", "0",
             "nf_call_ip6tables", "0", "nf_call_arptables", "0"], check=False)
        run(["ip", "addr", "replace", f"{gw}/24", "dev", br])
        run(["ip", "link", "set", br, "up"])


def _start_in_host(paths: Paths, name: str, label: str, argv: list[str]) -> None:
    """A long-lived lab process inside the host's namespaces (so /etc/pve and /run are the host's)."""
    pidfile = paths.host_pids(name) / f"{label}.pid"
    pid = read_pid(pidfile)
    if pid and pid_alive(pid):
        return
    sshd = read_pid(paths.sshd_pidfile(name))
    logf = open(paths.logs / f"{name}-{label}.log", "ab")
    p = subprocess.Popen(
        ["nsenter", "-t", str(sshd), "-m", "-n", "-u", "-i", "--", "/usr/bin/python3", *argv],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    logf.close()
    pidfile.write_text(f"{p.pid}\n")


def start_api(paths: Paths, name: str) -> None:
    """The PVE API emulation (lab/api) on MGMT:8006."""
    _start_in_host(paths, name, "api", [
        "-m", "lab.api", "serve", "--pve-dir", "/etc/pve", "--node", name, "--listen", f"{mgmt_addr(name)}:8006",
        "--cert", f"/etc/pve/nodes/{name}/pve-ssl.pem", "--key", f"/etc/pve/nodes/{name}/pve-ssl.key"])


def start_pmxcfs(paths: Paths, name: str) -> None:
    """pve-cluster, as a booting node starts it: `systemctl start pve-cluster` in the host (lab/shims/pmxcfs.py)."""
    done = run(["nsenter", "-t", str(sshd_pid(paths, name)), "-m", "-n", "-u", "-i", "--",
                "/usr/local/sbin/systemctl", "start", "pve-cluster"], check=False)
    if done.returncode != 0:
        log(f"{name}: systemctl start pve-cluster failed: {(done.stdout + done.stderr).strip()}")


def start_ha(paths: Paths, name: str) -> None:
    """pve-ha-crm and pve-ha-lrm (lab/hamanager.py): the CRM and the LRM of this host."""
    _start_in_host(paths, name, "ha", ["-m", "lab.hamanager"])


def api_token(paths: Paths) -> str:
    """root@pam's privsep=0 token for the stack's secret apiToken (idempotent: the same token every time)."""
    from .api.auth import bootstrap_token

    return bootstrap_token(paths.pve, "root@pam", "pulumi")


# ---------------------------------------------------------------- lab.json
def write_lab_json(paths: Paths, hosts: tuple[str, ...]) -> dict:
    data = {
        "version": 1,
        "state_dir": str(paths.root),
        "cluster_name": CLUSTER_NAME,
        "ssh": {
            "user": "root",
            "private_key": str(paths.client_key),
            "public_key": str(paths.client_key) + ".pub",
            "known_hosts": str(paths.known_hosts),
        },
        "networks": {
            "management": {"cidr": MGMT_NET, "gateway": MGMT_GW, "bridge": MGMT_BRIDGE},
            "storage": {"cidr": STORAGE_NET, "gateway": STORAGE_GW, "bridge": STORAGE_BRIDGE},
        },
        # root@pam's API token (the stack's secret apiToken) is kept in a 0600 file, not in here.
        "api": {"endpoint": f"https://{mgmt_addr(hosts[0])}:8006/", "token_file": str(paths.root / "api-token")},
        "hosts": [],
        "pbs": pbs.describe(paths),
        # A Debian machine for corosync-qnetd (not a PVE node): root over SSH with the lab's key.
        "qnetd": {"name": QNETD_HOST, "management_address": mgmt_addr(QNETD_HOST), "ssh_port": ssh_port(QNETD_HOST),
                  "host_key": host_pubkey(paths, QNETD_HOST), "sshd_pid": read_pid(paths.sshd_pidfile(QNETD_HOST))},
        # A Debian machine for Prometheus and Alertmanager (Debian's packages): root over SSH with the lab's key.
        "monitor": {"name": MONITOR_HOST, "management_address": mgmt_addr(MONITOR_HOST), "ssh_port": ssh_port(MONITOR_HOST),
                    "host_key": host_pubkey(paths, MONITOR_HOST), "sshd_pid": read_pid(paths.sshd_pidfile(MONITOR_HOST))},
    }
    token_file = paths.root / "api-token"
    token_file.touch(mode=0o600)
    token_file.write_text(api_token(paths) + "\n")
    for h in hosts:
        data["hosts"].append({
            "name": h,
            "management_address": mgmt_addr(h),
            "storage_address": storage_addr(h),
            "management_port": "eno1",
            "storage_port": "eno2",
            "ssh_port": 22,
            "host_key": host_pubkey(paths, h),
            "api_fingerprint": cert_fingerprint(paths, h),
            "osd_disks": ["/dev/sdb"],
            "sshd_pid": read_pid(paths.sshd_pidfile(h)),
        })
    tmp = paths.lab_json.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(paths.lab_json)
    return data


def ensure_wheelhouse(paths: Paths) -> None:
    """The wheels a node's pip may install (the exporter, at the version this checkout's venv has), kept across down."""
    try:
        wanted = f"prometheus-pve-exporter=={metadata.version('prometheus-pve-exporter')}"
    except metadata.PackageNotFoundError:
        log("wheelhouse: prometheus-pve-exporter is not in this Python; nodes' pip will find nothing to install")
        return
    stamp = paths.wheels / ".requirement"
    if stamp.exists() and stamp.read_text() == wanted:
        return
    paths.wheels.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--dest", str(paths.wheels), wanted])
    stamp.write_text(wanted)


# ---------------------------------------------------------------- up / down
def up(paths: Paths | None = None, count: int | None = None, pve: int | None = None) -> dict:
    """Start the lab's hosts, or grow a running lab to `count` hosts (the new ones are bare, as installed, with
    PVE `pve`: 9 for a new lab unless asked for 8)."""
    paths = paths or Paths()
    if install_mod.missing():
        install_mod.install()
    t0 = time.time()
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.hosts.mkdir(exist_ok=True)
    before = lab_hosts(paths) if paths.host_count.exists() else ()
    count = count or len(before) or DEFAULT_HOST_COUNT
    if not len(before) <= count <= len(ALL_HOSTS):
        raise SystemExit(f"lab up --hosts {count}: the lab has {len(before)} hosts and grows up to {len(ALL_HOSTS)}; "
                         "it never shrinks (retire nodes with the program, or `lab down` to start afresh)")
    if pve is not None and paths.pve_major.exists() and lab_major(paths) != pve:
        raise SystemExit(f"lab up --pve {pve}: this lab installs PVE {lab_major(paths)}; `lab down` first to start "
                         "afresh (a running cluster is upgraded by the program, not by the lab)")
    paths.pve_major.write_text(f"{pve or lab_major(paths)}\n")
    paths.host_count.write_text(f"{count}\n")
    hosts = lab_hosts(paths)
    ensure_keys(paths, hosts)
    ensure_wheelhouse(paths)
    ensure_pve_dir(paths, hosts)
    write_shims(paths)
    ensure_bridges()
    started = []
    for h in (*hosts, *DEBIAN_HOSTS):
        if host_is_up(paths, h):
            ensure_host_net(h)
            continue
        if netns_exists(h) or paths.host(h).exists():
            # A host that went down comes back as a rebooted machine would: its disk and files kept.
            log(f"{h}: down, restarting it with its disk and files")
            stop_host_processes(paths, [h])
            _cleanup_host(paths, h, keep_files=True)
        started.append((h, start_host(paths, h, hosts)))
    for h, pid in started:
        if not wait_port(mgmt_addr(h), ssh_port(h), 15):
            tail = (paths.logs / f"{h}-sshd.log").read_text()[-2000:]
            raise SystemExit(f"lab up: sshd of {h} (pid {pid}) did not come up:\n{tail}")
    if len(hosts) > len(before):
        publish_hosts(paths, hosts)
    booted = {h for h, _ in started}
    for h in hosts:
        start_api(paths, h)
        if h in booted:  # a running host's pve-cluster is its own business (stopped, or `pmxcfs -l` holds /etc/pve)
            start_pmxcfs(paths, h)
        start_ha(paths, h)
    pbs.up(paths)
    for h in hosts:
        if not wait_port(mgmt_addr(h), 8006, 15):
            tail = (paths.logs / f"{h}-api.log").read_text()[-2000:]
            raise SystemExit(f"lab up: the API emulation of {h} did not come up on {mgmt_addr(h)}:8006:\n{tail}")
    data = write_lab_json(paths, hosts)
    log(f"up: PVE {lab_major(paths)} lab, {len(started)} host(s) started, {len(hosts) + len(DEBIAN_HOSTS) - len(started)} already up "
        f"({time.time() - t0:.1f}s); lab.json at {paths.lab_json}")
    return data


def publish_hosts(paths: Paths, hosts: tuple[str, ...]) -> None:
    """A grown lab: every host's /etc/lab-host.json (the lab's name service) lists the new hosts too. Written
    from inside each host: its /etc is a mounted overlay. /etc/hosts stays as it is: that is the program's."""
    for h in hosts:
        done = run(["nsenter", "-t", str(sshd_pid(paths, h)), "-m", "--", "python3", "-c",
                    "import sys; open('/etc/lab-host.json', 'w').write(sys.stdin.read())"],
                   input=host_json(paths, h, hosts), check=False)
        if done.returncode != 0:
            raise SystemExit(f"lab up: could not update /etc/lab-host.json on {h}: {done.stderr.strip()}")


def host_pidfiles(paths: Paths, name: str) -> list[Path]:
    d = paths.host_pids(name)
    return sorted(d.glob("*.pid")) if d.exists() else []


def stop_host_processes(paths: Paths, names) -> None:
    """Stop every process of the given hosts by PID: service pidfiles first, then sshd,
    then anything else still inside the host's network namespace."""
    import signal
    targets: list[int] = []
    for h in names:
        for pf in host_pidfiles(paths, h):
            if pf.name == "sshd.pid":
                continue
            pid = read_pid(pf)
            if pid and pid_alive(pid):
                targets.append(pid)
    _terminate(targets)
    targets = []
    for h in names:
        pid = read_pid(paths.sshd_pidfile(h))
        if pid and pid_alive(pid):
            targets.append(pid)
        targets += [p for p in netns_pids(h) if p not in targets]
    _terminate(targets)
    for h in names:  # last sweep: anything still in the namespace
        left = [p for p in netns_pids(h) if pid_alive(p)]
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _terminate(pids: list[int], timeout: float = 3.0) -> None:
    import signal
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    wait_until(lambda: not any(pid_alive(p) for p in pids), timeout)
    for p in pids:
        if pid_alive(p):
            kill_pid(p, 0)


def down_host(paths: Paths, name: str) -> None:
    stop_host_processes(paths, [name])
    _cleanup_host(paths, name)


def _cleanup_host(paths: Paths, name: str, keep_files: bool = False) -> None:
    if netns_exists(name):
        run(["ip", "netns", "del", netns(name)], check=False)
    for v in veth_names(name):
        if link_exists(v):
            run(["ip", "link", "del", v], check=False)
    img = paths.disk(name)
    devs = set()
    lf = paths.loopfile(name)
    if lf.exists():
        d = lf.read_text().strip()
        if d.startswith("/dev/loop"):
            devs.add(d)
    if img.exists():
        for line in run(["losetup", "-j", str(img)], check=False).stdout.splitlines():
            devs.add(line.split(":", 1)[0])
    for d in sorted(devs):
        run(["losetup", "-d", d], check=False)
    hd = paths.host(name)
    if hd.exists():
        # a mount left by a stray process would keep files busy; lazily detach ours only
        for sub in ("dev",):
            if os.path.ismount(hd / sub):
                run(["umount", "-l", str(hd / sub)], check=False)
        if not keep_files:
            shutil.rmtree(hd, ignore_errors=True)
    if not keep_files:
        img.unlink(missing_ok=True)


def down(paths: Paths | None = None) -> None:
    paths = paths or Paths()
    t0 = time.time()
    every = (*ALL_HOSTS, *DEBIAN_HOSTS)  # every host a grown lab may have
    stop_host_processes(paths, every)
    pbs.down(paths, _terminate)
    for h in every:
        _cleanup_host(paths, h)
    for br, _ in BRIDGES:
        if link_exists(br):
            run(["ip", "link", "del", br], check=False)
    for p in (paths.pve, paths.bin, paths.bin_debian, paths.disks, paths.hosts, paths.root / "pbs"):
        shutil.rmtree(p, ignore_errors=True)
    paths.lab_json.unlink(missing_ok=True)
    paths.host_count.unlink(missing_ok=True)
    paths.pve_major.unlink(missing_ok=True)
    (paths.root / ceph_release.REQUIRE_NAME).unlink(missing_ok=True)
    log(f"down: done ({time.time() - t0:.1f}s)")
