"""SSH servers for testing the command stand-in's connection: Debian's sshd, and a paramiko server that records.

`Sshd` runs /usr/sbin/sshd on 127.0.0.1 (a free port) with its own config, host keys and authorized_keys under a
temp dir. It runs in a private mount namespace, the way the lab runs sshd: a tmpfs on /run for its privilege
separation directory, and an /etc/shadow of its own in which root has a known password (sshd without PAM checks
passwords there). No network namespace: it listens on the machine's loopback. The machine's files are not touched.
The port is free when picked, not held until sshd binds it: another process (a parallel pytest-xdist worker's
server) may take it first, so sshd counts as started only once it says it listens there, and a lost bind is tried
again on another port.

`RecordingServer` is a paramiko server whose auth policy a test sets, and which records the attempts in order. It
stands in for servers sshd cannot be made into without PAM, such as a keyboard-interactive one with two prompts.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

PASSWORD = "s3cret-pw"
SSHD = "/usr/sbin/sshd"


def sshd_unavailable() -> str | None:
    """Why Sshd cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (a private mount namespace for sshd's /run and /etc/shadow)"
    for tool in (SSHD, shutil.which("unshare"), shutil.which("openssl")):
        if not tool or not os.path.exists(tool):
            return "needs /usr/sbin/sshd, unshare and openssl"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Keys:
    """Key pairs made with cryptography, written in the formats a test asks for."""

    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ecdsa = ec.generate_private_key(ec.SECP256R1())
        self.ed25519 = ed25519.Ed25519PrivateKey.generate()
        self.other_ed25519 = ed25519.Ed25519PrivateKey.generate()

    @staticmethod
    def private(key, fmt: str = "openssh", passphrase: str | None = None) -> str:
        encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                      else serialization.NoEncryption())
        form = {"openssh": serialization.PrivateFormat.OpenSSH, "pkcs8": serialization.PrivateFormat.PKCS8,
                "pem": serialization.PrivateFormat.TraditionalOpenSSL}[fmt]
        return key.private_bytes(serialization.Encoding.PEM, form, encryption).decode()

    @staticmethod
    def public(key) -> str:
        return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


class Sshd:
    HOST_KEYS = ("ed25519", "rsa", "ecdsa")
    BIND_TRIES = 5

    def __init__(self, base: Path, authorized: list[str], extra: str = ""):
        self.base, self.port = base, free_port()
        base.mkdir(parents=True, exist_ok=True)
        self.host_keys: dict[str, str] = {}
        made = {"ed25519": ed25519.Ed25519PrivateKey.generate(), "ecdsa": ec.generate_private_key(ec.SECP256R1()),
                "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        for kind in self.HOST_KEYS:
            path = base / f"ssh_host_{kind}_key"
            path.write_text(Keys.private(made[kind]))
            path.chmod(0o600)
            self.host_keys[kind] = Keys.public(made[kind])
        (base / "authorized_keys").write_text("".join(f"{k}\n" for k in authorized))
        hashed = subprocess.run(["openssl", "passwd", "-6", PASSWORD], capture_output=True, text=True,
                                check=True).stdout.strip()
        shadow = []
        for line in Path("/etc/shadow").read_text().splitlines():
            name, _, rest = line.partition(":")
            shadow.append(f"root:{hashed}:{rest.split(':', 1)[1]}" if name == "root" else line)
        (base / "shadow").write_text("\n".join(shadow) + "\n")
        (base / "shadow").chmod(0o600)
        self.host_key_lines = "".join(f"HostKey {base}/ssh_host_{kind}_key\n" for kind in self.HOST_KEYS)
        self.extra = extra
        for _ in range(self.BIND_TRIES):
            if self._start():
                return
            self.port = free_port()
        raise RuntimeError(f"sshd lost the bind of a free port {self.BIND_TRIES} times: {self._said()}")

    def _said(self) -> str:
        return (self.base / "sshd.log").read_text()

    def _start(self, timeout: float = 10.0) -> bool:
        """sshd on self.port: True once it listens there, False when another process took the port first."""
        base = self.base
        (base / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\n{self.host_key_lines}PidFile {base}/sshd.pid\n"
            f"AuthorizedKeysFile {base}/authorized_keys\nUsePAM no\nStrictModes no\nPermitRootLogin yes\n"
            f"LogLevel VERBOSE\n{self.extra}\n")
        script = (f"mount -t tmpfs -o mode=0755 tmpfs /run && mkdir /run/sshd && "
                  f"mount --bind {base}/shadow /etc/shadow && exec {SSHD} -D -e -f {base}/sshd_config")
        self.log = open(base / "sshd.log", "w")
        self.process = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        # Its own word, not a connection to the port: that would also succeed on whoever else took it.
        listening = f"Server listening on 127.0.0.1 port {self.port}."
        deadline = time.monotonic() + timeout
        while listening not in self._said():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                if "Address already in use" in self._said():
                    return False
                raise RuntimeError(f"sshd did not start: {self._said()}")
            time.sleep(0.02)
        return True

    def connection(self, **fields) -> dict:
        return {"host": "127.0.0.1", "port": float(self.port), "user": "root", "dialErrorLimit": 0.0,
                "perDialTimeout": 15.0, **fields}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # unshare execs sh, which execs sshd: this PID is sshd's listener
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class SshAgent:
    """`ssh-agent -D -a SOCK` with the given keys added; stopped by its PID."""

    def __init__(self, sock: Path, keys: list[str]):
        self.sock = sock
        self.process = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not sock.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("ssh-agent did not start")
            time.sleep(0.02)
        for i, key in enumerate(keys):
            path = sock.parent / f"agent-key-{i}"
            path.write_text(key)
            path.chmod(0o600)
            subprocess.run(["ssh-add", str(path)], env={**os.environ, "SSH_AUTH_SOCK": str(sock)}, check=True,
                           capture_output=True)
            path.unlink()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class RecordingServer(paramiko.ServerInterface):
    """A paramiko SSH server on 127.0.0.1: `allowed` methods, `accept(method, value)` decides, attempts recorded.

    Attempts are ("none",), ("publickey", "<type> <base64>"), ("password", pw), ("keyboard-interactive",)
    and ("answers", (..)) for the replies to `prompts`.
    """

    def __init__(self, allowed: str, accept: Callable[[str, object], bool], prompts: tuple[str, ...] = ("Password: ",)):
        self.allowed, self.accept, self.prompts = allowed, accept, prompts
        self.attempts: list[tuple] = []
        self.host_key = paramiko.ECDSAKey.generate()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.transports: list[paramiko.Transport] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(sock)
            transport.add_server_key(self.host_key)
            self.transports.append(transport)
            try:
                transport.start_server(server=self)
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()

    def stop(self) -> None:
        self.listener.close()
        for transport in self.transports:
            transport.close()

    def connection(self, **fields) -> dict:
        return {"host": "127.0.0.1", "port": float(self.port), "user": "root", "dialErrorLimit": 0.0,
                "perDialTimeout": 15.0, **fields}

    def _result(self, method: str, value: object) -> int:
        return paramiko.AUTH_SUCCESSFUL if self.accept(method, value) else paramiko.AUTH_FAILED

    def get_allowed_auths(self, username):
        return self.allowed

    def check_auth_none(self, username):
        self.attempts.append(("none",))
        return self._result("none", None)

    def check_auth_password(self, username, password):
        self.attempts.append(("password", password))
        return self._result("password", password)

    def check_auth_publickey(self, username, key):
        offered = f"{key.get_name()} {key.get_base64()}"
        if ("publickey", offered) not in self.attempts[-1:]:  # the query and the signed request are one attempt
            self.attempts.append(("publickey", offered))
        return self._result("publickey", offered)

    def check_auth_interactive(self, username, submethods):
        self.attempts.append(("keyboard-interactive",))
        return paramiko.InteractiveQuery("", "", *[(p, False) for p in self.prompts])

    def check_auth_interactive_response(self, responses):
        self.attempts.append(("answers", tuple(responses)))
        return self._result("keyboard-interactive", tuple(responses))
