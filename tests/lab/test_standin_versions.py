"""The stand-in plugins answer as the versions the program's SDK packages ask for (read from the packages' metadata,
as deploy/plugins.py reads them), and each was matched against the source of exactly that release: a bump in
requirements.txt fails here until the stand-in has been checked against the new release's source."""
from __future__ import annotations

import subprocess
from importlib.metadata import version
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2_grpc

from lab.providers import command, proxmoxve

BIN = Path(__file__).resolve().parents[2] / "lab" / "providers" / "bin"
SDKS = {"command": ("pulumi-command", command), "proxmoxve": ("pulumi-proxmoxve", proxmoxve)}


@pytest.mark.parametrize("name", sorted(SDKS))
def test_the_stand_in_plugin_reports_the_sdks_version(name):
    plugin = subprocess.Popen([str(BIN / f"pulumi-resource-{name}")], stdout=subprocess.PIPE, text=True)
    try:
        stub = provider_pb2_grpc.ResourceProviderStub(grpc.insecure_channel(f"127.0.0.1:{int(plugin.stdout.readline())}"))
        assert stub.GetPluginInfo(empty_pb2.Empty(), timeout=10).version == version(SDKS[name][0])
    finally:
        plugin.kill()
        plugin.wait()


@pytest.mark.parametrize("name", sorted(SDKS))
def test_the_stand_in_was_matched_against_the_sdks_release(name):
    package, module = SDKS[name]
    assert module.READ_AGAINST == version(package), (
        f"{package} is now {version(package)}: check lab/providers/{name}.py against that release's source, "
        "then set its READ_AGAINST")
