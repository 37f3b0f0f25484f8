"""/cluster/backup (vzdump jobs in jobs.cfg) and /cluster/backup-info/not-backed-up: PVE's API2/Backup.pm and
API2/BackupInfo.pm."""
from __future__ import annotations

import uuid

from . import schema
from . import store
from .core import fail, param_fail, typed

JOBS_LOCK = "file-jobs_cfg"


def _job_entry(api, jid, opts):
    props = schema.config_props("POST", "/cluster/backup", api.major)
    e = typed(opts, props)
    for k in ("fleecing", "performance", "prune-backups"):
        if k in opts:
            try:
                e[k] = schema.parse_property_string(schema.format_of(props[k]), opts[k], k, api.major)
            except ValueError:
                pass
    e.update(id=jid, type="vzdump")
    return e


def _vzdump_checks(job, check_missing):
    if job.get("all") == "1" and job.get("vmid"):
        param_fail({"all": "option conflicts with option 'vmid'"})
    if job.get("exclude") and job.get("vmid"):
        param_fail({"exclude": "option conflicts with option 'vmid'"})
    if job.get("pool") and job.get("vmid"):
        param_fail({"pool": "option conflicts with option 'vmid'"})
    if check_missing and not (job.get("all") == "1" or job.get("stop") == "1" or job.get("pool")) \
            and not job.get("vmid"):
        param_fail({"vmid": "property is missing"})


def _schedule_param(p, required):
    if "schedule" in p:
        if "starttime" in p:
            param_fail({"starttime": "'starttime' and 'schedule' cannot both be set"})
    elif "starttime" not in p:
        if required:
            param_fail({"schedule": "neither 'starttime' nor 'schedule' were set"})
    else:
        dow = ",".join(schema.split_list(p.get("dow", "")))
        p["schedule"] = p["starttime"] if not dow or dow == "mon,tue,wed,thu,fri,sat,sun" else f"{dow} {p['starttime']}"
    p.pop("starttime", None)
    p.pop("dow", None)


def _vzdump_root_only(ident, p):
    if ident.authid != "root@pam":  # PVE compares the auth id: tokens of root are not root here
        for k in schema.VZDUMP_ROOT_ONLY:
            if k in p:
                param_fail({k: "Only root may set this option."})


# ---------------------------------------------------------------- handlers
def list_jobs(api, ident, p):
    return [_job_entry(api, i, o) for t, i, o in api.store.sections("jobs.cfg") if t == "vzdump"]


def get_job(api, ident, p):
    for t, i, o in api.store.sections("jobs.cfg"):
        if t == "vzdump" and i == p["id"]:
            return _job_entry(api, i, o)
    param_fail({"id": f"No such job '{p['id']}'"})


def create_job(api, ident, p):
    _vzdump_root_only(ident, p)
    if p.get("storage") and ident.userid != "root@pam":
        api.check(ident, f"/storage/{p['storage']}", "Datastore.Allocate")
    _schedule_param(p, True)
    p.setdefault("enabled", "1")
    jid = p.pop("id", None) or str(uuid.uuid4())
    with api.store.lock(JOBS_LOCK):
        secs = api.store.sections("jobs.cfg")
        if any(i == jid for _, i, _ in secs):
            fail(f"Job '{jid}' already exists")
        _vzdump_checks(p, True)
        if p.get("exclude") and not p.get("pool"):
            p["all"] = "1"
        secs.append(["vzdump", jid, store.order_options(p)])
        api.store.write_sections("jobs.cfg", secs)


def update_job(api, ident, p):
    jid = p.pop("id")
    delete = schema.split_list(p.pop("delete", "") or "")
    _vzdump_root_only(ident, p)
    _schedule_param(p, False)
    with api.store.lock(JOBS_LOCK):
        secs = api.store.sections("jobs.cfg")
        if not p and not delete:
            fail("no options specified")
        _vzdump_checks(p, False)
        sec = next((s for s in secs if s[1] == jid and s[0] == "vzdump"), None)
        if sec is None:
            fail("no such vzdump job")
        job = dict(sec[2])
        for k in delete:
            if k not in schema.vzdump_job_keys(api.major):
                param_fail({"delete": f"unknown option '{k}'"})
            job.pop(k, None)
        job.update(p)
        if job.get("exclude") and not job.get("pool"):
            job["all"] = "1"
        if "vmid" in p:
            for k in ("all", "exclude", "pool"):
                job.pop(k, None)
        elif p.get("all") == "1":
            job.pop("vmid", None)
            job.pop("pool", None)
        elif job.get("pool"):
            for k in ("vmid", "all", "exclude"):
                job.pop(k, None)
        _vzdump_checks(job, True)
        sec[2] = store.order_options(job)
        api.store.write_sections("jobs.cfg", secs)


def delete_job(api, ident, p):
    jid = p["id"]
    with api.store.lock(JOBS_LOCK):
        secs = api.store.sections("jobs.cfg")
        if not any(i == jid for _, i, _ in secs):
            param_fail({"id": f"No such job '{jid}'"})
        api.store.write_sections("jobs.cfg", [s for s in secs if s[1] != jid])


def not_backed_up(api, ident, p):
    # no guests in the lab: the guests are the HA resources' VMIDs
    guests = {int(i): ("qemu" if t == "vm" else "lxc") for t, i, _ in api.store.sections("ha/resources.cfg")
              if i.isdigit()}
    included = set()
    for t, i, o in api.store.sections("jobs.cfg"):
        if t != "vzdump":
            continue
        if o.get("all") == "1":
            excl = {int(v) for v in schema.split_list(o.get("exclude", "")) if v.isdigit()}
            included |= {v for v in guests if v not in excl}
        for v in schema.split_list(o.get("vmid", "")):
            if v.isdigit():
                included.add(int(v))
    return [{"vmid": v, "type": guests[v]} for v in sorted(guests) if v not in included]

