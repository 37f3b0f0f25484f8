"""Lab stand-in for `ceph` (/usr/local/sbin/ceph, ahead of Debian's /usr/bin/ceph on a lab host's PATH).

The lab's Ceph daemons are Debian's 16.2.15 (pacific) whatever release the host installed; the release is the lab's
record (lab/pve/ceph_release.py), and this stand-in reports it where the real commands report releases:
`ceph --version`/`-v`/`ceph version`, `ceph versions`, `ceph mon|mgr|osd metadata [WHO]`, `ceph osd dump`
(require_osd_release) and `ceph osd require-osd-release REL [--yes-i-really-mean-it]`, refused as OSDMonitor.cc
does. Everything else, and all of these where the lab has no record, is the real /usr/bin/ceph (exec'd, untouched).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

REAL = "/usr/bin/ceph"
# ceph.in's global options that take a value, and librados' usual ones (conf_parse_argv): never a command word.
VALUED = {"-c", "--conf", "-i", "--in-file", "-o", "--out-file", "--setuser", "--setgroup", "--id", "--user", "-n",
          "--name", "--cluster", "--admin-daemon", "-f", "--format", "--connect-timeout", "-p", "--period", "-m",
          "-k", "--keyring", "--keyfile", "--mon-host", "--log-file"}
# src/common/ceph_releases.h, from the oldest release `osd require-osd-release` takes (MonCommands.h's choices).
MAJORS = {"octopus": 15, "pacific": 16, "quincy": 17, "reef": 18, "squid": 19, "tentacle": 20}
DEBIAN_MAJOR = 16  # what a daemon without the lab's record runs
FIELD = re.compile(r'"(ceph_release|ceph_version_short|ceph_version)"(\s*:\s*)"[^"]*"')
EPERM, EINVAL = 1, 22


def split(argv: list[str]) -> tuple[list[str], list[str], str | None]:
    """(command words, the other arguments in order, the output format)."""
    words, others, fmt, i = [], [], None, 0
    while i < len(argv):
        arg = argv[i]
        if arg in VALUED and i + 1 < len(argv):
            others += argv[i:i + 2]
            fmt = argv[i + 1] if arg in ("-f", "--format") else fmt
            i += 2
            continue
        if arg.startswith("--format="):
            fmt = arg.split("=", 1)[1]
        (others if arg.startswith("-") else words).append(arg)
        i += 1
    return words, others, fmt


def real(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([REAL, *argv], capture_output=True, text=True)


def exec_real(argv: list[str]):
    os.execv(REAL, [REAL, *argv])


def relay(res: subprocess.CompletedProcess, out: str | None = None) -> int:
    sys.stdout.write(res.stdout if out is None else out)
    sys.stderr.write(res.stderr)
    return res.returncode


def refuse(code: int, name: str, message: str) -> int:
    """ceph.in on a failed mon command: `Error ENAME: message` and the errno as exit status."""
    sys.stderr.write(f"Error {name}: {message}\n")
    return code


def main(argv: list[str]) -> int:
    if "-h" in argv or "--help" in argv:
        sys.stdout.write("(proxmox-ha lab shim) ceph: Debian's real ceph; the lab reports its recorded Ceph "
                         "release for --version, versions, metadata, osd dump, osd require-osd-release\n")
        sys.stdout.flush()
        return exec_real(argv)
    words, others, fmt = split(argv)
    command = handler(words, others)
    return exec_real(argv) if command is None else command(argv, words, others, fmt)


def handler(words: list[str], others: list[str]):
    if "-v" in others or "--version" in others or words == ["version"]:
        return cmd_version
    if words == ["versions"]:
        return cmd_versions
    if len(words) in (2, 3) and words[0] in ("mon", "mgr", "osd") and words[1] == "metadata":
        return cmd_metadata
    if words == ["osd", "dump"]:
        return cmd_osd_dump
    if words[:2] == ["osd", "require-osd-release"] and len(words) == 3:
        return cmd_require_osd_release
    return None


# Lazily: a passed-through command pays for no more than this module.
def _records():
    from ..pve import ceph_release as R
    from . import pvelib as L

    return R, L


def _running() -> dict:
    R, L = _records()
    return R.running(L.state_dir() / "hosts")


def _recorded_and_real(argv: list[str]):
    """(the records module, the running daemons' releases, the real command's result); the real command alone, exec'd,
    where the lab has no running record."""
    R, _ = _records()
    running = _running()
    if not running:
        exec_real(argv)
    return R, running, real(argv)


def _dumps(data, fmt: str | None) -> str:
    return json.dumps(data, separators=(",", ":")) if fmt == "json" else json.dumps(data, indent=4)


def _framed(original: str, body: str) -> str:
    """body with the whitespace the real output had around its JSON."""
    stripped = original.strip()
    start = original.index(stripped[0]) if stripped else 0
    return original[:start] + body + original[start + len(stripped):]


def cmd_version(argv, words, others, fmt) -> int:
    R, L = _records()
    version = R.installed(L.CEPH_RECORD)
    if version is None:
        return exec_real(argv)
    print(R.version_line(version))
    return 0


def cmd_versions(argv, words, others, fmt) -> int:
    """The mon's count of running versions per daemon type: the lab's recorded daemons by their release, the rest of
    what the real mon counts as what it reports (Debian's)."""
    R, running, res = _recorded_and_real(argv)
    try:
        data = json.loads(res.stdout)
    except ValueError:
        return relay(res)
    for kind in ("mon", "mgr", "osd"):
        ours = {}
        for (daemon, _), version in sorted(running.items()):
            if daemon == kind:
                ours[R.version_line(version)] = ours.get(R.version_line(version), 0) + 1
        left = sum(ours.values())
        for line, count in data.get(kind, {}).items():
            moved = min(count, left)
            left -= moved
            if count - moved:
                ours[line] = ours.get(line, 0) + count - moved
        data[kind] = dict(sorted(ours.items()))  # the mon's std::map order
    overall = {}
    for kind in [k for k in data if k != "overall"]:
        for line, count in data[kind].items():
            overall[line] = overall.get(line, 0) + count
    data["overall"] = dict(sorted(overall.items()))
    return relay(res, _framed(res.stdout, _dumps(data, fmt)))


def _objects(text: str):
    """(object, start, end) of the top-level JSON object, or of each object of a top-level list."""
    decoder, pos = json.JSONDecoder(), len(text) - len(text.lstrip())
    if text[pos:pos + 1] == "{":
        obj, end = decoder.raw_decode(text, pos)
        return [(obj, pos, end)]
    found, pos = [], pos + 1
    while True:
        pos = re.compile(r"[\s,]*").match(text, pos).end()
        if text[pos:pos + 1] != "{":
            return found
        obj, end = decoder.raw_decode(text, pos)
        found.append((obj, pos, end))
        pos = end


def cmd_metadata(argv, words, others, fmt) -> int:
    """The real metadata with each recorded daemon's ceph_release, ceph_version and ceph_version_short replaced (in
    the text, so every other field stays exactly as the mon printed it)."""
    R, running, res = _recorded_and_real(argv)
    try:
        objects = _objects(res.stdout) if res.returncode == 0 else []
    except ValueError:
        return relay(res)
    kind, out, done = words[0], [], 0
    for obj, start, end in objects:
        # A single daemon's metadata (`ceph mon metadata pve1`) names it only on the command line.
        who = words[2] if len(words) == 3 else str(obj.get("id" if kind == "osd" else "name"))
        version = running.get((kind, who))
        values = {"ceph_release": R.name_of(version), "ceph_version": R.version_line(version),
                  "ceph_version_short": version} if version else None
        text = res.stdout[start:end]
        if values:
            text = FIELD.sub(lambda m: f'"{m.group(1)}"{m.group(2)}"{values[m.group(1)]}"', text)
        out += [res.stdout[done:start], text]
        done = end
    return relay(res, "".join(out) + res.stdout[done:])


def _require(running: dict) -> str | None:
    """The lab's recorded require_osd_release; without one, the oldest release a running OSD runs."""
    R, L = _records()
    recorded = R.require_osd_release(L.state_dir())
    osds = [R.major(v) for (daemon, _), v in running.items() if daemon == "osd"]
    return recorded or (R.CODENAMES[min(osds)] if osds else None)


def cmd_osd_dump(argv, words, others, fmt) -> int:
    require = _require(_running())
    if require is None:
        return exec_real(argv)
    res = real(argv)
    out = re.sub(r'("require_osd_release"\s*:\s*)"[^"]*"', rf'\1"{require}"', res.stdout)
    out = re.sub(r"^require_osd_release \S+$", f"require_osd_release {require}", out, flags=re.M)
    return relay(res, out)


def cmd_require_osd_release(argv, words, others, fmt) -> int:
    """OSDMonitor::prepare_command_impl "osd require-osd-release", on the releases the lab's daemons run. The choices
    are those of the answering monitor's MonCommands.h (up to its release), checked by the CLI (ceph_argparse)."""
    R, L = _records()
    running = _running()
    mons = [R.major(v) for (daemon, _), v in running.items() if daemon == "mon"]
    if not mons:
        return exec_real(argv)
    wanted, sure = words[2], "--yes-i-really-mean-it" in others
    choices = "|".join(name for name, number in MAJORS.items() if number <= max(mons))
    if wanted not in choices.split("|"):
        sys.stderr.write(f"Invalid command: {wanted} not in {choices}\n"
                         f"osd require-osd-release {choices} [--yes-i-really-mean-it] :  "
                         "set the minimum allowed OSD release to participate in the cluster\n")
        return refuse(EINVAL, "EINVAL", "invalid command")
    res = real([*others, "osd", "dump", "--format", "json"])  # the mon must answer, as for the real command
    if res.returncode:
        return relay(res, "")
    up = [str(o["osd"]) for o in json.loads(res.stdout).get("osds", []) if o.get("up")]
    current, rel = _require(running), MAJORS[wanted]
    if wanted == current:
        return 0
    if not up and not sure:
        return refuse(EPERM, "EPERM", "Not advisable to continue since no OSDs are up. Pass "
                                      "--yes-i-really-mean-it if you really wish to continue.")
    if rel < MAJORS["pacific"]:
        return refuse(EPERM, "EPERM", "not supported for this release")
    if min(mons) < rel:
        return refuse(EPERM, "EPERM", f"not all mons are {wanted}")
    osds = [R.major(running[("osd", i)]) if ("osd", i) in running else DEBIAN_MAJOR for i in up]
    if min(osds, default=rel) < rel and not sure:
        return refuse(EPERM, "EPERM", f"not all up OSDs have CEPH_FEATURE_SERVER_{wanted.upper()} feature")
    if current and rel < MAJORS[current]:
        return refuse(EPERM, "EPERM", "require_osd_release cannot be lowered once it has been set")
    R.set_require_osd_release(L.state_dir(), wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
