"""Which provider plugins the engine gets: the released ones, acquired the way Pulumi acquires them, or, only when
asked for a stack by name, the lab's stand-ins.

The engine takes a provider from its plugin cache (`pulumi plugin install resource NAME VERSION`) or from a
`pulumi-resource-NAME` on PATH. Where neither holds the released plugin, the driver installs it as the engine's
automatic acquisition would. Only where that is impossible (CI here: no internet, and the Go proxy serves neither
provider) and PROXMOX_HA_STAND_INS names the stack do the stand-ins in lab/providers/bin go on PATH, and the driver
says so.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import subprocess
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STAND_INS = REPO / "lab" / "providers" / "bin"
# The stacks the lab's stand-ins may serve, comma-separated (`make up` and the tests set `lab`).
STAND_INS_FOR = "PROXMOX_HA_STAND_INS"
# The plugins the program's SDK packages ask for, at the versions requirements.txt pins.
PROVIDERS = {"command": version("pulumi-command"), "proxmoxve": version("pulumi-proxmoxve")}


class PluginsMissing(Exception):
    """The released plugins are not installed and could not be; the message is the one line to print."""


def _cli(cli: Path, env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(cli), *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=timeout)


def _cached(cli: Path, env: dict[str, str]) -> set[tuple[str, str]]:
    listed = _cli(cli, env, "plugin", "ls", "--json")
    if listed.returncode != 0:
        return set()
    return {(p["name"], p["version"]) for p in json.loads(listed.stdout or "[]") if p.get("kind") == "resource"}


def real_plugins(cli: Path, env: dict[str, str], path: str) -> dict[str, str]:
    """{name: where} for each provider whose released plugin the engine would find."""
    found = {}
    cached = _cached(cli, env)
    search = os.pathsep.join(p for p in path.split(os.pathsep) if Path(p) != STAND_INS)
    for name, wanted in PROVIDERS.items():
        if (name, wanted) in cached:
            found[name] = f"plugin cache, v{wanted}"
        elif (binary := shutil.which(f"pulumi-resource-{name}", path=search)):
            found[name] = binary
    return found


def stand_ins_allowed(stack: str) -> bool:
    return stack in [s.strip() for s in os.environ.get(STAND_INS_FOR, "").split(",")]


def _install(cli: Path, env: dict[str, str], name: str) -> str | None:
    """`pulumi plugin install resource NAME VERSION`, as the engine's automatic acquisition does; the error, if any."""
    try:
        done = _cli(cli, env, "plugin", "install", "resource", name, PROVIDERS[name], timeout=600)
    except subprocess.TimeoutExpired:
        return "timed out after 600 s"
    if done.returncode == 0:
        return None
    said = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    return said[-1] if said else f"exit {done.returncode}"


def choose(cli: Path, env: dict[str, str], path: str, stack: str) -> tuple[str, list[str]]:
    """(PATH for the engine, one line per provider saying which plugin it gets); PluginsMissing when there is none.

    The engine looks on PATH before its plugin cache, so only the stand-ins of missing plugins go on it: linked
    from a directory of this run's own, removed when the driver exits.
    """
    real = real_plugins(cli, env, path)
    lines, failed, stand_ins = [], {}, []
    for name, wanted in PROVIDERS.items():
        if name in real:
            lines.append(f"{name} {wanted}: the released plugin ({real[name]})")
        elif stand_ins_allowed(stack):
            stand_ins.append(name)
            lines.append(f"{name} {wanted}: the lab's stand-in ({STAND_INS.relative_to(REPO)}/pulumi-resource-{name}); "
                         f"the released plugin is not installed and {STAND_INS_FOR} names stack '{stack}'")
        elif (error := _install(cli, env, name)) is None:
            lines.append(f"{name} {wanted}: the released plugin (installed now with `pulumi plugin install`)")
        else:
            failed[name] = error
    if failed:
        names = " and ".join(f"{name} {PROVIDERS[name]}" for name in failed)
        commands = " && ".join(f"pulumi plugin install resource {name} {PROVIDERS[name]}" for name in failed)
        raise PluginsMissing(
            f"the provider plugin(s) {names} are not installed and could not be downloaded "
            f"({'; '.join(failed.values())}); install them where there is internet access: `{commands}`. "
            f"The lab's stand-ins (lab/providers) serve only the stacks named in {STAND_INS_FOR}, e.g. "
            f"{STAND_INS_FOR}=lab for the lab")
    if stand_ins:
        chosen = Path(tempfile.mkdtemp(prefix="proxmox-ha-stand-ins-"))
        atexit.register(shutil.rmtree, chosen, True)
        for name in stand_ins:
            (chosen / f"pulumi-resource-{name}").symlink_to(STAND_INS / f"pulumi-resource-{name}")
        path = f"{chosen}{os.pathsep}{path}"
    return path, lines
