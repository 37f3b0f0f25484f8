from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

MON = Path(__file__).resolve().parents[2] / "monitoring"


@pytest.fixture(scope="session")
def promtool():
    path = shutil.which("promtool")
    if path is None and os.geteuid() == 0 and not os.environ.get("PROXMOX_HA_NO_INSTALL"):
        subprocess.run(["bash", str(MON / "install-promtool.sh")], check=False,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
        path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed and monitoring/install-promtool.sh could not install it "
                    "(needs root and apt access to Debian's 'prometheus' package)")
    return path
