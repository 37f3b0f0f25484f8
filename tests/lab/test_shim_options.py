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
