"""POST/PUT /storage check a section as pve-storage does (lab/pve/storage_plugins.py): the type's plugin
decides which content types it takes (Plugin.pm decode_value), which options it has and which of them are
fixed or required (pve-common SectionConfig.pm check_config, called by API2/Storage/Config.pm)."""
from __future__ import annotations

import pytest

from lab.shims import pvelib


@pytest.fixture(params=[8, 9])
def api(request):
    """The lab API on PVE 8 and on PVE 9: (lab, major)."""
    return request.getfixturevalue("lab" if request.param == 8 else "lab9"), request.param


def section(lab, sid):
    return next((s for s in pvelib.read_sections(lab.pve / "storage.cfg") if s[1] == sid), None)


def test_content_types_the_type_does_not_allow_are_dropped_and_none_left_is_refused(api, tmp_path):
    lab, _ = api
    c = lab.client()
    rbd = {"storage": "ceph-vm", "type": "rbd", "pool": "vm-storage"}
    # rbd takes images and rootdir only: backup alone leaves nothing, which rbd does not allow ('none')
    assert c.post("/storage", {**rbd, "content": "backup"})[:2] == (500, "storage does not support content type 'none'")
    assert section(lab, "ceph-vm") is None
    # backup next to images is dropped (PVE warns), images kept
    assert c.post("/storage", {**rbd, "content": "images,backup"})[0] == 200
    assert section(lab, "ceph-vm")[2]["content"] == "images"
    assert c.get("/storage/ceph-vm")[2]["data"]["content"] == "images"
    status, reason, _ = c.put("/storage/ceph-vm", {"content": "backup"})
    assert (status, reason) == (500, "update storage failed: storage does not support content type 'none'")
    assert section(lab, "ceph-vm")[2]["content"] == "images"
    assert c.put("/storage/ceph-vm", {"content": "rootdir,backup,images"})[0] == 200
    assert section(lab, "ceph-vm")[2]["content"] == "rootdir,images"
    # a content type PVE does not know at all is the schema's format error (pve-storage-content-list)
    status, _, body = c.post("/storage", {**rbd, "storage": "ceph-x", "content": "images,foo"})
    assert status == 400 and body["errors"] == {"content": "invalid format - invalid content type 'foo'"}
    # dir takes backup, and 'none' (alone only)
    dump = {"storage": "dump", "type": "dir", "path": str(tmp_path / "dump")}
    assert c.post("/storage", {**dump, "content": "backup"})[0] == 200
    assert section(lab, "dump")[2]["content"] == "backup"
    status, reason, _ = c.put("/storage/dump", {"content": "none,backup"})
    assert (status, reason) == (500, "update storage failed: unable to combine 'none' with other content types")
    assert c.put("/storage/dump", {"content": "none"})[0] == 200
    assert section(lab, "dump")[2]["content"] == "none"
    # pbs takes backup or none: images is dropped and nothing left is 'none', which pbs allows
    assert c.post("/storage", {"storage": "pbs1", "type": "pbs", "server": "h", "datastore": "d",
                               "content": "images", "disable": "1"})[0] == 200
    assert section(lab, "pbs1")[2]["content"] == "none"


def test_default_content_is_the_plugins(api):
    lab, _ = api
    c = lab.client()
    assert c.post("/storage", {"storage": "lvm1", "type": "lvm", "vgname": "vg"})[0] == 200
    assert c.post("/storage", {"storage": "thin1", "type": "lvmthin", "vgname": "vg", "thinpool": "tp"})[0] == 200
    got = {s["storage"]: s["content"] for s in c.get("/storage")[2]["data"]}
    assert (got["lvm1"], got["thin1"]) == ("images", "images,rootdir")


def test_options_the_type_does_not_have_are_refused(api, tmp_path):
    lab, major = api
    c = lab.client()
    rbd = {"storage": "ceph-vm", "type": "rbd", "pool": "vm-storage"}
    # not the type's option: SectionConfig check_value, before the lock (no "create storage failed")
    assert c.post("/storage", {**rbd, "path": "/srv"})[:2] == (500, "unexpected property 'path'")
    assert c.post("/storage", {**rbd, "password": "x"})[:2] == (500, "unexpected property 'password'")
    assert c.post("/storage", rbd)[0] == 200
    assert c.put("/storage/ceph-vm", {"shared": "1"})[:2] == (500, "update storage failed: unexpected property 'shared'")
    # required ones
    assert c.post("/storage", {"storage": "d1", "type": "dir"})[:2] == (500, "missing value for required option 'path'")
    assert c.post("/storage", {"storage": "t1", "type": "lvmthin", "vgname": "vg"})[:2] == \
        (500, "missing value for required option 'thinpool'")
    # lvm's options the lab did not know
    assert c.post("/storage", {"storage": "lvm1", "type": "lvm", "vgname": "vg", "saferemove_throughput": "1048576",
                               "tagged_only": "1"})[0] == 200
    dump = {"storage": "dump", "type": "dir", "path": str(tmp_path / "dump")}
    if major == 8:
        # maxfiles went with PVE 9; snapshot-as-volume-chain came with it
        assert c.post("/storage", {**dump, "maxfiles": "3"})[0] == 200
        assert section(lab, "dump")[2]["maxfiles"] == "3"
        status, _, body = c.put("/storage/dump", {"snapshot-as-volume-chain": "1"})
        assert status == 400 and "snapshot-as-volume-chain" in body["errors"]
    else:
        status, _, body = c.post("/storage", {**dump, "maxfiles": "3"})
        assert status == 400 and "maxfiles" in body["errors"]
        assert c.post("/storage", {**rbd, "storage": "r2", "snapshot-as-volume-chain": "1"})[:2] == \
            (500, "unexpected property 'snapshot-as-volume-chain'")
        assert c.post("/storage", {**dump, "snapshot-as-volume-chain": "1"})[0] == 200


def test_fixed_options_cannot_change_or_go(api, tmp_path):
    lab, major = api
    c = lab.client()
    assert c.post("/storage", {"storage": "tank", "type": "zfspool", "pool": "tank"})[0] == 200
    assert c.put("/storage/tank", {"pool": "other"})[:2] == \
        (500, "update storage failed: can't change value of fixed parameter 'pool'")
    assert c.put("/storage/tank", {"delete": "pool"})[:2] == (500, "update storage failed: unable to delete required option 'pool'")
    assert c.post("/storage", {"storage": "lvm1", "type": "lvm", "vgname": "vg", "base": "iscsi:0.0.1.scsi"})[0] == 200
    # base is fixed but optional: not required, yet neither changed nor deleted
    assert c.put("/storage/lvm1", {"delete": "base"})[:2] == (500, "update storage failed: unable to delete fixed option 'base'")
    assert c.put("/storage/lvm1", {"delete": "nope"})[:2] == (500, "update storage failed: no such option 'nope'")
    assert c.put("/storage/lvm1", {"delete": "saferemove", "saferemove": "1"})[:2] == \
        (500, "update storage failed: cannot set and delete property 'saferemove' at the same time!")
    if major == 9:
        # fixed on dir/nfs/cifs, not on lvm (pve-storage 9.1)
        assert c.put("/storage/lvm1", {"snapshot-as-volume-chain": "1"})[0] == 200
        assert c.post("/storage", {"storage": "dump", "type": "dir", "path": str(tmp_path / "dump"),
                                   "snapshot-as-volume-chain": "1"})[0] == 200
        assert c.put("/storage/dump", {"snapshot-as-volume-chain": "0"})[:2] == \
            (500, "update storage failed: can't change value of fixed parameter 'snapshot-as-volume-chain'")
        assert c.put("/storage/dump", {"delete": "snapshot-as-volume-chain"})[:2] == \
            (500, "update storage failed: unable to delete fixed option 'snapshot-as-volume-chain'")
    assert section(lab, "lvm1")[2]["base"] == "iscsi:0.0.1.scsi"


def test_cephfs_storage(api):
    lab, _ = api
    c = lab.client()
    cfs = {"storage": "cfs", "type": "cephfs", "path": "/mnt/pve/cfs"}
    assert c.post("/storage", {**cfs, "content": "images"})[:2] == (500, "storage does not support content type 'none'")
    assert c.post("/storage", {"storage": "cfs", "type": "cephfs"})[:2] == (500, "missing value for required option 'path'")
    assert c.post("/storage", {**cfs, "content": "backup,iso,images", "keyring": "AQB=="})[0] == 200
    assert section(lab, "cfs") == ["cephfs", "cfs", {"path": "/mnt/pve/cfs", "content": "backup,iso"}]
    # PVE::CephConfig::ceph_create_keyfile: cephfs keeps a .secret
    assert (lab.pve / "priv" / "ceph" / "cfs.secret").read_text() == "AQB==\n"
