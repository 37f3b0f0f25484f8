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
- `hostKey` is compared byte for byte; a mismatch is a dial error, retried like any other
  (backoff from 100 ms ×1.5 up to 5 s). In preview nothing is dialled and stdout/stderr are unknown.
"""
from __future__ import annotations

import base64
import io
import json
import os
import secrets
import socket
import time
from typing import Any

import paramiko

from .grpc_plugin import Provider, Resource, ResourceError, serve

VERSION = "1.2.1"
CONNECTION_DEFAULTS = {"port": 22.0, "user": "root", "dialErrorLimit": 10.0, "perDialTimeout": 15.0}
KEY_TYPES = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)


def go_quote(text: str) -> str:
    """Go's %q, near enough for a command line: JSON string escaping is the same for what we send."""
    return json.dumps(text, ensure_ascii=False)


def _private_key(text: str, passphrase: str | None) -> paramiko.PKey:
    for kind in KEY_TYPES:
        try:
            return kind.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.SSHException:
            continue
    raise ResourceError("ssh: no key found")


def _host_key(line: str) -> tuple[str, bytes]:
    for raw in line.splitlines():
        fields = raw.strip().split()
        if not fields or fields[0].startswith("#"):
            continue
        # authorized_keys style, tolerating one leading field (options, or a known_hosts host list).
        for i in range(min(2, len(fields))):
            try:
                blob = base64.b64decode(fields[i + 1], validate=True) if i + 1 < len(fields) else b""
            except ValueError:
                continue
            if blob:
                return fields[i], blob
    raise ResourceError("failed to parse host key: ssh: no key found")


class Connection:
    def __init__(self, conn: dict[str, Any]):
        self.conn = {**CONNECTION_DEFAULTS, **conn}
        self.pinned = _host_key(self.conn["hostKey"]) if self.conn.get("hostKey") else None
        key = self.conn.get("privateKey")
        self.pkey = _private_key(key, self.conn.get("privateKeyPassword")) if key else None

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
        transport = paramiko.Transport(sock)
        if self.pinned:
            transport.get_security_options().key_types = [self.pinned[0]]
        try:
            transport.start_client(timeout=60)
            if self.pinned and transport.get_remote_server_key().asbytes() != self.pinned[1]:
                raise ResourceError("ssh: handshake failed: ssh: host key mismatch")
            user = self.conn["user"]
            if self.pkey is not None:
                transport.auth_publickey(user, self.pkey)
            elif self.conn.get("password"):
                transport.auth_password(user, self.conn["password"])
            if not transport.is_authenticated():
                raise ResourceError("ssh: handshake failed: ssh: unable to authenticate")
        except Exception:
            transport.close()
            raise
        return transport

    def dial(self) -> paramiko.Transport:
        limit, attempt, wait = int(self.conn["dialErrorLimit"]), 0, 0.1
        while True:
            try:
                return self._dial_once()
            except (OSError, paramiko.SSHException, ResourceError) as error:
                last = str(error) or type(error).__name__
                if -1 < limit < attempt + 1:
                    raise ResourceError(f"after {attempt} failed attempts: {last}") from None
            time.sleep(wait)
            wait, attempt = min(wait * 1.5, 5.0), attempt + 1


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
