"""Stand-in for pulumi-command 1.2.1's `command:remote:Command` (what CI runs where the real plugin is absent).

Matched to the real provider's source (pulumi/pulumi-command v1.2.1, provider/pkg/provider/remote, and the
pulumi-go-provider defaults it relies on), not copied from it:
- Check fills the connection's defaults (port 22, user root, dialErrorLimit 10, perDialTimeout 15).
- Only a change of `triggers` replaces; every other change is an update in place. Refresh changes nothing.
- Create runs `create`; Update runs `update`, else `create`; Delete runs `delete` and, without one, dials nothing.
- Each `environment` entry is an SSH env request; a refusal fails before the command runs, with the real
  message. The previous stdout/stderr go the same way on update and delete, where a refusal is only a warning.
- `stdin` is sent, then EOF. One SSH exec of the raw command; a non-zero exit fails with
  `Process exited with status N: running "CMD":` and the interleaved output.
- The connection is built and authenticated as x/crypto/ssh does it for the real plugin (gossh): the private
  key, the password (password, then keyboard-interactive) and the SSH agent (`agentSocketPath`, else
  SSH_AUTH_SOCK) are all offered, after "none", with Go's errors. A bad host key pin, private key or agent
  socket fails before anything is dialled and is not retried.
- `hostKey` pins the key (RSA, ECDSA, Ed25519); only its algorithm is offered (`ssh-rsa`, SHA-1, for an RSA key,
  as Go does, so a server that refuses SHA-1 host signatures fails the handshake). A mismatch is a dial error,
  retried like any other (backoff from 100 ms ×1.5 up to 5 s), as every failed attempt is.
- `proxy` is not modelled: Check refuses it rather than ignore it.
- In preview nothing is dialled and stdout/stderr are unknown; refresh (Read) never dials.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import time
from importlib.metadata import version
from typing import Any

import paramiko

from . import gossh
from .grpc_plugin import Provider, Resource, ResourceError, serve

# It answers as the plugin the SDK package asks for (requirements.txt pins it). READ_AGAINST is the release whose
# source it was matched to: a bump of the SDK fails tests/lab/test_standin_versions.py until it is checked again.
VERSION = version("pulumi-command")
READ_AGAINST = "1.2.1"
CONNECTION_DEFAULTS = {"port": 22.0, "user": "root", "dialErrorLimit": 10.0, "perDialTimeout": 15.0}


def go_quote(text: str) -> str:
    """Go's %q, near enough for a command line: JSON string escaping is the same for what we send."""
    return json.dumps(text, ensure_ascii=False)


def _set(conn: dict[str, Any], key: str) -> bool:
    """The real plugin tests its optional fields against nil: an empty string is set."""
    return conn.get(key) is not None


class Connection:
    """remote.Connection as the real plugin turns it into an ssh.ClientConfig, then dials it.

    Building the config can fail, and then nothing is dialled or retried: the host key pin is parsed, then the
    private key, then the agent socket is dialled. The auth methods are, in this order: the private key
    (publickey), the password (password, then keyboard-interactive answering every prompt with it), the agent
    (publickey again, so never tried when a private key is given). See gossh for how they are walked.
    """

    def __init__(self, conn: dict[str, Any]):
        self.conn = {**CONNECTION_DEFAULTS, **conn}
        self.pinned = None
        if _set(self.conn, "hostKey"):
            try:
                self.pinned = gossh.parse_authorized_key(self.conn["hostKey"])
            except gossh.StandInLimit as error:
                raise ResourceError(str(error)) from None
            except gossh.GoError as error:
                raise ResourceError(f"failed to parse host key: {error}") from None
        self.methods: list[gossh.Method] = []
        if _set(self.conn, "privateKey"):
            passphrase = self.conn.get("privateKeyPassword")
            try:
                key = gossh.parse_private_key(self.conn["privateKey"], passphrase)
            except gossh.GoError as error:
                raise ResourceError(str(error)) from None
            self.methods.append(gossh.PublicKeys(lambda signer=gossh.KeySigner(key): [signer]))
        if _set(self.conn, "password"):
            self.methods += [gossh.Password(self.conn["password"]), gossh.KeyboardInteractive(self.conn["password"])]
        self.agent = None
        agent_path = self.conn["agentSocketPath"] if _set(self.conn, "agentSocketPath") else os.environ.get("SSH_AUTH_SOCK") or None
        if agent_path is not None:
            try:
                self.agent = gossh.dial_agent(agent_path)
            except gossh.GoError as error:
                raise ResourceError(str(error)) from None
            self.methods.append(gossh.PublicKeys(self.agent.signers))

    def _dial_once(self) -> paramiko.Transport:
        host, port = self.conn["host"], int(self.conn["port"])
        timeout = float(self.conn["perDialTimeout"]) or None
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError:
            raise ResourceError(f"dial tcp {host}:{port}: i/o timeout") from None
        except OSError as error:  # Go's net.Dial wording, which the real plugin reports
            reason = os.strerror(error.errno).lower() if error.errno else str(error)
            raise ResourceError(f"dial tcp {host}:{port}: connect: {reason}") from None
        sock.settimeout(None)
        transport = gossh.GoTransport(sock, self.pinned)
        try:
            transport.handshake(self.conn["user"], self.methods, timeout=60)
        except gossh.GoError as error:
            transport.close()
            raise ResourceError(str(error)) from None
        except BaseException:
            transport.close()
            raise
        return transport

    def dial(self) -> paramiko.Transport:
        """dialWithRetry: every failed attempt is retried, up to dialErrorLimit (-1: no limit)."""
        limit, attempt, wait = int(self.conn["dialErrorLimit"]), 0, 0.1
        try:
            while True:
                try:
                    return self._dial_once()
                except Exception as error:  # noqa: BLE001 - the real plugin retries whatever failed
                    last = str(error) or type(error).__name__
                    if not isinstance(error, (ResourceError, gossh.GoError, OSError, EOFError, paramiko.SSHException)):
                        last = f"{type(error).__name__}: {last} (a command stand-in bug)"
                    if -1 < limit < attempt + 1:
                        raise ResourceError(f"after {attempt} failed attempts: {last}") from None
                time.sleep(wait)
                wait, attempt = min(wait * 1.5, 5.0), attempt + 1
        finally:
            if self.agent is not None:  # the agent signs only during auth
                self.agent.close()


def _setenv(channel: paramiko.Channel, key: str, value: str) -> None:
    """An `env` request that wants a reply, as Go's session.Setenv sends it; a refusal is an error."""
    message = paramiko.Message()
    message.add_byte(paramiko.common.cMSG_CHANNEL_REQUEST)
    message.add_int(channel.remote_chanid)
    message.add_string("env")
    message.add_boolean(True)
    message.add_string(key)
    message.add_string(value)
    channel._event_pending()
    channel.transport._send_user_message(message)
    try:
        channel._wait_for_event()
    except paramiko.SSHException:
        raise ResourceError(f"could not set environment variable {go_quote(key)}: ssh: setenv failed") from None


def run(state: dict[str, Any], command: str, previous: dict[str, str] | None = None) -> tuple[str, str]:
    """Run one command as the real provider does; returns (stdout, stderr) without one trailing newline."""
    transport = Connection(state["connection"]).dial()
    try:
        channel = transport.open_session()
        for key, value in (state.get("environment") or {}).items():
            _setenv(channel, key, value)
        if previous and state.get("addPreviousOutputInEnv", True) is not False:
            for key in ("stdout", "stderr"):
                if previous.get(key):
                    # The real plugin only warns when these are refused; paramiko's own request asks for no
                    # reply, so a refusal leaves the session as it was, as it does there.
                    channel.set_environment_variable(f"PULUMI_COMMAND_{key.upper()}", previous[key])
        channel.exec_command(command)
        if state.get("stdin"):
            channel.sendall(state["stdin"].encode())
        channel.shutdown_write()
        out, err, combined = bytearray(), bytearray(), bytearray()
        while True:
            got = False
            if channel.recv_ready():
                chunk = channel.recv(65536)
                out += chunk
                combined += chunk
                got = True
            if channel.recv_stderr_ready():
                chunk = channel.recv_stderr(65536)
                err += chunk
                combined += chunk
                got = True
            if not got:
                if channel.exit_status_ready() and not channel.recv_ready() and not channel.recv_stderr_ready():
                    break
                time.sleep(0.02)
        status = channel.recv_exit_status()
    finally:
        transport.close()
    if status != 0:
        raise ResourceError(f"Process exited with status {status}: running {go_quote(command)}:\n{combined.decode(errors='replace')}")
    return out.decode(errors="replace").removesuffix("\n"), err.decode(errors="replace").removesuffix("\n")


class RemoteCommand(Resource):
    token = "command:remote:Command"
    replace_on = frozenset({"triggers"})
    computed = ("stdout", "stderr")

    def check(self, news):
        failures = []
        conn = news.get("connection")
        if not isinstance(conn, dict):
            failures.append(("connection", "Missing required field 'connection' on 'remote.Command'"))
        elif not conn.get("host"):
            failures.append(("connection.host", "Missing required field 'host' on 'remote.Connection'"))
        elif conn.get("proxy") is not None:
            failures.append(("connection.proxy", "the command stand-in does not model proxy connections (the real "
                             "plugin dials the proxy, then the host through it); it refuses them rather than "
                             "connect directly"))
        else:
            news = {**news, "connection": {**CONNECTION_DEFAULTS, **conn}}
        return news, failures

    def create(self, urn, inputs):
        name = urn.rsplit("::", 1)[-1]
        state = {**inputs, "stdout": "", "stderr": ""}
        if inputs.get("create"):
            state["stdout"], state["stderr"] = run(inputs, inputs["create"])
        return f"{name}{secrets.token_hex(4)}", state

    def update(self, id_, olds, news):
        state = {**news, "stdout": olds.get("stdout", ""), "stderr": olds.get("stderr", "")}
        command = news.get("update") or news.get("create")
        if command:
            state["stdout"], state["stderr"] = run(news, command, previous=olds)
        return state

    def delete(self, id_, state):
        if state.get("delete"):
            run(state, state["delete"], previous=state)


def main() -> None:
    serve(Provider(VERSION, {RemoteCommand.token: RemoteCommand}, config_prefix="command:config:"))


if __name__ == "__main__":
    main()
