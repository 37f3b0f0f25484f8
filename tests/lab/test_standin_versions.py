"""Each stand-in plugin was read against one released version: the one the program's SDK package pins. A bump in
requirements.txt fails here until the stand-in has been checked against the new release's source."""
from __future__ import annotations

from importlib.metadata import version

from lab.providers import command, proxmoxve


def test_the_stand_ins_are_the_versions_the_sdks_ask_for():
    assert command.VERSION == version("pulumi-command")
    assert proxmoxve.VERSION == version("pulumi-proxmoxve")
