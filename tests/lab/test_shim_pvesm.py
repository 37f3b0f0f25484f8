"""`pvesm add/set` (lab/shims/pvesm.py) check a storage as PVE's POST/PUT /storage do, which pvesm runs
in-process (pve-storage src/PVE/API2/Storage/Config.pm): the API schema first, then the type's plugin
(lab/pve/storage_plugins.py: content types, options, fixed and required ones), unit level."""
from __future__ import annotations

import hashlib

import pytest

from lab.common import CLUSTER_NAME
from lab.shims import pvelib as L
from lab.shims import pvesm

from .conftest import quorate_pve1

COROSYNC = f"totem {{\n  cluster_name: {CLUSTER_NAME}\n}}\nnodelist {{\n  node {{\n    name: pve1\n    nodeid: 1\n  }}\n}}\n"


@pytest.fixture(params=[8, 9])
def pve(request, tmp_path, monkeypatch):
    """A temporary /etc/pve with a local dir storage, on PVE 8 and on PVE 9: (its path, the major)."""
    pve = quorate_pve1(tmp_path, monkeypatch, COROSYNC)
    monkeypatch.setattr(pvesm, "STORAGE_CFG", pve / "storage.cfg")
    monkeypatch.setenv("PROXMOX_HA_LAB_PVE_MAJOR", str(request.param))
    (pve / "storage.cfg").write_text("dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\n")
    return pve, request.param


def refused(cmd, argv, capsys) -> tuple[str, str]:
    """(error, the warnings before it) of a pvesm command that must fail with exit 255."""
    with pytest.raises(L.PVEError) as info:
        cmd(argv)
    assert info.value.code == 255
    return info.value.msg, capsys.readouterr().err


def section(sid):
    return next((s for s in pvesm.read_cfg() if s[1] == sid), None)


def test_rbd_with_backup_content_is_refused_and_backup_next_to_images_dropped(pve, capsys):
    rbd = ["rbd", "vm-storage", "--pool", "vm-storage", "--krbd", "0"]
    error, warnings = refused(pvesm.cmd_add, [*rbd, "--content", "backup"], capsys)
    assert error == "storage does not support content type 'none'"
    assert warnings == "storage does not support content type 'backup'\n"
    assert section("vm-storage") is None
    assert pvesm.cmd_add([*rbd, "--content", "images,backup"]) == 0
    assert capsys.readouterr().err == "storage does not support content type 'backup'\n"
    assert section("vm-storage") == ["rbd", "vm-storage", {"pool": "vm-storage", "krbd": "0", "content": "images"}]
    # pvesm set: the same, wrapped as PVE's update handler does
    error, warnings = refused(pvesm.cmd_set, ["vm-storage", "--content", "backup"], capsys)
    assert error == "update storage failed: storage does not support content type 'none'"
    assert warnings == "storage does not support content type 'backup'\n"
    assert section("vm-storage")[2]["content"] == "images"
    assert pvesm.cmd_set(["vm-storage", "--content", "backup,rootdir,images"]) == 0
    assert section("vm-storage")[2]["content"] == "rootdir,images"


def test_content_types_pve_does_not_know_are_the_schemas_format_error(pve, capsys):
    error, _ = refused(pvesm.cmd_add, ["rbd", "vm-storage", "--content", "images,foo"], capsys)
    assert error == ("400 Parameter verification failed.\ncontent: invalid format - invalid content type 'foo'\n"
                     "pvesm add <type> <storage> [OPTIONS]")
    error, _ = refused(pvesm.cmd_set, ["local", "--content", "bak"], capsys)
    assert error == ("400 Parameter verification failed.\ncontent: invalid format - invalid content type 'bak'\n"
                     "pvesm set <storage> [OPTIONS]")
    assert section("local")[2]["content"] == "iso,vztmpl,backup"


def test_dir_takes_backup_and_none_alone(pve, tmp_path, capsys):
    assert pvesm.cmd_add(["dir", "backups", "--path", str(tmp_path / "b"), "--content", "backup"]) == 0
    assert section("backups") == ["dir", "backups", {"path": str(tmp_path / "b"), "content": "backup"}]
    assert (tmp_path / "b").is_dir()
    error, _ = refused(pvesm.cmd_set, ["backups", "--content", "backup,none"], capsys)
    assert error == "update storage failed: unable to combine 'none' with other content types"
    assert pvesm.cmd_set(["backups", "--content", "none"]) == 0
    assert section("backups")[2]["content"] == "none"
    assert capsys.readouterr().err == ""


def test_options_the_type_does_not_have_and_required_ones(pve, tmp_path, capsys):
    error, _ = refused(pvesm.cmd_add, ["rbd", "vm-storage", "--path", "/srv"], capsys)
    assert error == "unexpected property 'path'"
    # PVE's check_config, not a schema error: every option is optional for some type
    assert refused(pvesm.cmd_add, ["dir", "d1"], capsys)[0] == "missing value for required option 'path'"
    assert refused(pvesm.cmd_add, ["pbs", "p1", "--server", "h"], capsys)[0] == \
        "missing value for required option 'datastore'"
    assert pvesm.cmd_add(["rbd", "vm-storage", "--pool", "vm-storage"]) == 0
    assert refused(pvesm.cmd_set, ["vm-storage", "--shared", "1"], capsys)[0] == \
        "update storage failed: unexpected property 'shared'"
    if pve[1] == 8:
        assert pvesm.cmd_add(["dir", "d8", "--path", str(tmp_path / "d8"), "--maxfiles", "2"]) == 0
    else:
        assert refused(pvesm.cmd_add, ["rbd", "r9", "--snapshot-as-volume-chain", "1"], capsys)[0] == \
            "unexpected property 'snapshot-as-volume-chain'"
    assert [s[1] for s in pvesm.read_cfg()] == ["local", "vm-storage"] + (["d8"] if pve[1] == 8 else [])


def test_fixed_options_cannot_change_or_go(pve, capsys):
    assert pvesm.cmd_add(["zfspool", "tank", "--pool", "tank"]) == 0
    assert refused(pvesm.cmd_set, ["tank", "--pool", "other"], capsys)[0] == \
        "update storage failed: can't change value of fixed parameter 'pool'"
    assert refused(pvesm.cmd_set, ["tank", "--delete", "pool"], capsys)[0] == \
        "update storage failed: unable to delete required option 'pool'"
    assert pvesm.cmd_add(["lvm", "vg1", "--vgname", "vg1", "--base", "iscsi:0.0.1.scsi", "--saferemove", "1"]) == 0
    assert refused(pvesm.cmd_set, ["vg1", "--delete", "base"], capsys)[0] == \
        "update storage failed: unable to delete fixed option 'base'"
    assert refused(pvesm.cmd_set, ["vg1", "--delete", "saferemove", "--saferemove", "0"], capsys)[0] == \
        "update storage failed: cannot set and delete property 'saferemove' at the same time!"
    assert refused(pvesm.cmd_set, ["vg1", "--delete", "nope"], capsys)[0] == "update storage failed: no such option 'nope'"
    assert pvesm.cmd_set(["vg1", "--delete", "saferemove", "--disable", "1"]) == 0
    assert section("vg1") == ["lvm", "vg1", {"vgname": "vg1", "base": "iscsi:0.0.1.scsi", "disable": "1"}]


def test_set_checks_the_digest_and_names_a_missing_storage_as_pve_does(pve, capsys):
    assert refused(pvesm.cmd_set, ["nope", "--disable", "1"], capsys)[0] == \
        "update storage failed: storage 'nope' does not exist"
    assert refused(pvesm.cmd_set, ["local", "--digest", "0" * 40, "--disable", "1"], capsys)[0] == \
        "update storage failed: detected modified configuration - file changed by other user? Try again."
    digest = hashlib.sha1((pve[0] / "storage.cfg").read_bytes()).hexdigest()
    assert pvesm.cmd_set(["local", "--digest", digest, "--disable", "1"]) == 0
    assert section("local") == ["dir", "local", {"path": "/var/lib/vz", "content": "iso,vztmpl,backup", "disable": "1"}]


def test_remove_names_a_missing_storage_as_pve_does(pve, capsys):
    """Config.pm delete: storage_config's error under lock_storage_config's "delete storage failed"."""
    assert refused(pvesm.cmd_remove, ["nope"], capsys)[0] == "delete storage failed: storage 'nope' does not exist"
    assert pvesm.cmd_remove(["local"]) == 0 and section("local") is None


def test_a_bare_password_is_read_from_stdin_as_pves_read_password_does(pve, capsys, monkeypatch):
    import io

    path, _ = pve
    (path / "storage.cfg").write_text("pbs: p1\n\tserver 10.0.0.5\n\tdatastore store\n\tusername backup@pbs\n\tcontent backup\n\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))
    assert pvesm.cmd_set(["p1", "--password"]) == 0
    assert (path / "priv" / "storage" / "p1.pw").read_text() == "s3cret\n"
    # A bare --password before another option is still bare (Getopt's `password:s`).
    monkeypatch.setattr("sys.stdin", io.StringIO("other\n"))
    assert pvesm.cmd_set(["p1", "--password", "--username", "backup@pbs"]) == 0
    assert (path / "priv" / "storage" / "p1.pw").read_text() == "other\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert refused(pvesm.cmd_set, ["p1", "--password"], capsys)[0] == "EOF while reading password"
