"""lab/pve/storage_plugins.py against pve-storage's own plugins, where a mirror of pve-storage is at hand:
each type's options() (fixed/optional) and plugindata() (content allowed/default, formats, sensitive
properties) at pve-storage 9.1.3 for PVE 9 (the same through 9.1.7) and 8.3.6, the last 8.x, for PVE 8."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from lab.pve import storage_plugins as SP

REPO = Path("/work/.mirror/proxmox+pve-storage/repo")
RELEASES = {9: "bump version to 9.1.3", 8: "bump version to 8.3.6"}
FILES = {"dir": "Dir", "pbs": "PBS", "rbd": "RBD", "nfs": "NFS", "cifs": "CIFS", "lvm": "LVM", "lvmthin": "LvmThin",
         "zfspool": "ZFSPool", "cephfs": "CephFS"}


def _git(*args) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True).stdout


def _keys(perl_hash: str) -> set:
    return set(re.findall(r"'?([\w-]+)'?\s*=>\s*1", perl_hash))


@pytest.mark.skipif(not REPO.exists(), reason="no mirror of pve-storage here")
@pytest.mark.parametrize("major", [8, 9])
def test_facts_are_pve_storages(major):
    commit = _git("log", "--format=%H", "--fixed-strings", f"--grep={RELEASES[major]}").split()[0]
    assert set(SP.TYPES) == set(FILES)
    for typ, name in FILES.items():
        src = _git("show", f"{commit}:src/PVE/Storage/{name}Plugin.pm")
        options = re.search(r"^sub options \{(.*?)^\}", src, re.S | re.M).group(1)
        found = {k: SP.Option(fixed="fixed" in flags, optional="optional" in flags)
                 for k, flags in re.findall(r"'?([\w-]+)'?\s*=>\s*\{([^}]*)\}", options)}
        data = re.search(r"^sub plugindata \{(.*?)^\}", src, re.S | re.M).group(1)
        allowed, default = re.search(r"content\s*=>\s*\[\s*\{(.*?)\}\s*,\s*\{(.*?)\}", data, re.S).groups()
        formats = re.search(r"format\s*=>\s*\[\s*\{(.*?)\}", data, re.S)
        sensitive = re.search(r"'sensitive-properties'\s*=>\s*\{(.*?)\}", data, re.S).group(1)
        plugin = SP.plugin(typ, major)
        assert plugin.options == found, typ
        assert (set(plugin.content), set(plugin.default_content)) == (_keys(allowed), _keys(default)), typ
        assert (set(plugin.formats) if plugin.formats else None) == (_keys(formats.group(1)) if formats else None), typ
        assert set(plugin.sensitive) == _keys(sensitive), typ
