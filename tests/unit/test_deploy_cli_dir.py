"""The directory the driver links a CLI into (the Automation API wants ROOT/bin/pulumi) lives as long as the run."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_cli_outside_a_bin_directory_is_linked_for_the_run_only(tmp_path):
    binary = tmp_path / "pulumi-build"
    binary.write_text("#!/bin/sh\n")
    said = subprocess.run([sys.executable, "-c", f"from deploy import cli; r = cli.root(__import__('pathlib').Path({str(binary)!r})); "
                           "print(r); assert (r / 'bin' / 'pulumi').resolve() == __import__('pathlib').Path("
                           f"{str(binary)!r}).resolve()"], cwd=ROOT, capture_output=True, text=True)
    assert said.returncode == 0, said.stderr
    linked = Path(said.stdout.strip())
    assert linked.name.startswith("proxmox-ha-cli-") and not linked.exists()
