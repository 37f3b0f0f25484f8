"""Which provider plugins the engine gets: the installed real ones, or else the lab's stand-ins.

The engine takes a provider from its plugin cache (`pulumi plugin install resource NAME VERSION --file BIN`)
or from a `pulumi-resource-NAME` on PATH. Where neither holds the real plugin (CI here: the Go proxy
serves neither), the stand-ins in lab/providers/bin go on PATH, and the driver says so.
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
# The plugins the program's SDK packages ask for, at the versions requirements.txt pins.
PROVIDERS = {"command": version("pulumi-command"), "proxmoxve": version("pulumi-proxmoxve")}


def _cached(cli: Path, env: dict[str, str]) -> set[tuple[str, str]]:
    listed = subprocess.run([str(cli), "plugin", "ls", "--json"], capture_output=True, text=True,
                            env={**os.environ, **env})
    if listed.returncode != 0:
        return set()
    return {(p["name"], p["version"]) for p in json.loads(listed.stdout or "[]") if p.get("kind") == "resource"}


def real_plugins(cli: Path, env: dict[str, str], path: str) -> dict[str, str]:
    """{name: where} for each provider whose real plugin the engine would find."""
    found = {}
    cached = _cached(cli, env)
    search = os.pathsep.join(p for p in path.split(os.pathsep) if Path(p) != STAND_INS)
    for name, wanted in PROVIDERS.items():
        if (name, wanted) in cached:
            found[name] = f"plugin cache, v{wanted}"
        elif (binary := shutil.which(f"pulumi-resource-{name}", path=search)):
            found[name] = binary
    return found


def choose(cli: Path, env: dict[str, str], path: str) -> tuple[str, list[str]]:
    """(PATH for the engine, one line per provider saying which one it gets).

    The engine looks on PATH before its plugin cache, so only the stand-ins of missing plugins go on it:
    linked from a directory of this run's own, removed when the driver exits.
    """
    real = real_plugins(cli, env, path)
    lines, missing = [], []
    for name, wanted in PROVIDERS.items():
        if name in real:
            lines.append(f"{name} {wanted}: the real plugin ({real[name]})")
        else:
            missing.append(name)
            lines.append(f"{name} {wanted}: the lab's stand-in ({STAND_INS.relative_to(REPO)}/pulumi-resource-{name}); "
                         "the real plugin is not installed")
    if missing:
        chosen = Path(tempfile.mkdtemp(prefix="proxmox-ha-stand-ins-"))
        atexit.register(shutil.rmtree, chosen, True)
        for name in missing:
            (chosen / f"pulumi-resource-{name}").symlink_to(STAND_INS / f"pulumi-resource-{name}")
        path = f"{chosen}{os.pathsep}{path}"
    return path, lines
