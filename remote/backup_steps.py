"""PBS storage and vzdump jobs through PVE's own `pvesm` and `pvesh`, on one node (the objects are cluster-wide).

Not through pulumi-proxmoxve: its storage.Pbs and backup.Job panic right after PVE accepted the object
(muhlba91/pulumi-proxmoxve#967, "interface conversion: interface {} is nil, not int", in the plugin's
own ID override), which leaves the object in PVE and not in the state.
"""
from __future__ import annotations

import json
import shlex

from .step import Step

PBS_PORT = 8007
# Exits 0 when `pvesh get ... --output-format json` on stdin holds every key of the JSON in argv[1].
_MATCHES = (
    "import json, sys; got = json.load(sys.stdin); want = json.loads(sys.argv[1]);"
    " sys.exit(0 if all(str(got.get(k)) == str(v) for k, v in want.items()) else 1)"
)


def _holds(path: str, want: dict) -> str:
    return f"pvesh get {path} --output-format json 2>/dev/null | python3 -c {shlex.quote(_MATCHES)} {shlex.quote(json.dumps(want, sort_keys=True))}"


def _exists(path: str) -> str:
    return f"pvesh get {path} >/dev/null 2>&1"


def _options(values: dict) -> str:
    return " ".join(f"--{key} {shlex.quote(str(value))}" for key, value in values.items())


def _pbs_answers(server: str, fingerprint: str | None, key: str) -> str:
    """Before PVE is asked: the PBS answers over TLS from this node, with the pinned certificate."""
    address = f"{server}:{PBS_PORT}"
    lines = [
        f"actual=$(timeout 10 openssl s_client -connect {shlex.quote(address)} </dev/null 2>/dev/null"
        " | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2) || true",
        f"[ -n \"$actual\" ] || fail {shlex.quote(f'the PBS at {address} does not answer over TLS from this node; set up Proxmox Backup Server first (README: Before the first up), or fix {key}.server')}",
    ]
    if fingerprint:
        wrong = (f"the PBS at {address} presents fingerprint $actual, not {key}.fingerprint ({fingerprint.upper()}); "
                 "read it on the PBS with 'proxmox-backup-manager cert info'")
        lines.append(f"[ \"$actual\" = {fingerprint.upper()} ] || fail \"{wrong}\"")
    return "\n".join(lines)


def pbs_storage(node: str, storage: str, server: str, datastore: str, username: str,
                fingerprint: str | None, namespace: str | None, key: str) -> Step:
    """The `pbs` storage; its password arrives on the step's stdin and goes on to `pvesm`'s (a bare `--password`
    reads it there: pvesm.pm's param mapping, PVE::PTY::read_password), never onto a command line. PVE itself
    then logs in and finds the datastore."""
    path = f"/storage/{storage}"
    fixed = {"server": server, "datastore": datastore}
    changeable = {"username": username, "content": "backup"}
    changeable.update({k: v for k, v in (("fingerprint", fingerprint), ("namespace", namespace)) if v})
    same_password = f"[ \"$(cat /etc/pve/priv/storage/{storage}.pw 2>/dev/null)\" = \"$PBS_PASSWORD\" ]"
    moved = (f"storage '{storage}' exists with another server or datastore, which PVE cannot change; "
             f"remove it (pvesm remove {storage}) and re-run, or set {key} back")
    return Step(
        name=f"pbs-storage-{storage}",
        node=node,
        check=f"{_holds(path, {'type': 'pbs', **fixed, **changeable})} && {same_password}",
        act=(
            f"if {_exists(path)}; then\n"
            f"{_holds(path, fixed)} || fail {shlex.quote(moved)}\n"
            f"printf '%s\\n' \"$PBS_PASSWORD\" | pvesm set {storage} {_options(changeable)} --password\n"
            "else\n"
            f"{_pbs_answers(server, fingerprint, key)}\n"
            f"printf '%s\\n' \"$PBS_PASSWORD\" | pvesm add pbs {storage} {_options({**fixed, **changeable})} --password\n"
            "fi"
        ),
        verify=f"{_holds(path, {'type': 'pbs', **fixed, **changeable})} && {same_password}",
        secrets=("PBS_PASSWORD",),
        undo=f"if {_exists(path)}; then pvesh delete {path}; fi",
    )


def backup_job(node: str, job_id: str, settings: dict[str, str | int]) -> Step:
    """A vzdump job with `settings` (API names: schedule, storage, mode, ..., all or vmid); others unset."""
    path = f"/cluster/backup/{job_id}"
    unset = [k for k in ("all", "vmid", "mailto", "mailnotification") if k not in settings]
    delete = f" --delete {','.join(unset)}" if unset else ""
    return Step(
        name=f"backup-job-{job_id}",
        node=node,
        check=_holds(path, settings),
        act=(
            f"if {_exists(path)}; then\n"
            f"pvesh set {path} {_options(settings)}{delete}\n"
            "else\n"
            f"pvesh create /cluster/backup --id {job_id} {_options(settings)}\n"
            "fi"
        ),
        verify=_holds(path, settings),
        undo=f"if {_exists(path)}; then pvesh delete {path}; fi",
    )
