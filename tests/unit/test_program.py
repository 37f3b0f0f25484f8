"""The whole program under Pulumi mocks: what the homelab stack registers, and what a bad one does not."""
from __future__ import annotations

import dataclasses
import json
import re

import pytest

from .conftest import SECRETS, Registered, run_program, two_nodes_and_a_qdevice

COMMAND = "command:remote:Command"
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def _named(resources: list[Registered], suffix: str) -> list[Registered]:
    return [r for r in resources if r.type == COMMAND and r.name.endswith(suffix)]


def _of_type(resources: list[Registered], type_: str) -> list[Registered]:
    return [r for r in resources if r.type == type_]


def _watch_steps(monkeypatch, *components: str) -> dict[str, tuple]:
    """Every step the program runs (of these components' types only, when named), as NODE-STEP: (resource, depends_on)."""
    from components import connection

    seen: dict[str, tuple] = {}
    real = connection.register

    def spy(parent, host, step_name, *args, **kwargs):
        resource = real(parent, host, step_name, *args, **kwargs)
        if not components or parent.pulumi_resource_type.split(":")[1] in components:
            seen[f"{host.name}-{step_name}"] = (resource, list(args[-1]))
        return resource

    monkeypatch.setattr(connection, "register", spy)
    return seen


@pytest.fixture
def homelab_resources(homelab):
    return run_program(homelab)


def test_one_create_and_serial_joins(homelab_resources):
    creates = _named(homelab_resources, "-cluster-create")
    joins = _named(homelab_resources, "-cluster-join")
    assert [r.name for r in creates] == ["homelab-cluster-pve1-cluster-create"]
    assert "pvecm create homelab-cluster --link0 10.0.10.11 --link1 10.0.100.11" in creates[0].inputs["create"]
    assert [r.name for r in joins] == ["homelab-cluster-pve2-cluster-join", "homelab-cluster-pve3-cluster-join"]
    for join, (address, storage) in zip(joins, [("10.0.10.12", "10.0.100.12"), ("10.0.10.13", "10.0.100.13")]):
        assert f"pvecm add 10.0.10.11 --link0 {address} --link1 {storage} --use_ssh" in join.inputs["create"]


def test_second_join_waits_for_the_first(homelab, monkeypatch):
    import pulumi

    seen = _watch_steps(monkeypatch)
    run_program(homelab)
    first_join, _ = seen["pve2-cluster-join"]
    _, authorize_deps = seen["pve1-authorize-pve3"]
    assert first_join in authorize_deps, "pve3's join chain must start after pve2's join"
    _, quorum_deps = seen["pve1-cluster-quorum"]
    assert seen["pve3-cluster-join"][0] in quorum_deps
    assert isinstance(first_join, pulumi.CustomResource)


def test_three_mons_and_nine_osds(homelab_resources):
    assert len(_named(homelab_resources, "-ceph-mon")) == 3
    assert len(_named(homelab_resources, "-ceph-mgr")) == 3
    osds = [r for r in homelab_resources if r.type == COMMAND and "-ceph-osd-" in r.name]
    assert len(osds) == 9
    assert {r.name.split("-")[1] for r in osds} == {"pve1", "pve2", "pve3"}  # ceph-NODE-ceph-osd-DISK
    assert all("pveceph osd create /dev/sd" in r.inputs["create"] for r in osds)


def test_two_pools_of_three_two_with_rbd_storage(homelab_resources):
    pools = [r for r in homelab_resources if r.type == COMMAND and "-ceph-pool-" in r.name]
    assert sorted(r.name for r in pools) == ["ceph-pve1-ceph-pool-backup-storage", "ceph-pve1-ceph-pool-vm-storage"]
    for pool in pools:
        script = pool.inputs["create"]
        assert "--size 3 --min_size 2" in script
        assert "pvesm add rbd" in script
    ceph = _of_type(homelab_resources, "proxmox-ha:ceph:CephCluster")[0]
    assert [(p["name"], p["size"], p["minSize"]) for p in ceph.inputs["pools"]] == [("vm-storage", 3, 2), ("backup-storage", 3, 2)]
    assert ceph.inputs["osdHosts"] == ["pve1", "pve2", "pve3"]


def test_pve8_yields_ha_groups_and_bookworm_repositories(homelab):
    homelab["cluster"]["pveVersion"] = 8
    homelab["ceph"]["release"] = "squid"
    homelab_resources = run_program(homelab)
    (group,) = _of_type(homelab_resources, "proxmoxve:index/hagroup:Hagroup")
    assert group.inputs["group"] == "critical_services"
    assert group.inputs["nodes"] == {"pve1": 2, "pve2": 1, "pve3": 1}
    (resource,) = _of_type(homelab_resources, "proxmoxve:index/haresource:Haresource")
    assert resource.inputs["resourceId"] == "vm:100"
    assert resource.inputs["group"] == "critical_services"
    assert (resource.inputs["maxRestart"], resource.inputs["maxRelocate"]) == (3, 3)
    assert not _of_type(homelab_resources, "proxmoxve:index/harule:Harule")
    repos = _named(homelab_resources, "pve1-apt-repositories")[0].inputs["create"]
    assert "pve-no-subscription.list" in repos and "bookworm pve-no-subscription" in repos


def test_pbs_storage_and_nightly_job_through_pves_cli_on_the_first_node(homelab_resources):
    # Not pulumi-proxmoxve's storage.Pbs/backup.Job: they panic after PVE accepted the object (#967).
    assert not _of_type(homelab_resources, "proxmoxve:storage/pbs:Pbs") and not _of_type(homelab_resources, "proxmoxve:backup/job:Job")
    (pbs,) = _named(homelab_resources, "pve1-pbs-storage-pbs-backup")
    assert "| pvesm add pbs pbs-backup --server 10.0.10.50 --datastore homelab-backups" in pbs.inputs["create"]
    assert "if pvesh get /storage/pbs-backup >/dev/null 2>&1; then pvesh delete /storage/pbs-backup; fi" in pbs.inputs["delete"]
    (job,) = _named(homelab_resources, "pve1-backup-job-nightly")
    assert "pvesh create /cluster/backup --id nightly --schedule 02:00 --storage pbs-backup" in job.inputs["create"]
    assert "--all 1" in job.inputs["create"] and "pvesh delete /cluster/backup/nightly" in job.inputs["delete"]


def test_ha_resources_wait_for_the_guest_check(homelab_resources):
    (check,) = _named(homelab_resources, "pve1-ha-guests")
    assert "proxmox-ha:ha.resources[0].id: vm:100 does not exist in the cluster" in check.inputs["create"]


def test_watchdog_and_fencing_checks_on_every_node(homelab_resources):
    watchdogs = _named(homelab_resources, "-watchdog-module")
    assert len(watchdogs) == 3 and all("WATCHDOG_MODULE=ipmi_watchdog" in r.inputs["create"] for r in watchdogs)
    assert len(_named(homelab_resources, "-ipmi-reachable")) == 3
    # The seed's `ha-manager add fence-*` does not exist on PVE.
    assert not any(re.search(r"ha-manager \S+ fence", r.inputs.get("create", "")) for r in homelab_resources if r.type == COMMAND)


def test_the_seed_on_pve9_yields_node_affinity_rules_instead_of_groups(homelab_resources):
    resources = homelab_resources
    assert not _of_type(resources, "proxmoxve:index/hagroup:Hagroup")
    (rule,) = _of_type(resources, "proxmoxve:index/harule:Harule")
    assert rule.inputs["type"] == "node-affinity"
    assert rule.inputs["resources"] == ["vm:100"]
    assert rule.inputs["nodes"] == {"pve1": 2, "pve2": 1, "pve3": 1}
    (resource,) = _of_type(resources, "proxmoxve:index/haresource:Haresource")
    assert "group" not in resource.inputs and resource.inputs["failback"] is True
    repos = _named(resources, "pve1-apt-repositories")[0].inputs["create"]
    assert "Suites: trixie" in repos and "proxmox.sources" in repos


@pytest.mark.parametrize("change", [
    lambda s: s["cluster"]["nodes"][1].update(storageAddress="10.0.99.12"),
    lambda s: s["ceph"]["pools"][0].update(minSize=3, size=3),
    lambda s: s["backup"]["jobs"][0].update(schedule="0 2 * * *"),
    lambda s: s["ha"]["resources"][0].update(group="nope"),
])
def test_bad_config_registers_no_resource(homelab, change):
    import pulumi

    change(homelab)
    with pytest.raises(pulumi.RunError, match=r"proxmox-ha:\w+\."):
        run_program(homelab)
    from . import conftest

    assert conftest.LAST_MOCKS.resources == []


def test_missing_secret_is_named(homelab):
    import pulumi

    secrets = {k: v for k, v in SECRETS.items() if k != "pbsPassword"}
    with pytest.raises(pulumi.RunError, match=r"proxmox-ha:pbsPassword: is required; set it with `pulumi config set --secret"):
        run_program(homelab, secrets)


def test_a_malformed_api_token_is_named_and_nothing_is_registered(homelab):
    import pulumi

    from . import conftest

    with pytest.raises(pulumi.RunError, match=r"proxmox-ha:apiToken: is not a PVE API token"):
        run_program(homelab, {**SECRETS, "apiToken": "root@pam=0f3c1a2b"})
    assert conftest.LAST_MOCKS.resources == []


def test_secrets_stay_secret(homelab_resources):
    (pbs,) = _named(homelab_resources, "pve1-pbs-storage-pbs-backup")
    assert pbs.inputs["stdin"][SECRET_SIG] and pbs.inputs["stdin"]["value"] == SECRETS["pbsPassword"] + "\n"
    assert SECRETS["pbsPassword"] not in pbs.inputs["create"]
    for command in _of_type(homelab_resources, COMMAND):
        assert SECRET_SIG in command.inputs["connection"], f"{command.name}: connection (private key) must be secret"
        assert SECRETS["sshPrivateKey"] not in command.inputs["create"]
    # Secrets reach a step on its stdin (a stock sshd refuses SSH env requests), as one secret value.
    for ipmi in _named(homelab_resources, "-ipmi-reachable"):
        assert "environment" not in ipmi.inputs
        assert ipmi.inputs["stdin"][SECRET_SIG] and ipmi.inputs["stdin"]["value"] == SECRETS["ipmiPassword"] + "\n"
    for exporter in _named(homelab_resources, "-pve-exporter"):
        assert "environment" not in exporter.inputs and exporter.inputs["stdin"][SECRET_SIG]
        assert "UNIT-TEST-EXPORTER-TOKEN" not in exporter.inputs["create"]
    # No secret value appears in any input outside a secret wrapper.
    plain = repr([_without_secrets(r.inputs) for r in homelab_resources])
    for name, value in SECRETS.items():
        assert value not in plain, f"{name} appears in plaintext"


def _without_secrets(value):
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return "<secret>"
        return {k: _without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def test_components_expose_policy_facts(homelab_resources):
    (cluster,) = _of_type(homelab_resources, "proxmox-ha:cluster:ProxmoxCluster")
    assert cluster.inputs["nodeCount"] == 3 and cluster.inputs["links"] == 2
    assert (cluster.inputs["cryptoCipher"], cluster.inputs["cryptoHash"]) == ("aes256", "sha256")
    (ha,) = _of_type(homelab_resources, "proxmox-ha:ha:HighAvailability")
    assert ha.inputs["watchdog"] == "ipmi_watchdog"


def test_pve9_nofailback_becomes_the_resource_flag(homelab):
    homelab["ha"]["groups"][0]["nofailback"] = True
    (resource,) = _of_type(run_program(homelab), "proxmoxve:index/haresource:Haresource")
    assert resource.inputs["failback"] is False


def test_retiring_runs_one_node_after_another_before_cephs_gate(homelab):
    homelab["cluster"]["decommission"] = ["pve4", "pve5"]
    resources = run_program(homelab)
    retire = [r.name for r in resources if r.type == COMMAND and r.name.startswith("decommission-")]
    steps = ("replication", "guests", "osds-out", "osds-destroy", "ceph-daemons", "membership", "files")
    assert retire == [f"decommission-pve1-retire-{n}-{s}" for n in ("pve4", "pve5") for s in steps]
    (component,) = _of_type(resources, "proxmox-ha:decommission:Decommission")
    assert component.inputs == {"retiring": ["pve4", "pve5"], "kept": ["pve1", "pve2", "pve3"], "ceph": True}
    # Nothing of the retired nodes is built any more: no node component, no join, no Ceph daemon.
    assert not [r for r in resources if r.type == COMMAND and ("-pve4-" in r.name or "-pve5-" in r.name) and not r.name.startswith("decommission-")]


def test_a_qdevice_joins_an_even_cluster_and_its_members_get_corosync_qdevice(homelab):
    resources = run_program(two_nodes_and_a_qdevice(homelab))
    names = [r.name for r in resources if r.type == COMMAND and r.name.startswith("qdevice-")]
    assert names == ["qdevice-qnetd-10.0.10.40-qnetd", "qdevice-pve1-root-rsa-key", "qdevice-qnetd-10.0.10.40-authorize-pve1",
                     "qdevice-pve1-qdevice-setup"]
    setup = _named(resources, "qdevice-pve1-qdevice-setup")[0]
    assert "pvecm qdevice setup 10.0.10.40 $force" in setup.inputs["create"]
    assert "pvecm qdevice remove" in setup.inputs["delete"]
    for packages in _named(resources, "-packages"):
        assert "corosync-qdevice" in packages.inputs["create"]
    (cluster,) = _of_type(resources, "proxmox-ha:cluster:ProxmoxCluster")
    assert cluster.inputs["qdevice"] is True and cluster.inputs["nodeCount"] == 2


def test_a_qdevice_with_an_odd_count_is_refused_before_anything_is_created(homelab):
    homelab["cluster"]["qdevice"] = {"address": "10.0.10.40"}
    with pytest.raises(Exception, match=r"proxmox-ha:cluster.qdevice: a QDevice is only for an even node count"):
        run_program(homelab)
    from .conftest import LAST_MOCKS
    assert LAST_MOCKS.resources == []


def _pve8(sections: dict) -> dict:
    sections["cluster"]["pveVersion"] = 8
    sections["ceph"]["release"] = "squid"
    return sections


def test_nothing_runs_on_any_node_before_every_nodes_release_and_the_members_are_checked(homelab, monkeypatch):
    # A PVE 8 stack: on PVE 9 the upgrade comes between (next test).
    seen = _watch_steps(monkeypatch, "node", "preflight", "ceph_upgrade")
    run_program(_pve8(homelab))
    releases = [seen[f"pve{i}-pve-release"][0] for i in (1, 2, 3)]
    members, members_deps = seen["pve1-cluster-members"]
    assert members_deps == releases
    aside, aside_deps = seen["pve1-qdevice-aside-possible"]
    assert aside_deps == [members]
    assert all(seen[f"pve{i}-ceph-squid-packages"][1] == [aside] for i in (1, 2, 3))
    # Ceph's release comes first; every node step waits for its daemons' step.
    ceph = seen["pve1-ceph-squid"][0]
    node_steps = [deps for key, (_, deps) in seen.items() if not key.split("-", 1)[1].startswith(("pve-release",
                  "cluster-members", "qdevice-aside-possible", "ceph-squid"))]
    assert len(node_steps) >= 18 and all(ceph in deps for deps in node_steps)
    assert "pveversion" in _named(run_program(homelab), "pve2-pve-release")[0].inputs["create"]


def test_a_pve9_stack_upgrades_pve8_members_node_by_node_before_any_pve9_node_step(homelab, monkeypatch):
    """The upgrade's checks run on every node after the preflight; then one node at a time, each driven by the next
    node in the stack's order; every node step waits for the last."""
    seen = _watch_steps(monkeypatch, "node", "preflight", "upgrade", "ceph_upgrade")
    run_program(homelab)
    ceph = seen["pve1-ceph-tentacle"][0]
    checks = [seen[f"pve{i}-upgrade-preflight"] for i in (1, 2, 3)]
    assert all(deps == [ceph] for _, deps in checks)
    first, second, third = seen["pve2-pve9-pve1"], seen["pve3-pve9-pve2"], seen["pve1-pve9-pve3"]
    assert first[1] == [resource for resource, _ in checks] and second[1] == [first[0]] and third[1] == [second[0]]
    node_steps = [deps for key, (_, deps) in seen.items() if key.split("-", 1)[1] in ("apt-repositories", "watchdog-module")]
    assert len(node_steps) == 6 and all(deps == [third[0]] for deps in node_steps)


def test_a_pve8_stack_has_no_upgrade(homelab):
    resources = run_program(_pve8(homelab))
    assert not [r for r in resources if r.name.startswith("upgrade") or "-pve9-" in r.name]
    assert _of_type(resources, "proxmox-ha:ceph_upgrade:CephUpgrade")


def test_ceph_moves_packages_first_then_its_daemons_from_the_first_node(homelab, monkeypatch):
    """Proxmox's Ceph upgrade guides: packages on every node, then the daemons, one at a time, from the first node;
    nothing of it on a stack without Ceph."""
    seen = _watch_steps(monkeypatch, "ceph_upgrade")
    run_program(homelab)
    packages = [seen[f"pve{i}-ceph-tentacle-packages"][0] for i in (1, 2, 3)]
    _, after = seen["pve1-ceph-tentacle"]
    assert after == packages and len(seen) == 4
    assert "10.0.10.13" in _named(run_program(homelab), "ceph-upgrade-pve1-ceph-tentacle")[0].inputs["create"]
    del homelab["ceph"]
    for node in homelab["cluster"]["nodes"]:
        node.pop("osdDisks", None)
    assert not _of_type(run_program(homelab), "proxmox-ha:ceph_upgrade:CephUpgrade")


def test_a_step_runs_only_on_the_node_it_is_built_for():
    from components.connection import Host
    from remote import node_steps

    with pytest.raises(ValueError, match="step watchdog-module is built for pve1, not for pve2 where it would run"):
        Host("pve2", connection=None).run(node_steps.watchdog("pve1", "softdog"), parent=None)


def test_only_the_exporter_runs_again_when_the_nodes_move_to_another_pve_release(homelab):
    """Its venv belongs to the node's Python, which the upgrade to PVE 9 replaces (3.11 to 3.13): a change of its
    triggers replaces the step, and the replacement's create runs it again."""
    def triggered(sections):
        return {r.name: r.inputs["triggers"] for r in run_program(sections) if r.type == COMMAND and r.inputs.get("triggers")}

    nine = triggered(homelab)
    assert nine == {f"monitoring-pve{i}-pve-exporter": ["PVE 9"] for i in (1, 2, 3)}
    assert triggered(_pve8(homelab)) == {name: ["PVE 8"] for name in nine}


def test_a_step_with_an_undo_is_never_replaced_by_triggers():
    """The replacement is made before the old one is deleted: the old one's undo would take back the new work."""
    from components.connection import Host
    from remote import ha_steps

    step = dataclasses.replace(ha_steps.shutdown_policy("pve1", "conditional"), triggers=("PVE 9",))
    with pytest.raises(ValueError, match="step ha-shutdown-policy has an undo and triggers"):
        Host("pve1", connection=None).run(step, parent=None)


def test_a_step_built_later_must_be_the_one_its_resource_was_named_for():
    import pulumi

    from components.connection import Host
    from remote import cluster_steps

    from .conftest import RecordingMocks

    pulumi.runtime.set_mocks(RecordingMocks(), project="proxmox-ha", stack="unit", preview=False)
    host = Host("pve1", connection=None)

    @pulumi.runtime.test
    def go():
        parent = pulumi.ComponentResource("proxmox-ha:test:Parent", "parent")
        step = pulumi.Output.from_input("ssh-ed25519 AAAA").apply(lambda key: cluster_steps.authorize_root_key("pve1", "pve3", key))
        return host.run_later("authorize-pve2", step, parent).urn

    with pytest.raises(ValueError, match="step authorize-pve3 was registered by run_later as authorize-pve2"):
        go()


def test_prometheus_runs_on_its_own_machine_after_the_exporters_with_the_stacks_targets(monkeypatch, homelab):
    steps = _watch_steps(monkeypatch)
    resources = run_program(homelab)
    (server,) = _named(resources, "prometheus-10.0.10.30-prometheus")
    script = server.inputs["create"]
    assert "10.0.10.11:9221" in script and "10.0.10.13:9283" in script and "10.0.10.12:9100" in script
    assert "systemctl reload" in script and "systemctl restart" not in script, "a change reloads, never restarts"
    _, depends_on = steps["prometheus-10.0.10.30-prometheus"]
    assert any(getattr(d, "_name", "") == "monitoring" for d in depends_on), "after the exporters"
    assert len(_named(resources, "-node-exporter")) == 3


def test_without_a_prometheus_machine_the_targets_are_an_output_and_nothing_scrapes(monkeypatch, homelab):
    import program

    exports = {}
    monkeypatch.setattr(program.pulumi, "export", lambda name, value: exports.update({name: value}))
    del homelab["monitoring"]["prometheus"]
    resources = run_program(homelab)
    assert not [r for r in resources if r.name.startswith("prometheus")]
    jobs = exports["scrapeTargets"]
    assert [g["targets"] for g in jobs["node"]] == [["10.0.10.11:9100"], ["10.0.10.12:9100"], ["10.0.10.13:9100"]]
    assert jobs["pve"][2]["labels"]["__param_target"] == "10.0.10.13"


def test_a_named_grafana_gets_the_dashboard_from_the_first_node_with_the_token_on_stdin_only(homelab):
    homelab["monitoring"]["grafana"] = {"url": "https://grafana.example.lan:3000"}
    resources = run_program(homelab)
    (step,) = _named(resources, "pve1-grafana-dashboard")
    assert "https://grafana.example.lan:3000" in step.inputs["create"] and '"uid"' in step.inputs["create"]
    stdin = step.inputs["stdin"]
    assert stdin[SECRET_SIG] and stdin["value"] == f"{SECRETS['grafanaToken']}\n", "a secret, alone on stdin"
    assert [r.name for r in resources if SECRETS["grafanaToken"] in json.dumps(r.inputs)] == [step.name]
    assert SECRETS["grafanaToken"] not in step.inputs["create"]


def test_the_webhook_url_reaches_alertmanagers_config_on_stdin_only(homelab):
    url = "https://hooks.example.lan/services/T0/B1/s3cr3t?x=1&y=2"
    resources = run_program(homelab, {**SECRETS, "alertWebhookUrl": url})
    (server,) = _named(resources, "prometheus-10.0.10.30-prometheus")
    assert server.inputs["stdin"]["value"] == f"{url}\n" and "webhook_configs" in server.inputs["create"]
    assert [r.name for r in resources if "s3cr3t" in json.dumps(r.inputs)] == [server.name]
    assert "s3cr3t" not in server.inputs["create"]
    (without,) = _named(run_program(homelab), "prometheus-10.0.10.30-prometheus")
    assert "stdin" not in without.inputs and "webhook_configs" not in without.inputs["create"]


def test_ha_follows_pves_own_migration_of_groups_to_rules_over_two_runs(homelab):
    """The upgrading run keeps the groups (PVE migrates them) and waits for that; the next imports PVE's rule; after
    that the rule keeps its ID. A stack born on PVE 9 names its rules after its groups."""
    group = homelab["ha"]["groups"][0]["name"]
    upgrading = run_program(homelab, outputs={"haShape": "groups"})
    assert [r.inputs["group"] for r in _of_type(upgrading, "proxmoxve:index/hagroup:Hagroup")] == [group]
    assert not _of_type(upgrading, "proxmoxve:index/harule:Harule") and _named(upgrading, "ha-groups-migrated")
    assert all(r.inputs.get("group") == group for r in _of_type(upgrading, "proxmoxve:index/haresource:Haresource")
               if r.inputs.get("group"))
    adopting = run_program(homelab, outputs={"haShape": "migrated"})
    rule, = _of_type(adopting, "proxmoxve:index/harule:Harule")
    assert rule.import_id == rule.inputs["rule"] == f"ha-group-{group}"
    assert rule.inputs["comment"] == f"Generated from HA group '{group}'."
    assert not _of_type(adopting, "proxmoxve:index/hagroup:Hagroup") and not _named(adopting, "ha-groups-migrated")
    adopted, = _of_type(run_program(homelab, outputs={"haShape": "rules", "haRules": {group: f"ha-group-{group}"}}),
                        "proxmoxve:index/harule:Harule")
    assert adopted.import_id is None and adopted.inputs["rule"] == f"ha-group-{group}"
    born, = _of_type(run_program(homelab), "proxmoxve:index/harule:Harule")
    assert born.inputs["rule"] == group and "comment" not in born.inputs
