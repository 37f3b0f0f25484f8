"""The upgrade's steps under a private /etc and fake PVE tools: pve8to9's failures refuse before any change, a node on
PVE 9 is skipped, and the sources it writes are the ones PVE 9's own steps take for done."""
from __future__ import annotations

from remote import ceph_steps, node_steps, upgrade_steps
from remote.step import Step

PVE8 = "echo 'pve-manager/8.4.1/2a5fa54a8503f96d (running kernel: 6.8.12-9-pve)'"
PVE9 = "echo 'pve-manager/9.1.3/f1c4dbb0a6ad0d45 (running kernel: 6.17.2-1-pve)'"
QUORATE = "printf 'Quorate:          Yes\\n'"
REPORT = "printf '= SUMMARY =\\n\\nTOTAL:    9\\nPASSED:   7\\nSKIPPED:  0\\nWARNINGS: 0\\nFAILURES: %s\\n' {}\n" \
         "[ {} = 0 ] || echo 'FAIL: Hyper-converged Ceph 18 reef is to old for upgrade!'"


MEMBERS = "nodelist {\n  node {\n    name: pve2\n  }\n  node {\n    name: pve3\n  }\n}\n"


def test_a_pve8to9_failure_refuses_naming_it(etc):
    etc.file("/etc/pve/corosync.conf", MEMBERS)
    etc.fake("pveversion", PVE8)
    etc.fake("pve8to9", REPORT.format(1, 1))
    done = etc.run(upgrade_steps.preflight("pve2", "pve3", ceph=False))
    assert done.returncode == 1
    assert ("step 'upgrade-preflight' failed on node pve2: pve8to9 --full found 1 failure(s); fix them, then re-run up: "
            "FAIL: Hyper-converged Ceph 18 reef is to old for upgrade!") in done.stderr


def test_a_clean_report_and_a_quorate_cluster_pass(etc):
    etc.file("/etc/pve/corosync.conf", MEMBERS)
    etc.fake("pveversion", PVE8)
    etc.fake("pve8to9", REPORT.format(0, 0))
    etc.fake("pvecm", QUORATE)
    etc.fake("ha-manager", "echo 'service vm:100 (pve1, started)'")
    done = etc.run(upgrade_steps.preflight("pve2", "pve3", ceph=False))
    assert done.returncode == 0, done.stderr
    etc.fake("ha-manager", "echo 'service vm:100 (pve3, error)'")
    refused = etc.run(upgrade_steps.preflight("pve2", "pve3", ceph=False))
    assert refused.returncode == 1 and "HA services in error, fence or recovery: vm:100" in refused.stderr


def test_a_node_on_pve9_is_skipped(etc):
    etc.fake("pveversion", PVE9)
    etc.fake("pve8to9", "exit 3")
    done = etc.run(upgrade_steps.preflight("pve2", "pve3", ceph=True))
    assert done.returncode == 0 and "already done, skipped" in done.stderr and "pve8to9" not in "".join(etc.called())


def test_the_sources_written_are_what_pve9s_steps_take_for_done(etc):
    etc.file("/etc/apt/sources.list.d/pve-no-subscription.list",
             "deb http://download.proxmox.com/debian/pve bookworm pve-no-subscription\n")
    etc.file("/etc/apt/sources.list.d/ceph.list", "deb http://download.proxmox.com/debian/ceph-squid bookworm no-subscription\n")
    etc.file("/etc/apt/sources.list.d/debian.sources",
             "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n")
    etc.file("/etc/apt/sources.list", "deb http://security.debian.org/debian-security bookworm-security main\n")
    written = etc.run(Step("sources", "pve2", "false", upgrade_steps._sources(ceph=True)))
    assert written.returncode == 0, written.stderr
    assert sorted(p.name for p in (etc.etc / "apt" / "sources.list.d").iterdir()) == ["ceph.sources", "debian.sources", "proxmox.sources"]
    assert "Suites: trixie trixie-updates" in etc.read("/etc/apt/sources.list.d/debian.sources")
    assert etc.read("/etc/apt/sources.list") == "deb http://security.debian.org/debian-security trixie-security main\n"
    etc.fake("ceph-mon", "true")
    for step in (node_steps.repositories("pve2", 9), ceph_steps.install("pve2", "squid", "no-subscription", 9)):
        done = etc.run(Step(step.name, "pve2", step.check, "fail not-done"))
        assert "already done, skipped" in done.stderr, (step.name, done.stderr)


def test_a_node_that_is_no_member_yet_is_skipped_without_ssh(etc):
    etc.fake("ssh", "exit 255")
    done = etc.run(upgrade_steps.node("pve2", "10.0.10.12", "pve3", ceph=True))
    assert done.returncode == 0 and "already done, skipped" in done.stderr
    assert not [call for call in etc.called() if call.startswith("ssh")]
    etc.file("/etc/pve/corosync.conf", MEMBERS)
    refused = etc.run(upgrade_steps.node("pve2", "10.0.10.12", "pve3", ceph=True))
    assert refused.returncode == 1 and "cannot reach pve2 over the cluster's root SSH from pve3" in refused.stderr


def test_a_node_on_pve8_whose_peer_is_no_member_refuses(etc):
    """Adding nodes and upgrading in one run: the new node cannot drive a member's upgrade."""
    etc.file("/etc/pve/corosync.conf", MEMBERS)
    etc.fake("pveversion", PVE8)
    done = etc.run(upgrade_steps.preflight("pve3", "pve4", ceph=False))
    assert done.returncode == 1 and "pve4, which upgrades pve3 (the next node in the stack's order), is no cluster member yet" in done.stderr
