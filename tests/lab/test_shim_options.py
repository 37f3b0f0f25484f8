"""Shim options are the API schema's names, exactly: PVE's CLIs fold no '-' into '_' (nor back)."""
from __future__ import annotations

import pytest

from lab.shims import pvelib as L


def test_exact_names_pass_and_folded_ones_are_refused_as_pve_does():
    _, options = L.parse_args(["--min_size", "2", "--cluster-network", "10.0.0.0/24"],
                              {"min_size": "int", "cluster-network": "str"})
    assert options == {"min_size": "2", "cluster-network": "10.0.0.0/24"}
    for folded in ("--min-size", "--cluster_network"):
        with pytest.raises(L.PVEError, match=f"Unknown option: {folded[2:]}"):
            L.parse_args([folded, "x"], {"min_size": "int", "cluster-network": "str"})


def test_a_password_that_starts_with_a_dash_goes_after_an_equals_sign_as_getopt_takes_it():
    """PVE's `password:s` is optional-valued (alone, the CLI prompts), and Getopt::Long takes a following argument as
    its value only when it does not look like an option: `--password -x` is a prompt, then an unknown option `x`."""
    with pytest.raises(L.PVEError, match="Unknown option: Dhvq"):
        L.parse_args(["--password", "-Dhvq"], {"password": "interactive"})
    assert L.parse_args(["--password=-Dhvq"], {"password": "interactive"})[1] == {"password": "-Dhvq"}


# ---------------------------------------------------------------- options from PVE's API schema
from lab.api import schema as SC  # noqa: E402
from lab.shims import ha_manager, pveceph, pvesm  # noqa: E402

SHIM_TABLES = {
    "ha-manager add": ha_manager.RES_ADD_OPTS, "ha-manager set": ha_manager.RES_SET_OPTS,
    "ha-manager groupadd": ha_manager.GROUP_ADD_OPTS, "ha-manager groupset": ha_manager.GROUP_SET_OPTS,
    "ha-manager rules add": ha_manager.RULE_ADD_OPTS, "ha-manager rules set": ha_manager.RULE_SET_OPTS,
    "pvesm add": pvesm.ADD_OPTS, "pvesm set": pvesm.SET_OPTS,
    "pveceph pool create": pveceph.POOL_CREATE_OPTS, "pveceph pool set": pveceph.POOL_SET_OPTS,
    "pveceph pool destroy": pveceph.POOL_DESTROY_OPTS,
}


@pytest.fixture(params=[8, 9])
def major(request, monkeypatch):
    monkeypatch.setenv("PROXMOX_HA_LAB_PVE_MAJOR", str(request.param))
    return request.param


def test_shim_options_are_the_api_methods_parameters(major):
    for command, table in SHIM_TABLES.items():
        schema = SC.method_schema(table.method, table.template, major)
        if schema is None:
            assert command.startswith("ha-manager rules") and major == 8
            with pytest.raises(L.PVEError, match="unknown command 'ha-manager rules'"):
                dict(table)
            continue
        # An option the CLI maps as interactive (pvesm's password) is read from stdin when given bare.
        expected = {k: "interactive" if k in table.interactive
                    else {"boolean": "bool", "integer": "int", "number": "num"}.get(s["type"], "str")
                    for k, s in schema.items() if k not in table.skip}
        assert dict(table) == expected, command


def test_failback_is_an_ha_manager_option_from_pve9_on(major):
    argv = ["vm:100", "--failback", "0"]
    if major == 8:
        with pytest.raises(L.PVEError, match="Unknown option: failback"):
            L.parse_args(argv, ha_manager.RES_ADD_OPTS, 1)
    else:
        assert L.parse_args(argv, ha_manager.RES_ADD_OPTS, 1)[1] == {"failback": "0"}


def test_options_pve_lacks_are_refused(major):
    """Names the hand-written tables took that PVE's methods do not have."""
    for argv, table in ((["vm:100", "--type", "vm"], ha_manager.RES_SET_OPTS),
                        (["dir", "d1", "--comments", "x"], pvesm.ADD_OPTS),
                        (["d1", "--path", "/srv"], pvesm.SET_OPTS),
                        (["c", "--ring0_addr", "10.0.0.1"], L.ApiOptions("POST", "/cluster/config")),
                        (["c", "--bindnet0_addr", "10.0.0.1"], L.ApiOptions("POST", "/cluster/config"))):
        option = next(a for a in argv if a.startswith("--"))[2:]
        with pytest.raises(L.PVEError, match=f"Unknown option: {option}"):
            L.parse_args(argv, table, (1, 2))


def test_pvecm_create_takes_link0_to_link7_and_numbers_are_checked(major):
    create = L.ApiOptions("POST", "/cluster/config", positional=("clustername",))
    _, opts = L.parse_args(["c", "--link0", "10.0.0.1", "--link7", "10.7.0.1", "--votes", "1"], create, 1)
    assert opts == {"link0": "10.0.0.1", "link7": "10.7.0.1", "votes": "1"}
    with pytest.raises(L.PVEError, match=r"target_size_ratio: type check \('number'\) failed - got 'x'"):
        L.parse_args(["p", "--target_size_ratio", "x"], pveceph.POOL_CREATE_OPTS, 1)
