"""The models' formats (models/formats.py) against PVE's, as the lab's schema checker implements them from
pve-common (lab/api/formats.py): on a corpus of corner cases and on random strings, what the models accept PVE
accepts, and where no plugin rule is stricter, the two agree exactly."""
from __future__ import annotations

import random
import string

import pytest

from lab.api import formats as pve
from models import formats

ALPHABET = string.ascii_letters[:6] + "XZ" + string.digits[:4] + "-_.@!:/ ~+" + "é"
CORNERS = ["a", "ab", "a-", "a_", "a.", "_a", "-a", "1a", "a1", "A", "Ab", "a-b", "a_b", "a.b", "a..b", "ab:c", "a/b",
           "root@pam", "r@p", "x@1p", "a b@pam", "a:b@pam", "monitoring@pve", "u@pve.x", "u@p", "critical_services",
           "critical_", "a" * 64, "a" * 65, "pve1", "PVE1", "pve-1", "pve_1", "node.lab", "0", "00", "x" * 70 + "@pam"]


def _pve(check, value) -> bool:
    try:
        check(value)
        return True
    except ValueError:
        return False


def _random(count: int = 3000) -> list[str]:
    rng = random.Random(20261205)
    return [''.join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 8))) for _ in range(count)]


@pytest.mark.parametrize("ours, theirs", [
    (formats.configid, pve.f_configid),
    (formats.storage_id, pve.f_storage_id),
    (formats.userid, pve.f_userid),
    (formats.email_or_username, pve.f_email_or_username),
])
def test_the_models_take_exactly_what_pve_takes(ours, theirs):
    for value in CORNERS + _random():
        assert (ours(value) is None) == _pve(theirs, value), value


def test_node_names_are_pves_within_a_hostname_labels_length():
    for value in CORNERS + _random():
        assert (formats.node_name(value) is None) == (_pve(pve.f_node, value) and len(value) <= 63), value


def test_ha_names_are_pves_configid_and_the_plugins_pattern_both():
    for value in CORNERS + _random():
        plugin = formats.BPG_HA_NAME.fullmatch(value) is not None
        assert (formats.ha_name(value) is None) == (_pve(pve.f_configid, value) and plugin), value
    assert "the proxmoxve plugin refuses it" in formats.ha_name("critical_")
    assert "pve-configid" in formats.ha_name("a.b")  # the plugin would take the dot; PVE does not


def test_storage_servers_are_pves():
    for value in ["10.0.10.50", "pbs", "pbs.lab.local", "pbs-1.lab", "-pbs", "pbs_", "a..b", "fe80::1", "pbs.", ""]:
        assert (formats.storage_server(value) is None) == _pve(pve.f_storage_server, value), value
