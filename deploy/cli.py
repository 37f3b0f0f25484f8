"""Which Pulumi CLI runs the engine: the user's own where one is on PATH at a version this SDK supports, else the
pinned one this project builds from Go modules (tools/toolchain.sh), as on machines with no Pulumi installed."""
from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import tempfile
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WRAPPER = REPO / "bin" / "pulumi"
TOOLCHAIN = REPO / "tools" / "toolchain.sh"
# The oldest CLI the program is driven with: the SDK's own version (requirements.txt pins it).
MINIMUM = version("pulumi")


def release(text: str) -> tuple[int, ...] | None:
    """`v3.300.1` (or `3.300.1-dev.0`) as (3, 300, 1)."""
    found = re.match(r"v?(\d+)\.(\d+)\.(\d+)", text.strip())
    return tuple(int(part) for part in found.groups()) if found else None


def installed(path: str) -> tuple[Path, str] | None:
    """The user's `pulumi` on PATH (never this repo's wrapper) and its version, when that is at least MINIMUM."""
    search = os.pathsep.join(p for p in path.split(os.pathsep) if p and Path(p).resolve() != WRAPPER.parent)
    found = shutil.which("pulumi", path=search)
    if found is None:
        return None
    try:
        said = subprocess.run([found, "version"], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    current = release(said)
    return (Path(found), said.strip()) if current and current >= release(MINIMUM) else None


def pinned() -> Path:
    """The pinned CLI, built first where it is not cached (needs Go)."""
    if subprocess.run([TOOLCHAIN, "check"]).returncode != 0:
        if shutil.which("go") is None:
            raise SystemExit(f"deploy: no Pulumi CLI {MINIMUM} or newer on PATH, and no Go to build the pinned one: "
                             "install Pulumi (https://www.pulumi.com/docs/install/) and run again")
        subprocess.run([TOOLCHAIN, "build"], check=True)
    env = subprocess.run([TOOLCHAIN, "env"], capture_output=True, text=True, check=True).stdout
    return Path(env.strip().partition("=")[2]) / "pulumi"


def root(binary: Path) -> Path:
    """The directory the Automation API wants (it runs ROOT/bin/pulumi)."""
    if binary.parent.name == "bin":
        return binary.parent.parent
    linked = Path(tempfile.mkdtemp(prefix="proxmox-ha-cli-"))
    atexit.register(shutil.rmtree, linked, True)  # the run's own: gone with it
    (linked / "bin").mkdir()
    (linked / "bin" / "pulumi").symlink_to(binary)
    return linked


def choose(path: str) -> tuple[Path, str]:
    """(the pulumi binary, a line saying which one and why)."""
    own = installed(path)
    if own is not None:
        return own[0], f"the Pulumi CLI on PATH ({own[0]}, {own[1]})"
    binary = pinned()
    return binary, f"the pinned Pulumi CLI built from Go modules ({binary}); none {MINIMUM} or newer is on PATH"
