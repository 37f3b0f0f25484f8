"""Storage (pbs/dir/rbd), backup jobs (jobs.cfg), cluster options, status endpoints."""
from collections import OrderedDict

from lab.common import CLUSTER_NAME
from lab.shims import pvelib, pvesm

FP = ":".join(["AB"] * 32)


def test_pbs_storage_password_kept_secret(lab, pbs, monkeypatch):
    c = lab.client()
    status, _, body = c.post("/storage", pbs.storage())
    assert status == 200 and body["data"] == {"storage": "pbs-backup", "type": "pbs"}
    assert (lab.pve / "priv" / "storage" / "pbs-backup.pw").read_text() == "s3cret\n"
    text = (lab.pve / "storage.cfg").read_text()
    assert "s3cret" not in text and "pbs: pbs-backup\n\tdatastore lab-backups\n\tserver 127.0.0.1\n" in text
    got = c.get("/storage/pbs-backup")[2]["data"]
    assert "password" not in got and got["shared"] == 1 and got["fingerprint"] == pbs.fingerprint
    assert "s3cret" not in str(c.get("/storage")[2])
    # pvesm's parser reads the file
    monkeypatch.setattr(pvesm, "STORAGE_CFG", lab.pve / "storage.cfg")
    secs = {sid: (t, o) for t, sid, o in pvesm.read_cfg()}
    assert secs["pbs-backup"] == ("pbs", OrderedDict([("datastore", "lab-backups"), ("server", "127.0.0.1"),
                                                      ("content", "backup"), ("fingerprint", pbs.fingerprint),
                                                      ("port", str(pbs.port)), ("username", "backup@pbs")]))
    # fixed options cannot change; others can
    status, reason, _ = c.put("/storage/pbs-backup", {"server": "10.0.0.1"})
    assert status == 500 and "can't change value of fixed parameter 'server'" in reason
    assert c.put("/storage/pbs-backup", {"password": "n3w", "disable": "1"})[0] == 200
    assert (lab.pve / "priv" / "storage" / "pbs-backup.pw").read_text() == "n3w\n"
    assert "\tdisable\n" in (lab.pve / "storage.cfg").read_text()
    assert c.get("/storage/pbs-backup")[2]["data"]["disable"] == 1
    assert c.delete("/storage/pbs-backup")[0] == 200
    assert not (lab.pve / "priv" / "storage" / "pbs-backup.pw").exists()
    status, reason, _ = c.get("/storage/pbs-backup")
    assert (status, reason) == (500, "storage 'pbs-backup' does not exist")


def test_pbs_storage_is_activated_on_create_as_pve_does(lab, pbs):
    """PBSPlugin::activate_storage: log in over TLS with the pinned fingerprint, find the datastore."""
    c = lab.client()
    prefix = "create storage failed: pbs-backup: "
    refusals = {
        "no server": (pbs.storage(port="1"), f"{prefix}error fetching datastores - 500 Can't connect to 127.0.0.1:1 (Connection refused)"),
        "wrong fingerprint": (pbs.storage(fingerprint=FP), f"{prefix}error fetching datastores - fingerprint '{pbs.fingerprint}' not verified, abort!"),
        "no fingerprint": ({k: v for k, v in pbs.storage().items() if k != "fingerprint"}, f"{prefix}error fetching datastores - fingerprint '{pbs.fingerprint}' not verified, abort!"),
        "wrong password": (pbs.storage(password="wrong"), f"{prefix}error fetching datastores - 401 authentication failure"),
        "missing datastore": (pbs.storage(datastore="other"), f"{prefix}Cannot find datastore 'other', check permissions and existence!"),
    }
    for case, (params, message) in refusals.items():
        status, reason, _ = c.post("/storage", params)
        assert (status, reason) == (500, message), case
    assert "pbs-backup" not in (lab.pve / "storage.cfg").read_text()
    assert not (lab.pve / "priv" / "storage" / "pbs-backup.pw").exists()
    # A storage disabled, or not for this node, is saved without contacting the server (as PVE does).
    assert c.post("/storage", pbs.storage(storage="elsewhere", port="1", nodes="pve2"))[0] == 200
    assert c.post("/storage", pbs.storage())[0] == 200


def test_storage_validation(lab, tmp_path):
    c = lab.client()
    status, _, body = c.post("/storage", {"storage": "x", "type": "pbs"})
    assert status == 400 and "storage" in body["errors"]
    status, _, body = c.post("/storage", {"storage": "s1", "type": "ceph"})
    assert body["errors"]["type"].startswith("value 'ceph' does not have a value in the enumeration")
    status, reason, _ = c.post("/storage", {"storage": "s1", "type": "pbs", "server": "h", "datastore": "d",
                                            "shared": "1"})
    # the plugin's check_config runs before the storage.cfg lock: no "create storage failed: " (Config.pm create)
    assert (status, reason) == (500, "unexpected property 'shared'")
    status, reason, _ = c.post("/storage", {"storage": "s1", "type": "pbs", "server": "h"})
    assert (status, reason) == (500, "missing value for required option 'datastore'")
    assert c.post("/storage", {"storage": "vm-storage", "type": "rbd", "pool": "vm-storage",
                               "content": "images,rootdir", "krbd": "0"})[0] == 200
    assert c.post("/storage", {"storage": "dump", "type": "dir", "path": str(tmp_path / "dump"),
                               "content": "backup"})[0] == 200
    assert (tmp_path / "dump").is_dir()
    status, reason, _ = c.post("/storage", {"storage": "dump", "type": "dir", "path": "/x"})
    assert (status, reason) == (500, "create storage failed: storage ID 'dump' already defined")
    assert [s["storage"] for s in c.get("/storage", {"type": "rbd"})[2]["data"]] == ["vm-storage"]
    secs = pvelib.read_sections(lab.pve / "storage.cfg")
    assert [s[:2] for s in secs] == [["dir", "local"], ["rbd", "vm-storage"], ["dir", "dump"]]


def test_backup_jobs(lab):
    c = lab.client()
    status, _, body = c.post("/cluster/backup", {"id": "nightly", "schedule": "0 2 * * *", "storage": "local",
                                                 "all": "1"})
    assert status == 400 and list(body["errors"]) == ["schedule"]
    status, _, body = c.post("/cluster/backup", {"id": "nightly", "schedule": "02:00", "storage": "local",
                                                 "mode": "snapshot", "compress": "zstd", "all": "1",
                                                 "mailnotification": "failure", "mailto": "ops@example.com"})
    assert status == 200
    secs = pvelib.read_sections(lab.pve / "jobs.cfg")
    assert secs[0][:2] == ["vzdump", "nightly"]
    assert secs[0][2]["schedule"] == "02:00" and secs[0][2]["enabled"] == "1" and secs[0][2]["all"] == "1"
    job = c.get("/cluster/backup/nightly")[2]["data"]
    assert (job["id"], job["type"], job["schedule"], job["all"], job["compress"]) == ("nightly", "vzdump", "02:00", 1,
                                                                                       "zstd")
    status, _, body = c.post("/cluster/backup", {"id": "j2", "schedule": "daily", "storage": "local",
                                                 "mode": "hibernate", "all": "1"})
    assert status == 400 and "mode" in body["errors"]
    status, _, body = c.post("/cluster/backup", {"id": "j2", "schedule": "daily", "storage": "local"})
    assert status == 400 and body["errors"] == {"vmid": "property is missing"}
    status, _, body = c.post("/cluster/backup", {"id": "j2", "schedule": "daily", "storage": "local", "all": "1",
                                                 "vmid": "100"})
    assert body["errors"] == {"all": "option conflicts with option 'vmid'"}
    assert c.put("/cluster/backup/nightly", {"vmid": "100,101", "delete": "mailto"})[0] == 200
    job = c.get("/cluster/backup/nightly")[2]["data"]
    assert job["vmid"] == "100,101" and "all" not in job and "mailto" not in job
    status, _, body = c.get("/cluster/backup/nope")
    assert status == 400 and body["errors"] == {"id": "No such job 'nope'"}
    assert c.delete("/cluster/backup/nightly")[0] == 200
    assert c.get("/cluster/backup")[2]["data"] == []


def test_calendar_events():
    from lab.api.calendar_event import parse_calendar_event
    for ok in ("02:00", "daily", "mon..fri 08:00", "sat 2:30", "*/15", "mon,wed,fri 22:00", "*-*-01 03:00",
               "2025-01-01", "Sat *-1..7 15:00", "mon..fri 8..17,22:0/15", "fri 12..13:5/20", "hourly", "*",
               "12,14,16:05", "sun 01:00 UTC", "weekly"):
        parse_calendar_event(ok)
    import pytest
    for bad in ("0 2 * * *", "*/5 * * * *", "", "61", "*/61", "0..80", "25:61", "mon 0 0"):
        with pytest.raises(ValueError):
            parse_calendar_event(bad)


def test_not_backed_up(lab):
    c = lab.client()
    c.post("/cluster/ha/resources", {"sid": "vm:100"})
    c.post("/cluster/ha/resources", {"sid": "ct:200"})
    assert c.get("/cluster/backup-info/not-backed-up")[2]["data"] == [{"vmid": 100, "type": "qemu"},
                                                                     {"vmid": 200, "type": "lxc"}]
    c.post("/cluster/backup", {"id": "job1", "schedule": "02:00", "vmid": "100", "storage": "local"})
    assert c.get("/cluster/backup-info/not-backed-up")[2]["data"] == [{"vmid": 200, "type": "lxc"}]


def test_cluster_options(lab):
    c = lab.client()
    assert c.put("/cluster/options", {"ha": "shutdown_policy=migrate", "migration": "type=secure,network=10.254.100.0/24",
                                      "description": "lab"})[0] == 200
    text = (lab.pve / "datacenter.cfg").read_text()
    assert "ha: shutdown_policy=migrate\n" in text and text.startswith("#lab\n")
    opts = c.get("/cluster/options")[2]["data"]
    assert opts["ha"] == {"shutdown_policy": "migrate"}
    assert opts["migration"] == {"type": "secure", "network": "10.254.100.0/24"}
    assert opts["keyboard"] == "en-us" and opts["description"] == "lab\n"
    status, _, body = c.put("/cluster/options", {"ha": "shutdown_policy=sometimes"})
    assert status == 400 and "shutdown_policy" in body["errors"]["ha"]
    assert c.put("/cluster/options", {"delete": "ha,keyboard"})[0] == 200
    opts = c.get("/cluster/options")[2]["data"]
    assert "ha" not in opts and "keyboard" not in opts


def test_cluster_status_follows_quorum_hook(lab):
    c = lab.client()
    st = c.get("/cluster/status")[2]["data"]
    assert st[0] == {"type": "cluster", "id": "cluster", "name": CLUSTER_NAME, "nodes": 3, "version": 3,
                     "quorate": 1}
    assert [(n["name"], n["online"], n["local"]) for n in st[1:]] == [("pve1", 1, 1), ("pve2", 1, 0),
                                                                     ("pve3", 1, 0)]
    lab.quorum["quorate"] = False
    st = c.get("/cluster/status")[2]["data"]
    assert st[0]["quorate"] == 0
    assert [(n["name"], n["online"]) for n in st[1:]] == [("pve1", 1), ("pve2", 0), ("pve3", 0)]
    status, _, _ = c.get("/nodes/pve2/status")
    assert status == 595
    assert c.get("/nodes/pve9/status")[0] == 500


def test_exporter_endpoints(lab):
    c = lab.client()
    assert [(g["vmid"], g["name"], g["status"]) for g in c.get("/nodes/pve1/qemu")[2]["data"]] == [
        (100, "guest100", "stopped"), (101, "guest101", "stopped")]
    for path in ("/nodes/pve1/lxc", "/nodes/pve1/replication"):
        assert c.get(path)[2]["data"] == []
    assert [g["vmid"] for g in c.get("/nodes/pve2/lxc")[2]["data"]] == [200]
    guests = c.get("/cluster/resources", {"type": "vm"})[2]["data"]
    assert [(g["id"], g["node"]) for g in guests] == [("qemu/100", "pve1"), ("qemu/101", "pve1"), ("lxc/200", "pve2")]
    assert c.get("/nodes/pve1/subscription")[2]["data"]["status"] == "notfound"
    assert c.get("/cluster/config/qdevice")[2]["data"] == {}
    res = c.get("/cluster/resources", {"type": "storage"})[2]["data"]
    assert {r["id"] for r in res} == {"storage/pve1/local", "storage/pve2/local", "storage/pve3/local"}
    nodes = c.get("/cluster/resources", {"type": "node"})[2]["data"]
    assert all(n["status"] == "online" and n["maxmem"] > 0 for n in nodes)
    assert c.get("/nodes")[2]["data"][0]["ssl_fingerprint"].count(":") == 31


def test_unknown_paths_are_501(lab):
    c = lab.client()
    status, reason, _ = c.get("/cluster/ceph/status")
    assert (status, reason) == (501, "Method 'GET /cluster/ceph/status' not implemented")
    assert c.call("PATCH", "/version")[0] in (501, 405)
    assert c.delete("/version")[0] == 501


def test_guest_configs_as_the_exporter_reads_them(lab):
    c = lab.client()
    conf = c.get("/nodes/pve1/qemu/100/config")[2]["data"]
    assert (conf["name"], conf["memory"], len(conf["digest"])) == ("guest100", "512", 40)
    assert c.get("/nodes/pve2/lxc/200/config")[2]["data"]["name"] == "guest200"
    status, reason, _ = c.get("/nodes/pve2/qemu/100/config")
    assert (status, reason) == (500, "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist")
