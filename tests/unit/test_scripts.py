"""The remote steps as text (valid bash, guarded by a check) and run for real against a private /etc."""
from __future__ import annotations

import base64
import hashlib
import json
import shlex
import subprocess
import zipfile

import pytest

from remote import backup_steps, ceph_steps, cluster_steps, ha_steps, node_steps, ops_steps
from remote.step import Step, wait_for

from .conftest import run_program

# Probes that change nothing: there is nothing to skip.
READ_ONLY = {"ipmi-reachable"}


def _scripts(resources) -> dict[str, str]:
    out = {}
    for r in resources:
        if r.type == "command:remote:Command":
            argv = shlex.split(r.inputs["create"])
            assert argv[:2] == ["bash", "-c"], r.name
            out[r.name] = argv[2]
    return out


@pytest.fixture(scope="module")
def homelab_scripts():
    from .conftest import ROOT, stack_sections

    return _scripts(run_program(stack_sections(ROOT / "Pulumi.homelab.yaml")))


def test_every_script_is_valid_bash(homelab_scripts, tmp_path):
    assert len(homelab_scripts) > 40
    for name, script in homelab_scripts.items():
        path = tmp_path / f"{name}.sh"
        path.write_text(script)
        result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{name}: {result.stderr}"


def test_every_mutating_script_is_guarded_by_a_check(homelab_scripts):
    for name, script in homelab_scripts.items():
        assert script.startswith("set -euo pipefail\n"), name
        assert "already done, skipped" in script, name
        check = script.split("if {\n", 1)[1].split("\n} >/dev/null; then", 1)[0]
        if not any(name.endswith(step) for step in READ_ONLY):
            assert check.strip() not in ("", "false", "true"), f"{name} has no real check"


def test_failures_name_step_and_node(homelab_scripts):
    script = homelab_scripts["homelab-cluster-pve2-cluster-join"]
    assert "step=cluster-join node=pve2" in script
    assert "re-run 'pulumi up'" in script


def test_hosts_block_is_written_once_and_replaced_in_place(etc):
    etc.file("/etc/hosts", "127.0.0.1 localhost\n")
    first = node_steps.hosts("pve1", [("10.0.10.11", "pve1"), ("10.0.10.12", "pve2")])
    assert etc.run(first).returncode == 0
    assert etc.run(first).stderr.strip().endswith("already done, skipped")
    changed = node_steps.hosts("pve1", [("10.0.10.11", "pve1"), ("10.0.10.99", "pve2")])
    assert etc.run(changed).returncode == 0
    hosts = etc.read("/etc/hosts")
    assert hosts.startswith("127.0.0.1 localhost\n")
    assert hosts.count(node_steps.HOSTS_BEGIN) == 1 and "10.0.10.99 pve2" in hosts and "10.0.10.12" not in hosts


def test_watchdog_module_line_is_set_once(etc):
    etc.file("/etc/default/pve-ha-manager", "# select watchdog module (default is softdog)\n#WATCHDOG_MODULE=ipmi_watchdog\n")
    step = node_steps.watchdog("pve1", "ipmi_watchdog")
    result = etc.run(step)
    assert result.returncode == 0, result.stderr
    assert "takes effect at the next reboot" in result.stderr
    assert etc.read("/etc/default/pve-ha-manager").splitlines().count("WATCHDOG_MODULE=ipmi_watchdog") == 1
    assert "#WATCHDOG_MODULE" not in etc.read("/etc/default/pve-ha-manager")
    assert "already done" in etc.run(step).stderr


def test_pve8_repositories_turn_enterprise_off_and_no_subscription_on(etc):
    etc.file("/etc/apt/sources.list.d/pve-enterprise.list", "deb https://enterprise.proxmox.com/debian/pve bookworm pve-enterprise\n")
    step = node_steps.repositories("pve1", 8)
    assert etc.run(step).returncode == 0
    assert etc.read("/etc/apt/sources.list.d/pve-enterprise.list").startswith("# deb")
    assert "bookworm pve-no-subscription" in etc.read("/etc/apt/sources.list.d/pve-no-subscription.list")
    assert "already done" in etc.run(step).stderr


def test_pve9_repositories_use_deb822(etc):
    etc.file("/etc/apt/sources.list.d/pve-enterprise.sources", "Types: deb\nURIs: https://enterprise.proxmox.com/debian/pve\nSuites: trixie\nComponents: pve-enterprise\n")
    step = node_steps.repositories("pve1", 9)
    assert etc.run(step).returncode == 0
    assert "Enabled: false" in etc.read("/etc/apt/sources.list.d/pve-enterprise.sources")
    assert "Components: pve-no-subscription" in etc.read("/etc/apt/sources.list.d/proxmox.sources")
    assert "already done" in etc.run(step).stderr


COROSYNC = """
totem {
  cluster_name: homelab-cluster
  config_version: 3
  interface {
    linknumber: 0
  }
  ip_version: ipv4-6
  link_mode: passive
  secauth: on
  version: 2
}
"""


def test_totem_crypto_is_set_and_config_version_bumped_once(etc):
    etc.file("/etc/pve/corosync.conf", COROSYNC)
    etc.fake("pvecm", "echo 'Quorate:          Yes'")
    step = cluster_steps.totem_crypto("pve1", "aes256", "sha256")
    result = etc.run(step)
    assert result.returncode == 0, result.stderr
    conf = etc.read("/etc/pve/corosync.conf")
    assert "crypto_cipher: aes256" in conf and "crypto_hash: sha256" in conf
    assert "config_version: 4" in conf and "config_version: 3" not in conf
    assert "already done" in etc.run(step).stderr
    assert "config_version: 4" in etc.read("/etc/pve/corosync.conf")


def test_create_refuses_a_node_of_another_cluster(etc):
    etc.file("/etc/corosync/corosync.conf", COROSYNC.replace("homelab-cluster", "other"))
    etc.fake("pvecm", "exit 0")
    result = etc.run(cluster_steps.create("pve1", "homelab-cluster", "10.0.10.11", "10.0.100.11"))
    assert result.returncode == 1
    assert "step 'cluster-create' failed on node pve1: node belongs to cluster 'other'" in result.stderr
    assert etc.called() == []


def test_create_skips_a_node_already_in_the_cluster(etc):
    etc.file("/etc/corosync/corosync.conf", COROSYNC)
    etc.fake("pvecm", "exit 0")
    result = etc.run(cluster_steps.create("pve1", "homelab-cluster", "10.0.10.11", "10.0.100.11"))
    assert result.returncode == 0 and "already done" in result.stderr
    assert etc.called() == []


def test_create_runs_pvecm_and_waits_for_quorum(etc):
    etc.fake("pvecm", "[ \"$1\" = status ] && echo 'Quorate:          Yes'; exit 0")
    result = etc.run(cluster_steps.create("pve1", "homelab-cluster", "10.0.10.11", "10.0.100.11"))
    assert result.returncode == 0, result.stderr
    assert etc.called()[0] == "pvecm create homelab-cluster --link0 10.0.10.11 --link1 10.0.100.11"


def test_a_join_is_done_once_the_node_is_an_online_member_by_its_exact_name(etc):
    etc.fake("ssh", "true")
    step = cluster_steps.join("pve2", "homelab-cluster", "10.0.10.11", None, "10.0.10.12", None)
    nodes = "    Nodeid      Votes Name\\n         1          1 pve1\\n         2          1 {}\\n"
    for listed, joined in (("pve2 (local)", True), ("pve2-old (local)", False)):
        etc.fake("pvecm", f'[ "$1" = status ] && echo "Quorate:          Yes"; [ "$1" = nodes ] && printf "{nodes.format(listed)}"; true')
        result = etc.run(step)
        assert (result.returncode == 0) == joined and ("did not take effect" in result.stderr) != joined, result.stderr


def test_a_new_monitor_is_awaited_past_a_monmap_ceph_cannot_give_yet(etc):
    # The monitors elect as one joins: a `ceph mon dump` that cannot answer is "not yet", not a failed step.
    etc.fake("pveceph", "true")
    etc.file("/etc/electing", "")
    etc.file("/etc/monmap.json", json.dumps({"mons": [{"name": "pve1", "public_addr": "10.0.100.11:6789/0"}]}))
    etc.fake("ceph", 'if [ -e /etc/electing ]; then rm /etc/electing; echo "error connecting to the cluster" >&2; exit 1; fi; '
                     'cat /etc/monmap.json; echo "dumped monmap epoch 2" >&2')
    result = etc.run(ceph_steps.monitor("pve1"))
    assert result.returncode == 0 and "ceph-mon on pve1: done" in result.stderr, result.stderr
    # Asked until it answers: once while electing, once with the new monitor in it.
    assert etc.called().count("ceph --connect-timeout 30 mon dump --format json") == 2


def test_a_failing_tool_reports_the_command_and_what_next(etc):
    etc.fake("pvecm", "echo 'cluster not ready - no quorum?' >&2; exit 255")
    result = etc.run(cluster_steps.join("pve3", "homelab-cluster", "10.0.10.11", "ssh-ed25519 AAAA", "10.0.10.13", "10.0.100.13"))
    assert result.returncode == 1
    assert "cluster not ready - no quorum?" in result.stderr
    assert "step 'cluster-join' failed on node pve3: pvecm add to 10.0.10.11 was refused" in result.stderr
    assert "re-run 'pulumi up'" in result.stderr


INSTALLER_INTERFACES = """
auto lo
iface lo inet loopback

iface eno1 inet manual

auto vmbr0
iface vmbr0 inet static
	address 10.0.10.11/24
	gateway 10.0.10.1
	bridge-ports eno1
	bridge-stp off
	bridge-fd 0

iface eno2 inet manual

auto vmbr1
iface vmbr1 inet static
	address 10.0.100.99/24
	bridge-ports eno2

source /etc/network/interfaces.d/*
"""


def test_the_storage_bridge_goes_into_pves_own_file_and_vmbr0_is_left_alone(etc):
    etc.file("/etc/network/interfaces", INSTALLER_INTERFACES)
    etc.fake("ifreload", "touch /etc/applied")
    # The kernel has vmbr1's address once ifreload ran.
    etc.fake("ip", "[ -e /etc/applied ] && echo '7: vmbr1    inet 10.0.100.11/24 brd 10.0.100.255 scope global vmbr1'; true")
    vmbr0 = INSTALLER_INTERFACES.split("auto vmbr0", 1)[1].split("iface eno2", 1)[0]
    step = node_steps.storage_bridge("pve1", "eno2", "10.0.100.11/24")
    result = etc.run(step)
    assert result.returncode == 0, result.stderr
    interfaces = etc.read("/etc/network/interfaces")
    assert interfaces.count("iface vmbr1") == 1 and "address 10.0.100.11/24" in interfaces and "10.0.100.99" not in interfaces
    assert vmbr0 in interfaces and "source /etc/network/interfaces.d/*" in interfaces
    assert [call for call in etc.called() if not call.startswith("ip ")] == ["ifreload -a"]
    assert "already done" in etc.run(step).stderr
    assert [call for call in etc.called() if not call.startswith("ip ")] == ["ifreload -a"]
    # In the file but not applied (say ifreload failed half-way): the step applies it again.
    (etc.etc / "applied").unlink()
    assert etc.run(step).returncode == 0
    assert [call for call in etc.called() if not call.startswith("ip ")] == ["ifreload -a", "ifreload -a"]


def test_a_management_bridge_without_the_address_stops_and_changes_nothing(etc):
    etc.file("/etc/network/interfaces", INSTALLER_INTERFACES)
    etc.fake("ip", "echo '5: vmbr0    inet 10.0.10.11/24 brd 10.0.10.255 scope global vmbr0'")
    etc.fake("ifreload", "exit 0")
    assert "already done" in etc.run(node_steps.management_bridge("pve1", "10.0.10.11/24")).stderr
    result = etc.run(node_steps.management_bridge("pve1", "10.0.10.12/24"))
    assert result.returncode == 1
    assert "vmbr0 in /etc/network/interfaces does not carry 10.0.10.12/24" in result.stderr
    assert etc.read("/etc/network/interfaces") == INSTALLER_INTERFACES.lstrip()
    assert not any(call.startswith("ifreload") for call in etc.called())


def test_ha_guests_refuses_a_missing_guest_naming_its_stack_key(etc):
    step = ha_steps.guests_exist("pve1", [("proxmox-ha:ha.resources[0].id", "vm:100"), ("proxmox-ha:ha.resources[1].id", "ct:200")])
    etc.file("/etc/pve/nodes/pve2/lxc/200.conf", "hostname: ct200\n")
    result = etc.run(step)
    assert result.returncode == 1
    assert ("step 'ha-guests' failed on node pve1: proxmox-ha:ha.resources[0].id: vm:100 does not exist in the cluster"
            " (no VM 100 under /etc/pve/nodes); create or restore the VM first") in result.stderr
    # A container with the VM's ID is not the VM.
    etc.file("/etc/pve/nodes/pve1/lxc/100.conf", "hostname: ct100\n")
    assert etc.run(step).returncode == 1
    etc.file("/etc/pve/nodes/pve3/qemu-server/100.conf", "memory: 512\n")
    result = etc.run(step)
    assert result.returncode == 0 and "already done" in result.stderr


PBS_FP = ":".join(["AB"] * 32)


def _pbs_step():
    return backup_steps.pbs_storage("pve1", "pbs-backup", "10.0.10.50", "store", "backup@pbs", PBS_FP, None, "proxmox-ha:backup.pbs")


def test_pbs_storage_checks_the_server_before_pve_is_asked(etc):
    etc.fake("pvesh", "exit 1")  # no such storage yet
    etc.fake("openssl", "exit 1")  # nothing answers
    result = etc.run(_pbs_step())
    assert result.returncode == 1
    assert ("the PBS at 10.0.10.50:8007 does not answer over TLS from this node; set up Proxmox Backup Server first"
            in result.stderr and "proxmox-ha:backup.pbs.server" in result.stderr)
    assert not any(call.startswith("pvesh create") for call in etc.called())
    etc.fake("openssl", "[ \"$1\" = x509 ] && echo 'sha256 Fingerprint=CD:CD'; exit 0")
    result = etc.run(_pbs_step())
    assert result.returncode == 1 and f"presents fingerprint CD:CD, not proxmox-ha:backup.pbs.fingerprint ({PBS_FP})" in result.stderr


def test_pbs_storage_password_reaches_pvesm_on_stdin_never_in_arguments(etc):
    etc.fake("pvesh", "exit 1")
    etc.fake("openssl", f"[ \"$1\" = x509 ] && echo 'sha256 Fingerprint={PBS_FP}'; exit 0")
    # pvesm reads a bare --password from stdin (PVE::PTY::read_password); it saves what it read.
    etc.fake("pvesm", 'mkdir -p /etc/pve/priv/storage; [ "${!#}" = --password ] && IFS= read -r pw && echo "$pw" > /etc/pve/priv/storage/pbs-backup.pw')
    step = _pbs_step()
    script = step.script()
    assert "hunter2" not in script
    assert "printf '%s\\n' \"$PBS_PASSWORD\" | pvesm add pbs pbs-backup --server 10.0.10.50 --datastore store" in script
    result = etc.run(step, "hunter2\n")
    adds = [c for c in etc.called() if c.startswith("pvesm add")]
    assert adds and all("hunter2" not in c for c in etc.called()) and adds[0].endswith("--password")
    assert (etc.etc / "pve/priv/storage/pbs-backup.pw").read_text() == "hunter2\n", result.stderr


def _exporter_wheel(folder, version: str) -> None:
    """A wheel named prometheus-pve-exporter at `version` whose `pve_exporter` prints its version."""
    info = f"prometheus_pve_exporter-{version}.dist-info"
    files = {
        "fake_pve_exporter.py": f"def main():\n    print({version!r})\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: prometheus-pve-exporter\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: proxmox-ha-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": "[console_scripts]\npve_exporter = fake_pve_exporter:main\n",
    }
    digest = {name: base64.urlsafe_b64encode(hashlib.sha256(body.encode()).digest()).rstrip(b"=").decode()
              for name, body in files.items()}
    record = "".join(f"{name},sha256={digest[name]},{len(body.encode())}\n" for name, body in files.items())
    with zipfile.ZipFile(folder / f"prometheus_pve_exporter-{version}-py3-none-any.whl", "w") as wheel:
        for name, body in {**files, f"{info}/RECORD": record + f"{info}/RECORD,,\n"}.items():
            wheel.writestr(name, body)


def test_the_exporter_installs_with_debians_pip_wheel_once_and_upgrades(etc, tmp_path, monkeypatch):
    """The node's pip index (here a folder of wheels), its python3 and Debian's pip wheel, for real; no pip in the
    venv, as ensurepip would put there. A re-run with the exporter running is a no-op; a new version upgrades; a
    venv another Python made is made anew."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for version in ("3.10.2", "3.10.3"):
        _exporter_wheel(wheels, version)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    etc.fake("dpkg-query", "echo 'install ok installed'")
    etc.fake("systemctl", "exit 0")
    (etc.etc / "systemd" / "system").mkdir(parents=True)
    secrets = "pve-exporter@pve\nexporter\n0f0e0d0c-0b0a-0908-0706-050403020100\n"
    venv = etc.opt / "prometheus-pve-exporter"

    def exporter() -> str:  # its shebang names /opt, which is the scratch folder only inside the step's namespace
        return subprocess.run([venv / "bin" / "python", venv / "bin" / "pve_exporter"], capture_output=True, text=True).stdout

    first = etc.run(ops_steps.pve_exporter("pve1", 9221, "3.10.2", 8), secrets)
    assert first.returncode == 0, first.stderr
    assert exporter() == "3.10.2\n"
    assert not (venv / "bin" / "pip").exists(), "the venv was made without ensurepip"
    assert "token_value: 0f0e0d0c-0b0a-0908-0706-050403020100" in etc.read("/etc/prometheus/pve.yml")
    assert "systemctl restart prometheus-pve-exporter" in etc.called()

    again = etc.run(ops_steps.pve_exporter("pve1", 9221, "3.10.2", 8), secrets)
    assert again.returncode == 0 and "already done, skipped" in again.stderr, again.stderr

    newer = etc.run(ops_steps.pve_exporter("pve1", 9221, "3.10.3", 8), secrets)
    assert newer.returncode == 0, newer.stderr
    assert exporter() == "3.10.3\n"

    # After the upgrade to PVE 9 the node's python3 is 3.13, and the venv's packages are under lib/python3.11, where
    # it does not look. Here the venv's packages move to another Python's folder, as this machine has one Python.
    lib = venv / "lib"
    (site,) = lib.iterdir()
    site.rename(lib / "python3.9")
    moved = etc.run(ops_steps.pve_exporter("pve1", 9221, "3.10.3", 9), secrets)
    assert moved.returncode == 0 and "already done" not in moved.stderr, moved.stderr
    assert exporter() == "3.10.3\n"
    assert [d.name for d in lib.iterdir()] == [site.name], "the old Python's packages went with the old venv"


FAKE_PVESH_OPTIONS = """options=/etc/fake-datacenter.json
[ -e $options ] || echo '{"keyboard": "de"}' > $options
case "$1 $2" in
  "get /cluster/options") cat $options ;;
  "set /cluster/options")
    if [ "$3" = --delete ]; then python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop(sys.argv[2]); json.dump(d, open(sys.argv[1], "w"))' $options "$4"
    else python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["ha"]={"shutdown_policy": sys.argv[2].split("=")[1]}; json.dump(d, open(sys.argv[1], "w"))' $options "$4"; fi ;;
esac"""


def test_shutdown_policy_is_set_alone_and_destroy_puts_back_what_was_there(etc):
    etc.fake("pvesh", FAKE_PVESH_OPTIONS)
    step = ha_steps.shutdown_policy("pve1", "conditional")
    assert etc.run(step).returncode == 0
    assert json.loads(etc.read("/etc/fake-datacenter.json")) == {"keyboard": "de", "ha": {"shutdown_policy": "conditional"}}
    assert "already done" in etc.run(step).stderr
    # The value it replaced is kept: first none, so undo removes the option and keeps the rest.
    undo = Step(name="undo", node="pve1", check="false", act=step.undo)
    assert etc.run(undo).returncode == 0
    assert json.loads(etc.read("/etc/fake-datacenter.json")) == {"keyboard": "de"}
    # A user's own policy comes back after destroy.
    etc.file("/etc/fake-datacenter.json", '{"keyboard": "de", "ha": {"shutdown_policy": "migrate"}}')
    assert etc.run(step).returncode == 0 and etc.run(undo).returncode == 0
    assert json.loads(etc.read("/etc/fake-datacenter.json"))["ha"] == {"shutdown_policy": "migrate"}


def test_a_member_dropped_from_the_config_is_refused_unless_decommissioned(etc):
    nodelist = "".join(f"  node {{\n    name: {n}\n    nodeid: {i}\n  }}\n" for i, n in enumerate(("pve1", "pve2", "pve3"), 1))
    etc.file("/etc/pve/corosync.conf", f"nodelist {{\n{nodelist}}}\n{COROSYNC}")
    assert "already done" in etc.run(cluster_steps.members_known("pve1", ["pve1", "pve2", "pve3"], [])).stderr
    dropped = etc.run(cluster_steps.members_known("pve1", ["pve1", "pve2"], []))
    assert dropped.returncode == 1
    assert ("step 'cluster-members' failed on node pve1: pve3: cluster member(s) not in proxmox-ha:cluster.nodes. "
            "Add them back, or list them in proxmox-ha:cluster.decommission") in dropped.stderr
    # The opt-in: a member listed for retirement passes the guard (the retire steps take it from there).
    assert "already done" in etc.run(cluster_steps.members_known("pve1", ["pve1", "pve2"], ["pve3"])).stderr
    # A node that is no member yet (a new one) or no cluster at all: nothing to refuse.
    assert etc.run(cluster_steps.members_known("pve1", ["pve1", "pve2", "pve3", "pve4"], [])).returncode == 0


def test_a_node_on_another_pve_major_or_none_is_refused_naming_the_key(etc):
    step = node_steps.pve_release("pve2", 9, "proxmox-ha:cluster.pveVersion")
    etc.fake("pveversion", "echo 'pve-manager/9.1.3/f1c4dbb0a6ad0d45 (running kernel: 6.17.2-1-pve)'")
    assert "already done" in etc.run(step).stderr
    etc.fake("pveversion", "echo 'pve-manager/8.4.1/2a5fa54a8503f96d (running kernel: 6.8.12-9-pve)'")
    older = etc.run(step)
    assert older.returncode == 1
    assert ("step 'pve-release' failed on node pve2: proxmox-ha:cluster.pveVersion is 9, but pve2 runs PVE 8.4.1; "
            "set proxmox-ha:cluster.pveVersion to 8, or install PVE 9 on pve2") in older.stderr
    etc.fake("pveversion", "echo 'bash: pveversion: command not found' >&2; exit 127")
    none = etc.run(step)
    assert none.returncode == 1 and "pve2 runs no Proxmox VE (no pveversion)" in none.stderr
    assert etc.called()[-1] == "pveversion "  # it only asked


def _waiting(condition: str, seconds: int) -> subprocess.CompletedProcess:
    script = "fail() { echo \"$*\" >&2; exit 1; }\n" + wait_for(condition, "the flag", seconds=seconds)
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=30)


def test_a_wait_is_over_once_its_condition_held(tmp_path):
    """True the first time it is asked, false after (a file caught mid-rewrite): the wait is still over."""
    flag = tmp_path / "seen"
    done = _waiting(f"{{ [ ! -e {flag} ] && touch {flag}; }}", 4)
    assert done.returncode == 0, done.stderr


def test_a_wait_that_never_holds_fails_naming_what_it_waited_for():
    done = _waiting("false", 2)
    assert done.returncode == 1 and done.stderr.strip() == "timed out after 2s waiting for the flag"
