"""The driver's one-line explanations, over engine output shaped as the engine prints it (seen in lab runs)."""
from __future__ import annotations

from pulumi.automation._cmd import CommandResult
from pulumi.automation.errors import CommandError

from deploy.errors import explain


def _error(stdout: str, stderr: str = "error: update failed\n") -> CommandError:
    return CommandError(CommandResult(stdout=stdout, stderr=stderr, code=255))


DIAGNOSTICS = """Diagnostics:
  command:remote:Command (pve3-cluster-join):
    error: after 5 failed attempts: dial tcp 10.254.10.13:22: connect: connection refused

  proxmoxve:storage:Pbs (pbs-backup):
    error: {pbs}
"""


def test_a_dead_plugin_names_what_pve_may_hold_and_how_to_adopt_it():
    line = explain(_error(DIAGNOSTICS.format(pbs="error reading from server: EOF")), "lab")
    assert line.startswith("the proxmoxve plugin died while creating pbs-backup (proxmoxve:storage/pbs:Pbs)")
    assert "bin/pulumi import TYPE NAME ID --stack lab" in line


def test_an_object_pve_holds_but_the_state_does_not_gets_the_import_line():
    message = "Error creating pbs storage: received an HTTP 500 response - Reason: storage ID 'pbs-backup' already defined"
    line = explain(_error(DIAGNOSTICS.format(pbs=message)), "lab")
    assert "pbs-backup (proxmoxve:storage/pbs:Pbs) exists in PVE but not in this stack's state" in line
    assert line.endswith("e.g. `bin/pulumi import proxmoxve:storage/pbs:Pbs pbs-backup ID --stack lab`")


def test_an_unreachable_node_is_named_by_its_step():
    stdout = DIAGNOSTICS.split("\n\n  proxmoxve")[0]
    line = explain(_error(stdout), "lab")
    assert line.startswith("step pve3-cluster-join: its node did not answer over SSH (after 5 failed attempts: dial tcp")


def test_a_failed_step_wins_over_its_exit_status():
    stdout = ("proxmox-ha: step 'cluster-join' failed on node pve3: pvecm add to 10.0.10.11 was refused\n"
              + DIAGNOSTICS.split("\n\n  proxmoxve")[0])
    assert explain(_error(stdout), "lab") == ("step 'cluster-join' failed on node pve3: pvecm add to 10.0.10.11 was refused; "
                                              "fix that, then run up again: finished steps are skipped")


def test_a_policy_refusal_names_the_policies():
    stdout = ("    proxmox-ha@v0.0.1 [mandatory]  odd-node-count  (proxmox-ha:cluster:ProxmoxCluster: c)A cluster ...\n"
              "    proxmox-ha@v0.0.1 [advisory]  ceph-release-supported  (proxmox-ha:ceph:CephCluster: ceph)The ...\n")
    assert explain(_error(stdout, "error: preview failed\n"), "homelab") == (
        "the policy pack refused the stack (odd-node-count); see the violations above")


def test_anything_else_ends_with_the_engines_last_line():
    assert explain(_error("", "warning: x\nerror: something new\n"), "lab") == "error: something new"


def test_a_malformed_secret_is_named_by_its_stack_key():
    token = ("error: pulumi:providers:proxmoxve resource 'pve' has a problem: Unable to create Proxmox VE API credentials: "
             "the API token must be in the format 'USER@REALM!TOKENID=UUID'\n")
    line = explain(_error(token, "error: failed to run policy: context canceled\n"), "homelab")
    assert line.startswith("proxmox-ha:apiToken is malformed (the provider says: the API token must be in the format")
    key = "  command:remote:Command (preflight-pve1-pve-release):\n    error: ssh: no key found\n"
    assert explain(_error(key, "error: the engine failed\n"), "homelab").startswith(
        "proxmox-ha:sshPrivateKey is malformed (the provider says: ssh: no key found)")


def test_a_provider_refusal_names_the_resource_and_the_providers_message():
    reason = ("Invalid Attribute Value Match. Attribute group must start with a letter, end with a letter or number, be "
              "composed of letters, numbers, '-', '_' and '.', and must be at least 2 characters long, got: critical_. "
              "Examine values at 'ha-critical_.group'.")
    stdout = f"    error: proxmoxve:index/hagroup:Hagroup resource 'ha-critical_' has a problem: {reason}\n"
    line = explain(_error(stdout, "error: Resource monitor has terminated, shutting down\n"), "homelab")
    assert line == f"ha-critical_ (proxmoxve:index/hagroup:Hagroup) was refused by its provider before anything was created: {reason}"


def test_a_failed_create_names_the_resource_and_the_providers_message():
    stdout = ("Diagnostics:\n  proxmoxve:index/harule:Harule (ha-critical):\n    error: Unable to Read HA Rule: Failed to find "
              "the rule when trying to read back the HA rule's data.\n")
    assert explain(_error(stdout), "lab") == ("ha-critical (proxmoxve:index/harule:Harule) failed: Unable to Read HA Rule: "
                                              "Failed to find the rule when trying to read back the HA rule's data.")
