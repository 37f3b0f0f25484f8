"""The OSD step's `ceph-volume lvm list` branch, run as the shell remote/ceph_steps builds, with a fake ceph-volume.

The lab cannot run LVM OSDs (no device-mapper in its hosts), so its OSDs take the raw-mode branch of the
in-use check. This proves the other branch: a fake `ceph-volume` on PATH prints what the real one prints
and exits as it does, for a device with an OSD (the report, status 0) and without one (an error, status 1).

Captured from Ceph's source (ceph/ceph):
- the reports: doc/ceph-volume/lvm/list.rst @ 08848af7c94739706c1d95748cb5b276f8e32f88, "Single Reporting"
  (`ceph-volume lvm list /dev/sdd1`) and "json output" (`ceph-volume lvm list --format=json test_group/data-lv1`);
- the exits: src/ceph-volume/ceph_volume/devices/lvm/listing.py @ 91edc2aae7d9a40fdd1004c76b7c8f71a826fd40,
  `List.list`: an empty pretty report is `raise SystemExit('No valid Ceph lvm devices found')` (the message on
  stderr, status 1); an empty json report prints `{}` with status 0, as
  src/ceph-volume/ceph_volume/tests/devices/lvm/test_listing.py @ 009e9dcebf6e13b6fb66bc0368c907d0b988d127
  (`test_empty_device_json_zero_exit_status`) asserts.
"""
from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from remote import ceph_steps

PRETTY_REPORT = """
====== osd.0 =======

  [journal]    /dev/sdd1

      PARTUUID                  cd72bd28-002a-48da-bdf6-d5b993e84f3f
"""

JSON_REPORT = """{
    "0": [
        {
            "devices": ["/dev/sda"],
            "lv_name": "data-lv1",
            "lv_path": "/dev/test_group/data-lv1",
            "lv_tags": "ceph.cluster_fsid=ce454d91-d748-4751-a318-ff7f7aa18ffd,ceph.data_device=/dev/test_group/data-lv1,ceph.data_uuid=TUpfel-Q5ZT-eFph-bdGW-SiNW-l0ag-f5kh00,ceph.journal_device=/dev/sdd1,ceph.journal_uuid=cd72bd28-002a-48da-bdf6-d5b993e84f3f,ceph.osd_fsid=943949f0-ce37-47ca-a33c-3413d46ee9ec,ceph.osd_id=0,ceph.type=data",
            "lv_uuid": "TUpfel-Q5ZT-eFph-bdGW-SiNW-l0ag-f5kh00",
            "name": "data-lv1",
            "path": "/dev/test_group/data-lv1",
            "tags": {
                "ceph.cluster_fsid": "ce454d91-d748-4751-a318-ff7f7aa18ffd",
                "ceph.data_device": "/dev/test_group/data-lv1",
                "ceph.data_uuid": "TUpfel-Q5ZT-eFph-bdGW-SiNW-l0ag-f5kh00",
                "ceph.journal_device": "/dev/sdd1",
                "ceph.journal_uuid": "cd72bd28-002a-48da-bdf6-d5b993e84f3f",
                "ceph.osd_fsid": "943949f0-ce37-47ca-a33c-3413d46ee9ec",
                "ceph.osd_id": "0",
                "ceph.type": "data"
            },
            "type": "data",
            "vg_name": "test_group"
        }
    ]
}"""

NO_DEVICES = "No valid Ceph lvm devices found"

# `ceph-volume lvm list [--format json|pretty] [DEVICE]` as listing.py answers it. The OSD exists once
# $STATE/osd exists (the fake pveceph creates it).
FAKE_CEPH_VOLUME = r"""#!/bin/bash
echo "ceph-volume $*" >> "$STATE/calls"
[ "$1 $2" = "lvm list" ] || { echo "fake ceph-volume: only 'lvm list' here" >&2; exit 2; }
shift 2
format=pretty
while [ $# -gt 0 ]; do
  case "$1" in --format) format=$2; shift 2 ;; --format=*) format=${1#--format=}; shift ;; *) shift ;; esac
done
if [ -e "$STATE/osd" ]; then
  if [ "$format" = json ]; then cat "$STATE/json"; else cat "$STATE/pretty"; fi
  exit 0
fi
if [ "$format" = json ]; then echo '{}'; exit 0; fi
echo "$NO_DEVICES" >&2
exit 1
"""

FAKE_PVECEPH = r"""#!/bin/bash
echo "pveceph $*" >> "$STATE/calls"
[ "$1 $2" = "osd create" ] && touch "$STATE/osd"
exit 0
"""

FAKE_BLKID = r"""#!/bin/bash
echo "blkid $*" >> "$STATE/calls"
exit 2
"""


class FakeNode:
    def __init__(self, root: Path):
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        (root / "pretty").write_text(PRETTY_REPORT.lstrip("\n"))
        (root / "json").write_text(JSON_REPORT + "\n")
        for name, body in (("ceph-volume", FAKE_CEPH_VOLUME), ("pveceph", FAKE_PVECEPH), ("blkid", FAKE_BLKID)):
            (self.bin / name).write_text(body)
            (self.bin / name).chmod(0o755)
        self.env = {**os.environ, "PATH": f"{self.bin}:{os.environ['PATH']}", "STATE": str(root),
                    "NO_DEVICES": NO_DEVICES}

    def has_osd(self) -> None:
        (self.root / "osd").touch()

    def sh(self, script: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=self.env, timeout=60)

    def calls(self) -> list[str]:
        path = self.root / "calls"
        return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def node(tmp_path):
    return FakeNode(tmp_path)


def test_fake_answers_as_ceph_volume_does(node):
    empty = node.sh("ceph-volume lvm list /dev/sdb")
    assert (empty.returncode, empty.stdout, empty.stderr) == (1, "", NO_DEVICES + "\n")
    assert node.sh("ceph-volume lvm list --format json /dev/sdb").stdout == "{}\n"
    node.has_osd()
    listed = node.sh("ceph-volume lvm list /dev/sdd1")
    assert listed.returncode == 0 and "====== osd.0 =======" in listed.stdout
    assert '"ceph.osd_id": "0"' in node.sh("ceph-volume lvm list --format=json test_group/data-lv1").stdout


def _check(step) -> str:
    """The check exactly as the step's script runs it."""
    return f"set -euo pipefail\nif {{\n{step.check.strip()}\n}} >/dev/null; then echo in-use; else echo free; fi"


def test_check_sees_an_lvm_osd_on_the_disk(node):
    node.has_osd()
    result = node.sh(_check(ceph_steps.osd("pve1", "/dev/sdb", wipe=False)))
    assert result.stdout == "in-use\n", result.stderr
    assert node.calls() == ["ceph-volume lvm list /dev/sdb"]


def test_check_sees_a_disk_without_an_osd(node):
    result = node.sh(_check(ceph_steps.osd("pve1", "/dev/sdb", wipe=False)))
    assert result.stdout == "free\n", result.stderr
    assert node.calls() == ["ceph-volume lvm list /dev/sdb"]


def test_check_reads_the_exit_status_of_the_pretty_format():
    # `--format json` exits 0 for a device without an OSD too (it prints {}), so the check must not use it.
    check = ceph_steps.osd("pve1", "/dev/sdb", wipe=False).check
    assert "ceph-volume lvm list /dev/sdb" in check and "--format" not in check


def test_step_skips_a_disk_with_an_lvm_osd(node):
    node.has_osd()
    result = node.sh(ceph_steps.osd("pve1", "/dev/sdb", wipe=False).script())
    assert result.returncode == 0 and "already done, skipped" in result.stderr
    assert not any(call.startswith("pveceph") for call in node.calls())


def test_step_creates_the_osd_and_ceph_volume_then_lists_it(node, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to make a block device node")
    disk = tmp_path / "sdb"  # a block device node that is never opened: the step only tests `-b`
    os.mknod(disk, stat.S_IFBLK | 0o600, os.makedev(7, 255))
    result = node.sh(ceph_steps.osd("pve1", str(disk), wipe=False).script())
    assert result.returncode == 0, result.stderr
    calls, listing = node.calls(), f"ceph-volume lvm list {disk}"
    created = calls.index(f"pveceph osd create {disk}")
    # the check found no OSD before `pveceph osd create`, the verification finds it after
    assert calls[0] == listing and calls[created + 1:] and set(calls[created + 1:]) == {listing}
