"""Root SSH as pve-cluster's Setup.pm sets it up (lab/shims/cluster_setup.py), in a temporary tree, and
SSHInfo.pm's member ssh command (pvelib.member_ssh)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import types

import pytest

from lab.shims import cluster_setup as CS
from lab.shims import pvelib as L

ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEdLabHostKeyOfPve1xxxxxxxxxxxxxxxxxxxxxxxxxx"
RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDLabRsaHostKey"


@pytest.fixture
def tree(tmp_path, monkeypatch):
    pve, etc_ssh, root_ssh = tmp_path / "pve", tmp_path / "etc-ssh", tmp_path / "root-ssh"
    for d in (pve, etc_ssh, root_ssh):
        d.mkdir()
    monkeypatch.setattr(CS, "PVE", pve)
    monkeypatch.setattr(L, "PVE", pve)
    for name, path in {"SSH_HOST_RSA_ID": etc_ssh / "ssh_host_rsa_key.pub",
                       "SSH_HOST_ED25519_ID": etc_ssh / "ssh_host_ed25519_key.pub",
                       "SSH_SYSTEM_KNOWN_HOSTS": etc_ssh / "ssh_known_hosts",
                       "SSH_SYSTEM_SERVER_CONFIG": etc_ssh / "sshd_config",
                       "SSH_ROOT_RSA_KEY_PRIVATE": root_ssh / "id_rsa",
                       "SSH_ROOT_RSA_KEY_PUBLIC": root_ssh / "id_rsa.pub",
                       "SSH_ROOT_AUTHORIZED_KEYS": root_ssh / "authorized_keys",
                       "SSH_ROOT_CLIENT_CONFIG": root_ssh / "config"}.items():
        monkeypatch.setattr(CS, name, path)
    (etc_ssh / "ssh_host_ed25519_key.pub").write_text(ED + " root@pve1\n")
    monkeypatch.setattr(L, "nodename", lambda: "pve1")
    monkeypatch.setattr(L, "quorate", lambda: True)
    return types.SimpleNamespace(pve=pve, etc_ssh=etc_ssh, root_ssh=root_ssh)


def test_root_keys_become_the_shared_file_with_the_old_ones_merged(tree):
    (tree.root_ssh / "authorized_keys").write_text("ssh-ed25519 AAAAold admin@laptop\n")
    (tree.root_ssh / "id_rsa.pub").write_text("ssh-rsa AAAAnode1 root@pve1\n")
    shared = tree.pve / "priv" / "authorized_keys"
    CS.setup_ssh_keys()
    assert (tree.root_ssh / "authorized_keys").is_symlink()
    assert (tree.root_ssh / "authorized_keys").resolve() == shared.resolve()
    assert shared.read_text() == "ssh-ed25519 AAAAold admin@laptop\n"  # imported: no backup left
    assert not (tree.root_ssh / "authorized_keys.org").exists()
    CS.ssh_merge_keys()
    CS.ssh_merge_keys()  # idempotent: duplicate ssh-rsa keys are dropped
    assert shared.read_text() == "ssh-ed25519 AAAAold admin@laptop\nssh-rsa AAAAnode1 root@pve1\n"


def test_a_joining_node_keeps_its_old_keys_through_the_backup(tree):
    shared = tree.pve / "priv" / "authorized_keys"
    shared.parent.mkdir()
    shared.write_text("ssh-rsa AAAAnode1 root@pve1\n")  # the cluster's file exists already
    (tree.root_ssh / "authorized_keys").write_text("ssh-ed25519 AAAAold admin@laptop\n")
    CS.setup_ssh_keys()
    assert (tree.root_ssh / "authorized_keys.org").exists()  # not imported: merged later
    (tree.root_ssh / "id_rsa.pub").write_text("ssh-rsa AAAAnode2 root@pve2\n")
    CS.ssh_merge_keys()
    assert shared.read_text() == ("ssh-rsa AAAAnode1 root@pve1\nssh-ed25519 AAAAold admin@laptop\n"
                                  "ssh-rsa AAAAnode2 root@pve2\n")
    assert not (tree.root_ssh / "authorized_keys.org").exists()


def test_known_hosts_merge_falls_back_to_the_ed25519_host_key(tree):
    (tree.etc_ssh / "ssh_known_hosts").write_text(f"oldhost {ED}\n")
    CS.ssh_merge_known_hosts("PVE1", "10.254.10.11", True)
    shared = tree.pve / "priv" / "known_hosts"
    assert (tree.etc_ssh / "ssh_known_hosts").is_symlink()
    assert shared.read_text() == f"oldhost {ED}\npve1 {ED}\n10.254.10.11 {ED}\n"
    CS.ssh_merge_known_hosts("pve1", "10.254.10.11", True)  # nothing new the second time
    assert shared.read_text() == f"oldhost {ED}\npve1 {ED}\n10.254.10.11 {ED}\n"


def test_known_hosts_merge_uses_the_rsa_host_key_and_hashed_entries(tree):
    (tree.etc_ssh / "ssh_host_rsa_key.pub").write_text(f"\n{RSA} root@pve1\n")
    salt = b"0123456789abcdef0123"
    digest = base64.b64encode(hmac.new(salt, b"pve1", hashlib.sha1).digest()).decode()
    hashed = f"|1|{base64.b64encode(salt).decode()}|{digest}"
    shared = tree.pve / "priv" / "known_hosts"
    shared.parent.mkdir()
    shared.write_text(f"{hashed} {RSA}\n")
    CS.ssh_merge_known_hosts("pve1", "10.254.10.11", False)
    assert shared.read_text() == f"{hashed} {RSA}\n10.254.10.11 {RSA}\n"
    assert not (tree.etc_ssh / "ssh_known_hosts").exists()


def test_unmerge_turns_the_link_into_a_local_copy(tree):
    shared = tree.pve / "priv" / "known_hosts"
    shared.parent.mkdir()
    shared.write_text(f"pve1 {ED}\n")
    (tree.etc_ssh / "ssh_known_hosts").symlink_to(shared)
    CS.ssh_unmerge_known_hosts()
    assert not (tree.etc_ssh / "ssh_known_hosts").is_symlink()
    assert (tree.etc_ssh / "ssh_known_hosts").read_text() == f"pve1 {ED}\n"


def test_updatecerts_writes_the_node_known_hosts_and_member_ssh_pins_it(tree, capsys):
    (tree.root_ssh / "id_rsa.pub").write_text("ssh-rsa AAAAnode1 root@pve1\n")
    CS.updatecerts_and_ssh(force_new_cert=True)
    assert capsys.readouterr().out == ("(re)generate node files\ngenerate new node certificate\n"
                                       "merge authorized SSH keys\n")
    node_kh = tree.pve / "nodes" / "pve1" / "ssh_known_hosts"
    assert node_kh.read_text() == f"pve1 {ED}"  # PVE writes it without a newline
    assert L.member_ssh("pve1", "10.254.10.11") == [
        "/usr/bin/ssh", "-e", "none", "-o", "BatchMode=yes", "-o", "HostKeyAlias=pve1",
        "-o", f"UserKnownHostsFile={node_kh}", "-o", "GlobalKnownHostsFile=none", "root@10.254.10.11"]
    assert L.member_ssh("pve2", "10.254.10.12") == [
        "/usr/bin/ssh", "-e", "none", "-o", "BatchMode=yes", "-o", "HostKeyAlias=pve2", "root@10.254.10.12"]


def test_updatecerts_without_quorum(tree, monkeypatch):
    monkeypatch.setattr(L, "quorate", lambda: False)
    with pytest.raises(L.PVEError, match="no quorum - unable to update files"):
        CS.updatecerts_and_ssh()
    assert CS.updatecerts_and_ssh(silent=True) is None


def test_root_ssh_config_and_a_4096_bit_rsa_key_when_missing(tree):
    CS.setup_rootsshconfig()
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(tree.root_ssh / "id_rsa.pub")], capture_output=True,
                         text=True).stdout
    assert out.startswith("4096 ") and out.rstrip().endswith("(RSA)")
    assert (tree.root_ssh / "config").read_text().startswith("Ciphers aes128-ctr,")


def test_sshd_permits_root_login(tree, monkeypatch):
    calls = []
    monkeypatch.setattr(L, "run", lambda cmd, **kw: calls.append(cmd))
    (tree.etc_ssh / "sshd_config").write_text("Port 22\nPermitRootLogin prohibit-password\nUsePAM no\n")
    CS.setup_sshd_config()
    assert (tree.etc_ssh / "sshd_config").read_text() == "Port 22\nPermitRootLogin yes\nUsePAM no\n"
    assert calls == [["systemctl", "reload-or-restart", "sshd"]]
    CS.setup_sshd_config()
    assert len(calls) == 1
