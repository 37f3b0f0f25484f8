"""The policy pack finds resources by type token (policies/contract.py, hand-typed). A token that matches nothing the
program registers would make its rules pass by never running, so each is compared with what the program really
registers under mocks, and a component's token with its class."""
from __future__ import annotations

import copy
import importlib
import inspect
import pkgutil

import pulumi
import pulumi_proxmoxve as proxmoxve
import pytest

import components
from policies import contract

from .conftest import RecordingMocks, run_program, two_nodes_and_a_qdevice

# Every token the pack names: the contract's string constants of the form `package:module:Type`.
TOKENS = {value for name, value in vars(contract).items()
          if name.isupper() and isinstance(value, str) and value.count(":") == 2}


def variants(homelab: dict) -> list[dict]:
    """Stacks that between them make every kind of resource: PVE 9 (rules) and 8 (groups), a QDevice, a retirement."""
    pve8, retiring, qdevice = (copy.deepcopy(homelab) for _ in range(3))
    pve8["cluster"]["pveVersion"] = 8
    pve8["ceph"]["release"] = "squid"
    retiring["cluster"]["decommission"] = ["pve4"]
    return [homelab, pve8, retiring, two_nodes_and_a_qdevice(qdevice)]


@pytest.fixture(scope="module")
def registered() -> set[str]:
    from .conftest import ROOT, stack_sections

    return {r.type for stack in variants(stack_sections(ROOT / "Pulumi.homelab.yaml")) for r in run_program(stack)}


def component_classes() -> list[type]:
    found = []
    for info in pkgutil.iter_modules(components.__path__):
        module = importlib.import_module(f"components.{info.name}")
        found += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                  if issubclass(cls, pulumi.ComponentResource) and cls.__module__ == module.__name__]
    return found


def test_each_component_registers_as_its_module_and_class(registered):
    expected = {f"proxmox-ha:{cls.__module__.rpartition('.')[2]}:{cls.__name__}" for cls in component_classes()}
    assert {t for t in registered if t.startswith("proxmox-ha:")} == expected
    assert {t for t in TOKENS if t.startswith("proxmox-ha:")} == expected


def test_each_provider_token_of_the_pack_is_one_the_program_registers(registered):
    # The one exception: the program makes its pools with pveceph, but the pack also guards a pool someone adds
    # through the provider, so that token must be the SDK's own.
    others = {t for t in TOKENS if not t.startswith("proxmox-ha:")}
    assert others - registered == {contract.PVE_POOL}
    assert sdk_token(lambda: proxmoxve.ceph.Pool("p", name="p", node_name="pve1")) == contract.PVE_POOL


def sdk_token(make) -> str:
    """The type a provider SDK class registers, as the engine would see it."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="proxmox-ha", stack="unit", preview=False)
    pulumi.runtime.test(make)()
    (made,) = [r for r in mocks.resources if not r.type.startswith("pulumi:providers:")]
    return made.type
