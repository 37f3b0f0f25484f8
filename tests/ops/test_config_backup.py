"""Tests for ops/config-backup/proxmox-config-backup.sh, run for real against a fake ROOT tree."""

from __future__ import annotations

import configparser
import fcntl
import os
import re
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DIR = REPO / "ops" / "config-backup"
SCRIPT = DIR / "proxmox-config-backup.sh"
HOST = "pvetest"
ARCHIVE_RE = re.compile(rf"^{HOST}-config-\d{{8}}-\d{{6}}\.tar\.gz$")
SECRET = "S3CRET-corosync-authkey-material"

FAKE_CEPH = """#!/bin/sh
echo "$*" >> "$FAKE_CEPH_LOG"
case "$*" in
  *"config dump"*) echo "WHO MASK LEVEL OPTION VALUE RO"; echo "global advanced osd_pool_default_size 3";;
  *"osd tree"*) echo "ID CLASS WEIGHT TYPE NAME STATUS"; echo "-1 0.29 root default"; echo " 0 ssd 0.09 osd.0 up";;
  *) echo "fake ceph: unexpected args: $*" >&2; exit 22;;
esac
"""


def _exe(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def env(tmp_path):
    root = tmp_path / "root"
    files = {
        "etc/pve/corosync.conf": "totem { cluster_name: pvec }\n",
        "etc/pve/storage.cfg": "rbd: ceph-vm\n",
        "etc/pve/priv/authkey.key": SECRET + "\n",
        "etc/pve/nodes/pve1/qemu-server/100.conf": "memory: 2048\n",
        "etc/corosync/corosync.conf": "totem { cluster_name: pvec }\n",
        "etc/corosync/authkey": SECRET + "\n",
        "etc/ceph/ceph.conf": "[global]\nfsid = 0000\n",
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    _exe(bindir / "ceph", FAKE_CEPH)
    out = tmp_path / "backups"
    textfile = tmp_path / "textfile"
    textfile.mkdir()
    e = {
        "PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        "ROOT": str(root),
        "BACKUP_DIR": str(out),
        "TEXTFILE_DIR": str(textfile),
        "BACKUP_HOSTNAME": HOST,
        "FAKE_CEPH_LOG": str(tmp_path / "ceph.log"),
        "TMPDIR": str(tmp_path),
    }
    return {"env": e, "root": root, "bin": bindir, "out": out, "textfile": textfile, "tmp": tmp_path}


def run(env, *args, extra=None):
    e = dict(env["env"])
    e.update(extra or {})
    return subprocess.run(["bash", str(SCRIPT), *args], env=e, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120)


def archives(out: Path):
    return sorted(p for p in out.iterdir() if ARCHIVE_RE.match(p.name)) if out.exists() else []


def members(archive: Path):
    res = subprocess.run(["tar", "-tzf", str(archive)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout.splitlines()


def read_member(archive: Path, name: str) -> str:
    with tarfile.open(archive, "r:gz") as tf:
        return tf.extractfile(name).read().decode()


def restricted_path(tmp_path: Path, without=("ceph", "rclone")) -> str:
    """A PATH with only the tools the script needs (so ceph/rclone are really absent)."""
    d = tmp_path / "minbin"
    d.mkdir(exist_ok=True)
    for tool in ("bash", "sh", "tar", "gzip", "find", "date", "mktemp", "mkdir", "chmod", "rm", "mv", "stat",
                 "sort", "tail", "cut", "grep", "sed", "head", "hostname", "uname", "timeout", "basename",
                 "cat", "env", "sleep"):
        if tool in without:
            continue
        src = shutil.which(tool)
        if src and not (d / tool).exists():
            (d / tool).symlink_to(src)
    return str(d)


# ---------------------------------------------------------------------------
def test_bash_syntax():
    res = subprocess.run(["bash", "-n", str(SCRIPT)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert res.returncode == 0, res.stdout
    assert "set -euo pipefail" in SCRIPT.read_text()


def test_shellcheck():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed (apt-get install shellcheck)")
    res = subprocess.run(["shellcheck", str(SCRIPT)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert res.returncode == 0, res.stdout


def test_backup_creates_verified_archive(env):
    res = run(env)
    assert res.returncode == 0, res.stderr
    arcs = archives(env["out"])
    assert len(arcs) == 1, list(env["out"].iterdir())
    arc = arcs[0]
    assert stat.S_IMODE(arc.stat().st_mode) == 0o600
    assert stat.S_IMODE(env["out"].stat().st_mode) == 0o700
    # no temporary files left behind (only the lock file besides the archive)
    assert sorted(p.name for p in env["out"].iterdir()) in ([arc.name], sorted([arc.name, ".proxmox-config-backup.lock"]))
    assert not list(env["tmp"].glob("proxmox-config-backup.*"))

    subprocess.run(["gzip", "-t", str(arc)], check=True)
    names = members(arc)
    for expected in ("etc/pve/corosync.conf", "etc/pve/storage.cfg", "etc/pve/priv/authkey.key",
                     "etc/pve/nodes/pve1/qemu-server/100.conf", "etc/corosync/corosync.conf",
                     "etc/corosync/authkey", "etc/ceph/ceph.conf",
                     "proxmox-config-backup/MANIFEST.txt",
                     "proxmox-config-backup/ceph-config-dump.txt",
                     "proxmox-config-backup/ceph-osd-tree.txt"):
        assert expected in names, (expected, names)
    assert "proxmox-config-backup/ceph-UNAVAILABLE.txt" not in names
    assert "osd_pool_default_size" in read_member(arc, "proxmox-config-backup/ceph-config-dump.txt")
    assert "osd.0" in read_member(arc, "proxmox-config-backup/ceph-osd-tree.txt")
    assert read_member(arc, "etc/corosync/authkey").strip() == SECRET
    manifest = read_member(arc, "proxmox-config-backup/MANIFEST.txt")
    assert f"host: {HOST}" in manifest
    assert "member: etc/pve" in manifest and "member: etc/ceph" in manifest

    calls = (env["tmp"] / "ceph.log").read_text()
    assert "config dump" in calls and "osd tree" in calls
    # secrets are archived, never printed
    assert SECRET not in res.stdout + res.stderr
    assert "verified" in res.stderr

    # the standalone verify subcommand accepts it
    v = run(env, "verify", str(arc))
    assert v.returncode == 0, v.stderr
    assert "OK" in v.stderr


def test_missing_source_dirs_are_skipped(env):
    shutil.rmtree(env["root"] / "etc" / "ceph")
    res = run(env)
    assert res.returncode == 0, res.stderr
    (arc,) = archives(env["out"])
    names = members(arc)
    assert "etc/pve/corosync.conf" in names
    assert not any(n.startswith("etc/ceph") for n in names)
    assert "absent: etc/ceph" in read_member(arc, "proxmox-config-backup/MANIFEST.txt")


def test_ceph_failure_is_recorded_not_fatal(env):
    _exe(env["bin"] / "ceph", "#!/bin/sh\necho 'monclient: authenticate NOTE: no keyring found' >&2\nexit 1\n")
    res = run(env)
    assert res.returncode == 0, res.stderr
    (arc,) = archives(env["out"])
    names = members(arc)
    assert "proxmox-config-backup/ceph-UNAVAILABLE.txt" in names
    assert "proxmox-config-backup/ceph-config-dump.txt" not in names
    text = read_member(arc, "proxmox-config-backup/ceph-UNAVAILABLE.txt")
    assert "ceph config dump" in text and "no keyring" in text
    assert run(env, "verify", str(arc)).returncode == 0


def test_ceph_not_installed(env):
    res = run(env, extra={"PATH": restricted_path(env["tmp"])})
    assert res.returncode == 0, res.stderr
    (arc,) = archives(env["out"])
    text = read_member(arc, "proxmox-config-backup/ceph-UNAVAILABLE.txt")
    assert "not installed" in text


def test_hanging_ceph_times_out(env):
    _exe(env["bin"] / "ceph", "#!/bin/sh\nexec sleep 60\n")
    res = run(env, extra={"CEPH_TIMEOUT": "1"})
    assert res.returncode == 0, res.stderr
    (arc,) = archives(env["out"])
    assert "timed out" in read_member(arc, "proxmox-config-backup/ceph-UNAVAILABLE.txt")


def _touch(path: Path, when: str):
    path.write_text("x")
    subprocess.run(["touch", "-d", when, str(path)], check=True)


def test_retention_deletes_only_old_own_archives(env):
    out = env["out"]
    out.mkdir()
    old = [out / f"{HOST}-config-20200101-000000.tar.gz", out / f"{HOST}-config-20200102-030405.tar.gz"]
    for p in old:
        _touch(p, "20 days ago")
    recent = out / f"{HOST}-config-20200103-000000.tar.gz"
    _touch(recent, "2 days ago")
    unrelated = [out / "notes.txt", out / "otherhost-config-20200101-000000.tar.gz",
                 out / f"{HOST}-config-latest.tar.gz", out / f"{HOST}-config-20200101-000000.tar.gz.bak",
                 out / f"{HOST}-config-20200101-000000.tar"]
    for p in unrelated:
        _touch(p, "20 days ago")
    subdir = out / "keep"
    subdir.mkdir()
    nested = subdir / f"{HOST}-config-20200101-000000.tar.gz"
    _touch(nested, "20 days ago")

    res = run(env)
    assert res.returncode == 0, res.stderr
    for p in old:
        assert not p.exists(), p
    assert recent.exists()
    for p in unrelated + [nested]:
        assert p.exists(), p
    assert len(archives(out)) == 2  # recent + the new one
    assert "deleted" in res.stderr

    # a shorter retention via the prune subcommand also removes the 2-day-old one
    res = run(env, "prune", extra={"RETENTION_DAYS": "1"})
    assert res.returncode == 0, res.stderr
    assert not recent.exists()
    assert len(archives(out)) == 1
    for p in unrelated:
        assert p.exists(), p


def test_verify_detects_corruption(env):
    assert run(env).returncode == 0
    (good,) = archives(env["out"])
    data = good.read_bytes()

    truncated = env["tmp"] / "truncated.tar.gz"
    truncated.write_bytes(data[: len(data) // 2])
    flipped = env["tmp"] / "flipped.tar.gz"
    b = bytearray(data)
    for i in range(len(b) // 3, len(b) // 3 + 16):
        b[i] ^= 0xFF
    flipped.write_bytes(bytes(b))
    not_gzip = env["tmp"] / "plain.tar.gz"
    not_gzip.write_text("this is not an archive\n")

    for bad in (truncated, flipped, not_gzip):
        res = run(env, "verify", str(bad))
        assert res.returncode != 0, bad
        assert "FAILED" in res.stderr
    assert "not a valid gzip" in run(env, "verify", str(truncated)).stderr

    missing = run(env, "verify", str(env["tmp"] / "nope.tar.gz"))
    assert missing.returncode != 0 and "does not exist" in missing.stderr


def test_verify_detects_missing_members(env, tmp_path):
    # valid gzip+tar, but without the MANIFEST
    foreign = tmp_path / "foreign.tar.gz"
    subprocess.run(["tar", "-czf", str(foreign), "-C", str(env["root"]), "etc/pve"], check=True)
    res = run(env, "verify", str(foreign))
    assert res.returncode != 0 and "MANIFEST" in res.stderr

    # MANIFEST promises etc/ceph, which is not in the archive
    stage = tmp_path / "stage"
    (stage / "proxmox-config-backup").mkdir(parents=True)
    (stage / "proxmox-config-backup" / "MANIFEST.txt").write_text(
        "member: proxmox-config-backup/MANIFEST.txt\nmember: etc/pve\nmember: etc/ceph\n")
    shutil.copytree(env["root"] / "etc" / "pve", stage / "etc" / "pve")
    partial = tmp_path / "partial.tar.gz"
    subprocess.run(["tar", "-czf", str(partial), "-C", str(stage), "proxmox-config-backup", "etc/pve"], check=True)
    res = run(env, "verify", str(partial))
    assert res.returncode != 0
    assert "lacks expected member 'etc/ceph'" in res.stderr


def test_textfile_metrics(env):
    res = run(env)
    assert res.returncode == 0, res.stderr
    prom = (env["textfile"] / "proxmox_ha_config_backup.prom").read_text()
    # node_exporter reads the directory as user prometheus; the archives' umask 077 must not reach this file.
    assert (env["textfile"] / "proxmox_ha_config_backup.prom").stat().st_mode & 0o777 == 0o644
    assert "proxmox_ha_config_backup_success 1" in prom
    (arc,) = archives(env["out"])
    m = re.search(r"^proxmox_ha_config_backup_last_success_timestamp_seconds (\d+)$", prom, re.M)
    assert m and int(m.group(1)) == int(arc.stat().st_mtime)
    assert f"proxmox_ha_config_backup_size_bytes {arc.stat().st_size}" in prom
    if shutil.which("promtool"):
        chk = subprocess.run(["promtool", "check", "metrics"], input=prom, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        assert chk.returncode == 0, chk.stdout
    # every name written is one the alert rules may use
    names = set(re.findall(r"^(proxmox_ha_[a-z_]+) ", prom, re.M))
    import importlib.util
    spec = importlib.util.spec_from_file_location("km", REPO / "monitoring" / "known_metrics.py")
    km = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(km)
    assert names == set(km.CONFIG_BACKUP_METRICS)


def test_no_sources_fails_clearly(env, tmp_path):
    empty = tmp_path / "empty-root"
    empty.mkdir()
    res = run(env, extra={"ROOT": str(empty)})
    assert res.returncode == 1
    assert "none of /etc/pve, /etc/corosync, /etc/ceph exists" in res.stderr
    assert "Is this a Proxmox VE node" in res.stderr
    assert archives(env["out"]) == []
    prom = (env["textfile"] / "proxmox_ha_config_backup.prom").read_text()
    assert "proxmox_ha_config_backup_success 0" in prom


def test_concurrent_run_is_refused(env):
    if shutil.which("flock") is None:
        pytest.skip("flock (util-linux) not installed")
    env["out"].mkdir()
    # The other run's lock, held here (flock(2), as flock(1) takes it): held before the script starts, however
    # slowly a loaded machine runs a `flock ... sleep` helper.
    with open(env["out"] / ".proxmox-config-backup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        res = run(env)
    assert res.returncode == 1
    assert "another proxmox-config-backup run holds" in res.stderr
    assert archives(env["out"]) == []


def test_bad_settings_fail_clearly(env):
    res = run(env, extra={"RETENTION_DAYS": "two weeks"})
    assert res.returncode == 1 and "RETENTION_DAYS must be a whole number" in res.stderr
    res = run(env, "frobnicate")
    assert res.returncode == 1 and "unknown command" in res.stderr
    res = run(env, "verify")
    assert res.returncode == 1 and "usage" in res.stderr


def test_rclone_absent_is_skipped(env):
    res = run(env, extra={"RCLONE_REMOTE": "offsite:pve", "PATH": restricted_path(env["tmp"])})
    assert res.returncode == 0, res.stderr
    assert "rclone is not installed" in res.stderr
    assert len(archives(env["out"])) == 1


def test_rclone_copy(env):
    log = env["tmp"] / "rclone.log"
    _exe(env["bin"] / "rclone", f'#!/bin/sh\necho "$@" >> "{log}"\n')
    res = run(env, extra={"RCLONE_REMOTE": "offsite:pve/config", "RCLONE_FLAGS": "--transfers 1"})
    assert res.returncode == 0, res.stderr
    (arc,) = archives(env["out"])
    assert log.read_text().split() == ["copy", "--transfers", "1", "--", str(arc), "offsite:pve/config"]

    # no RCLONE_REMOTE: rclone not called
    log.unlink()
    assert run(env).returncode == 0
    assert not log.exists()


def test_rclone_failure_keeps_local_archive_and_fails(env):
    _exe(env["bin"] / "rclone", "#!/bin/sh\necho 'Failed to copy: 403' >&2\nexit 1\n")
    res = run(env, extra={"RCLONE_REMOTE": "offsite:pve"})
    assert res.returncode == 2
    assert "rclone copy" in res.stderr and "local archive is kept" in res.stderr
    assert len(archives(env["out"])) == 1
    prom = (env["textfile"] / "proxmox_ha_config_backup.prom").read_text()
    assert "proxmox_ha_config_backup_success 0" in prom


# ---------------------------------------------------------------------------
def _unit(name):
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read(DIR / name)
    return cp


def test_systemd_units():
    svc = _unit("proxmox-config-backup.service")
    assert svc["Service"]["Type"] == "oneshot"
    assert svc["Service"]["ExecStart"].split()[0].endswith("/proxmox-config-backup.sh")
    timer = _unit("proxmox-config-backup.timer")
    assert timer["Timer"]["OnCalendar"] == "daily"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["RandomizedDelaySec"]
    assert timer["Timer"]["Unit"] == "proxmox-config-backup.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    for name in ("proxmox-config-backup.service", "proxmox-config-backup.timer"):
        text = (DIR / name).read_text()
        # ExecStart must exist for verify; point it at the script in the repo
        text = text.replace("/usr/local/sbin/proxmox-config-backup.sh", str(SCRIPT))
        (tmp_path / name).write_text(text)
    res = subprocess.run(["systemd-analyze", "verify", "--man=no",
                          str(tmp_path / "proxmox-config-backup.timer"),
                          str(tmp_path / "proxmox-config-backup.service")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert res.returncode == 0, res.stdout
    assert "proxmox-config-backup" not in res.stdout, res.stdout


def test_a_large_etc_pve_is_verified(env):
    """A cluster with many guests lists more than a pipe holds (64 KiB): the verification must still find etc/pve,
    the listing's first line, however early its search stops."""
    nodes = env["root"] / "etc/pve/nodes/pve1/qemu-server"
    for vmid in range(1000, 4000):
        (nodes / f"{vmid}.conf").write_text("memory: 2048\n")
    res = run(env)
    assert res.returncode == 0, res.stderr
    assert len(members(archives(env["out"])[0])) > 3000
