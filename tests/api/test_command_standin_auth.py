"""The command stand-in connects, authenticates and refuses as pulumi-command 1.2.1 does (x/crypto/ssh v0.48.0).

Every expected text below is what the real plugin's code (x/crypto/ssh v0.48.0, built the way connection.go builds
its ssh.ClientConfig) printed against the same servers. The servers are a real sshd started here on 127.0.0.1
(Debian's, own config, without PAM), and a paramiko server where sshd cannot be made to behave. Without PAM, sshd's
keyboard-interactive has no password prompt: it fails at once.
"""
from __future__ import annotations

import re
import shutil
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448, x25519

from lab.providers.command import Connection, RemoteCommand, run
from lab.providers.grpc_plugin import ResourceError
from tests.api.sshservers import PASSWORD, Keys, RecordingServer, SshAgent, Sshd, sshd_unavailable

needs_sshd = pytest.mark.skipif(sshd_unavailable() is not None, reason=str(sshd_unavailable()))
needs_agent = pytest.mark.skipif(not (shutil.which("ssh-agent") and shutil.which("ssh-add")), reason="needs ssh-agent")
NO_AGENT = pytest.mark.usefixtures("no_agent")


@pytest.fixture(scope="module")
def keys():
    return Keys()


@pytest.fixture
def no_agent(monkeypatch):
    """The real plugin dials SSH_AUTH_SOCK whenever it is set; these tests say when there is an agent."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory, keys):
    """Stock algorithms; authorizes the RSA and ECDSA keys (not the Ed25519 ones); root's password is PASSWORD."""
    if sshd_unavailable():
        pytest.skip(sshd_unavailable())
    server = Sshd(tmp_path_factory.mktemp("sshd"), [Keys.public(keys.rsa), Keys.public(keys.ecdsa)],
                  "PasswordAuthentication yes\nKbdInteractiveAuthentication yes")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sshd_sha1(tmp_path_factory, keys):
    """Also signs with SHA-1 RSA host keys (`ssh-rsa`), the only RSA algorithm the real plugin offers for a pin."""
    if sshd_unavailable():
        pytest.skip(sshd_unavailable())
    server = Sshd(tmp_path_factory.mktemp("sshd-sha1"), [Keys.public(keys.rsa)], "HostKeyAlgorithms +ssh-rsa")
    yield server
    server.stop()


@pytest.fixture
def recording():
    servers = []

    def start(allowed, accept, prompts=("Password: ",)):
        servers.append(RecordingServer(allowed, accept, prompts))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def dial_error(conn: dict) -> str:
    with pytest.raises(ResourceError) as failure:
        Connection(conn).dial().close()
    return str(failure.value)


# --- what logs in ------------------------------------------------------------------------------
@needs_sshd
@NO_AGENT
@pytest.mark.parametrize("kind", ["rsa", "ecdsa"])
def test_a_key_the_server_accepts_logs_in_in_every_format_go_reads(sshd, keys, kind):
    key = getattr(keys, kind)
    assert run({"connection": sshd.connection(privateKey=Keys.private(key, "pkcs8"))}, "echo in") == ("in", "")
    for fmt in ("openssh", "pem"):
        assert run({"connection": sshd.connection(privateKey=Keys.private(key, fmt))}, "echo in") == ("in", "")
        # Encrypted (bcrypt for OpenSSH, the legacy RFC 1423 scheme for PEM), with its passphrase.
        protected = sshd.connection(privateKey=Keys.private(key, fmt, passphrase="pass phrase"),
                                    privateKeyPassword="pass phrase")
        assert run({"connection": protected}, "echo in") == ("in", "")


@needs_sshd
@NO_AGENT
def test_an_ed25519_pkcs8_key_is_read_and_offered(sshd, keys):
    # The server does not authorize it: the real plugin reads it, offers it, then reports publickey as attempted.
    key = Keys.private(keys.ed25519, "pkcs8")
    assert dial_error(sshd.connection(privateKey=key)) == (
        "after 0 failed attempts: ssh: handshake failed: ssh: unable to authenticate, attempted methods "
        "[none publickey], no supported methods remain")


@needs_sshd
@NO_AGENT
def test_a_refused_key_falls_through_to_the_password(sshd, keys):
    conn = sshd.connection(privateKey=Keys.private(keys.ed25519), password=PASSWORD)
    assert run({"connection": conn}, "echo $USER") == ("root", "")


@needs_sshd
@NO_AGENT
def test_auth_failures_name_the_methods_attempted_as_go_does(sshd, keys):
    assert dial_error(sshd.connection(privateKey=Keys.private(keys.ed25519))) == (
        "after 0 failed attempts: ssh: handshake failed: ssh: unable to authenticate, attempted methods "
        "[none publickey], no supported methods remain")
    # Nothing to offer: only "none" is tried.
    assert dial_error(sshd.connection()) == (
        "after 0 failed attempts: ssh: handshake failed: ssh: unable to authenticate, attempted methods "
        "[none], no supported methods remain")
    # A wrong password: sshd without PAM answers keyboard-interactive with a failure instead of a prompt, and Go
    # reports that last error rather than the list.
    assert dial_error(sshd.connection(password="wrong")) == (
        "after 0 failed attempts: ssh: handshake failed: ssh: unexpected message type 51 (expected 60)")


@NO_AGENT
def test_keyboard_interactive_answers_every_prompt_with_the_password(recording):
    server = recording("keyboard-interactive", lambda method, value: value == (PASSWORD, PASSWORD),
                       prompts=("Password: ", "Verification code: "))
    Connection(server.connection(password=PASSWORD)).dial().close()
    assert server.attempts == [("none",), ("keyboard-interactive",), ("answers", (PASSWORD, PASSWORD))]
    # A server that refuses the password method's password may still take it through keyboard-interactive.
    server = recording("password,keyboard-interactive",
                       lambda method, value: method == "keyboard-interactive" and value == (PASSWORD,))
    Connection(server.connection(password=PASSWORD)).dial().close()
    assert server.attempts == [("none",), ("password", PASSWORD), ("keyboard-interactive",), ("answers", (PASSWORD,))]


@NO_AGENT
def test_none_is_tried_first_and_may_be_enough(recording):
    server = recording("publickey", lambda method, value: method == "none")
    Connection(server.connection()).dial().close()
    assert server.attempts == [("none",)]


@needs_agent
def test_methods_are_offered_in_the_real_plugins_order(tmp_path, keys, recording, monkeypatch):
    agent = SshAgent(tmp_path / "agent.sock", [Keys.private(keys.rsa)])
    try:
        monkeypatch.setenv("SSH_AUTH_SOCK", str(agent.sock))
        server = recording("publickey,password,keyboard-interactive", lambda method, value: False)
        key = Keys.private(keys.ed25519)
        # Key, password, keyboard-interactive; the agent's key is never offered: publickey was tried already.
        assert dial_error(server.connection(privateKey=key, password="pw")) == (
            "after 0 failed attempts: ssh: handshake failed: ssh: unable to authenticate, attempted methods "
            "[none publickey password keyboard-interactive], no supported methods remain")
        assert server.attempts == [("none",), ("publickey", Keys.public(keys.ed25519)), ("password", "pw"),
                                   ("keyboard-interactive",), ("answers", ("pw",))]
        # Without a key, the agent comes after the password.
        server.attempts.clear()
        assert dial_error(server.connection(password="pw")) == (
            "after 0 failed attempts: ssh: handshake failed: ssh: unable to authenticate, attempted methods "
            "[none password keyboard-interactive publickey], no supported methods remain")
        assert server.attempts == [("none",), ("password", "pw"), ("keyboard-interactive",), ("answers", ("pw",)),
                                   ("publickey", Keys.public(keys.rsa))]
    finally:
        agent.stop()


# --- the agent ---------------------------------------------------------------------------------
@needs_sshd
@needs_agent
def test_the_agent_logs_in_without_key_or_password(sshd, keys, tmp_path, monkeypatch):
    agent = SshAgent(tmp_path / "agent.sock", [Keys.private(keys.ed25519), Keys.private(keys.rsa)])
    try:
        monkeypatch.setenv("SSH_AUTH_SOCK", str(agent.sock))
        assert run({"connection": sshd.connection()}, "echo agent") == ("agent", "")
        monkeypatch.delenv("SSH_AUTH_SOCK")
        assert run({"connection": sshd.connection(agentSocketPath=str(agent.sock))}, "echo agent") == ("agent", "")
    finally:
        agent.stop()


@needs_sshd
def test_an_unreachable_agent_socket_fails_at_once_even_when_the_password_would_do(sshd, tmp_path, monkeypatch):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    missing = tmp_path / "gone.sock"
    started = time.monotonic()
    assert dial_error(sshd.connection(password=PASSWORD, agentSocketPath=str(missing), dialErrorLimit=10.0)) == (
        f"dial unix {missing}: connect: no such file or directory")
    assert time.monotonic() - started < 1  # not retried
    assert dial_error(sshd.connection(password=PASSWORD, agentSocketPath="")) == "dial unix: missing address"
    # A stale SSH_AUTH_SOCK in the plugin's environment is as fatal.
    monkeypatch.setenv("SSH_AUTH_SOCK", str(missing))
    assert dial_error(sshd.connection(password=PASSWORD)) == f"dial unix {missing}: connect: no such file or directory"


# --- host key pins -----------------------------------------------------------------------------
@needs_sshd
@NO_AGENT
def test_an_rsa_host_key_pin_offers_only_ssh_rsa_as_the_real_plugin_does(sshd, sshd_sha1, keys):
    key = Keys.private(keys.rsa)
    # A server that still signs with SHA-1 RSA host keys: the pin works, a different RSA key is a retried mismatch.
    conn = sshd_sha1.connection(privateKey=key, hostKey=sshd_sha1.host_keys["rsa"])
    assert run({"connection": conn}, "echo pinned") == ("pinned", "")
    assert dial_error({**conn, "hostKey": sshd.host_keys["rsa"], "dialErrorLimit": 1.0}) == (
        "after 1 failed attempts: ssh: handshake failed: ssh: host key mismatch")
    # Stock OpenSSH (>= 8.8) does not: the real plugin fails the key exchange, and so does the stand-in.
    error = dial_error(sshd.connection(privateKey=key, hostKey=sshd.host_keys["rsa"]))
    assert error.startswith("after 0 failed attempts: ssh: handshake failed: ssh: no common algorithm for host key; "
                            "we offered: [ssh-rsa], peer offered: [")
    assert re.search(r"peer offered: \[[^]]*rsa-sha2-512 rsa-sha2-256[^]]*\]$", error) and " ssh-rsa" not in error


@needs_sshd
@NO_AGENT
def test_ecdsa_and_ed25519_pins(sshd, keys):
    key = Keys.private(keys.rsa)
    for kind in ("ecdsa", "ed25519"):
        # Options or a known_hosts host field may lead the key, as ssh.ParseAuthorizedKey allows.
        pin = f'no-pty,command="echo a b" {sshd.host_keys[kind]} comment'
        assert run({"connection": sshd.connection(privateKey=key, hostKey=pin)}, "echo ok") == ("ok", "")
    wrong = Keys.public(keys.other_ed25519)
    assert dial_error(sshd.connection(privateKey=key, hostKey=wrong)) == (
        "after 0 failed attempts: ssh: handshake failed: ssh: host key mismatch")


@NO_AGENT
@pytest.mark.parametrize("pin,error", [
    ("", "failed to parse host key: ssh: no key found"),
    ("garbage\n\n# comment\nssh-ed25519 QUJD", "failed to parse host key: ssh: no key found; last parsing error for "
                                              "ignored line: ssh: short read"),
    ("ssh-ed25519 QUJD", "failed to parse host key: ssh: no key found; last parsing error for ignored line: ssh: short read"),
    ("ssh-ed25519 !!!notb64", "failed to parse host key: ssh: no key found; last parsing error for ignored line: "
                              "illegal base64 data at input byte 0"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA", "failed to parse host key: ssh: no key found; last parsing error "
                                               "for ignored line: illegal base64 data at input byte 24"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "failed to parse host key: ssh: no key found; last parsing error "
                                         "for ignored line: ssh: parse error in message type 0"),
])
def test_a_malformed_pin_fails_before_anything_is_dialled(pin, error):
    # Port 1 refuses connections: a dial would say so, and be retried.
    assert dial_error({"host": "127.0.0.1", "port": 1.0, "password": "x", "hostKey": pin, "dialErrorLimit": 10.0}) == error


# --- private keys ------------------------------------------------------------------------------
def rearmoured(pem: str, was: str, now: str) -> str:
    return pem.replace(f"BEGIN {was}-----", f"BEGIN {now}-----").replace(f"END {was}-----", f"END {now}-----")


def pkcs8(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@NO_AGENT
def test_private_key_errors_are_go_s_and_fail_before_anything_is_dialled(keys):
    openssh = Keys.private(keys.ed25519)
    openssh_protected = Keys.private(keys.ed25519, passphrase="right")
    pem = Keys.private(keys.rsa, "pem")
    pem_protected = Keys.private(keys.rsa, "pem", passphrase="right")
    cases = [
        ("", None, "ssh: no key found"),
        ("not a key", None, "ssh: no key found"),
        (openssh_protected, None, "ssh: this private key is passphrase protected"),
        (pem_protected, None, "ssh: this private key is passphrase protected"),
        (openssh_protected, "wrong", "x509: decryption password incorrect"),
        (pem_protected, "wrong", "x509: decryption password incorrect"),
        (openssh_protected, "", "bcrypt_pbkdf: empty password"),
        (openssh, "", "ssh: key is not password protected"),
        (pem, "x", "ssh: not an encrypted key"),
        ("-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n", None, 'ssh: unsupported key type "FOO"'),
        (Keys.private(keys.rsa, "pkcs8", passphrase="right"), None, 'ssh: unsupported key type "ENCRYPTED PRIVATE KEY"'),
        (rearmoured(Keys.private(keys.rsa, "pkcs8"), "PRIVATE KEY", "RSA PRIVATE KEY"), None,
         "x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)"),
        (rearmoured(Keys.private(keys.ecdsa, "pem"), "EC PRIVATE KEY", "PRIVATE KEY"), None,
         "x509: failed to parse private key (use ParseECPrivateKey instead for this key format)"),
        (pkcs8(x25519.X25519PrivateKey.generate()), None, "ssh: unsupported key type *ecdh.PrivateKey"),
        (pkcs8(ed448.Ed448PrivateKey.generate()), None,
         "x509: PKCS#8 wrapping contained private key with unknown algorithm: 1.3.101.113"),
    ]
    for key, passphrase, error in cases:
        conn = {"host": "127.0.0.1", "port": 1.0, "privateKey": key, "dialErrorLimit": 10.0}
        if passphrase is not None:
            conn["privateKeyPassword"] = passphrase
        assert dial_error(conn) == error, (key[:40], passphrase)
    # The right passphrases parse; the dial is then what fails.
    for key in (openssh_protected, pem_protected):
        assert dial_error({"host": "127.0.0.1", "port": 1.0, "privateKey": key, "privateKeyPassword": "right",
                           "dialErrorLimit": 0.0}) == "after 0 failed attempts: dial tcp 127.0.0.1:1: connect: connection refused"


# --- what the stand-in does not model ----------------------------------------------------------
def test_check_refuses_a_proxy_rather_than_ignore_it():
    _, failures = RemoteCommand({}).check({"create": "true", "connection": {"host": "10.0.0.1", "proxy": {"host": "jump"}}})
    assert [p for p, _ in failures] == ["connection.proxy"] and "proxy" in failures[0][1]
    inputs, failures = RemoteCommand({}).check({"create": "true", "connection": {"host": "10.0.0.1"}})
    assert failures == [] and inputs["connection"]["user"] == "root"
