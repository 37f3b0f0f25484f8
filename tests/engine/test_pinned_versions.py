"""Two Pulumi versions, each with one home. The CLI's is tools/pulumi-version: tools/toolchain.sh builds it and the
workflow's pulumi/actions installs it, both reading the file. The SDK's is requirements.txt (`pulumi==`), the
oldest CLI bin/pulumi and deploy accept, which they read from there and from the installed package. The README
cannot read either, so it is compared; no other tracked file may spell them out."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "tools" / "pulumi-version"
CLI = HOME.read_text().strip()
SDK = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
# Where each version may be written out: its home, and the README that states it for readers.
SPELLED = {CLI: {"tools/pulumi-version", "README.md"}, SDK: {"requirements.txt", "README.md"}}


def mentions(text: str, release: str) -> bool:
    return re.search(rf"(?<![\d.])v?{re.escape(release)}(?![\d])", text) is not None


def test_the_home_holds_one_release():
    assert re.fullmatch(r"\d+\.\d+\.\d+", CLI), f"tools/pulumi-version: {CLI!r} is not X.Y.Z"


def test_the_toolchain_builds_the_release_in_the_home(tmp_path):
    # A copy next to another version: the script must follow the file, not agree with it by chance.
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "toolchain.sh", tmp_path / "tools")
    (tmp_path / "tools" / "pulumi-version").write_text("3.999.0\n")
    env = {**os.environ, "PROXMOX_HA_CACHE": str(tmp_path / "cache")}
    said = subprocess.run([str(tmp_path / "tools" / "toolchain.sh"), "env"], capture_output=True, text=True, env=env,
                          check=True).stdout
    assert said.strip().endswith("/toolchain/pulumi-v3.999.0/bin"), said


def test_the_workflow_installs_the_release_in_the_home():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "policy-preview.yml").read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]
             if step.get("uses", "").startswith("pulumi/actions@")]
    assert steps and all(step["with"] == {"pulumi-version-file": "tools/pulumi-version"} for step in steps), steps


def test_the_readme_states_both_releases_and_no_other():
    readme = (ROOT / "README.md").read_text()
    assert f"| Pulumi CLI | v{CLI} " in readme and f"| Python SDK | pulumi {SDK} |" in readme
    assert f"({SDK} or newer)" in readme  # bin/pulumi's minimum, in the set-up steps
    stale = set(re.findall(r"(?<![\d.])v?(3\.\d{3}\.\d+)(?![\d])", readme)) - {CLI, SDK}
    assert not stale, f"README.md names Pulumi releases that are neither pinned: {sorted(stale)}"


def test_no_other_file_spells_out_a_pinned_release():
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    copies = []
    for name in filter(None, tracked.split("\0")):
        try:
            text = (ROOT / name).read_text()
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        copies += [(name, release) for release, allowed in SPELLED.items()
                   if name not in allowed and mentions(text, release)]
    assert not copies, f"read these from their home instead: {copies}"
