"""The secrets (`pulumi config set --secret`): which ones a stack needs, and whether each is well formed, checked
before any resource is registered (the providers would refuse a malformed one only halfway through a run)."""
from __future__ import annotations

import base64
import binascii
import re
import urllib.parse

from .base import NAMESPACE, ConfigError, Problem

# bpg's credentials check (proxmox/api/credentials.go), with Go's `$` (no trailing newline).
API_TOKEN = re.compile(r"^\S+@\S+!\S+=([a-zA-Z0-9-]+)\Z", re.ASCII)
_OPENSSH = re.compile(r"-----BEGIN OPENSSH PRIVATE KEY-----\s*(.+?)\s*-----END OPENSSH PRIVATE KEY-----", re.S)
_PEM = re.compile(r"-----BEGIN ((RSA|EC|DSA) )?PRIVATE KEY-----.+-----END ((RSA|EC|DSA) )?PRIVATE KEY-----", re.S)


def _ssh_key_problem(value: str) -> str | None:
    """What golang.org/x/crypto/ssh (pulumi-command) would refuse: no key, or one that needs a passphrase."""
    protected = "is passphrase protected; the steps log in without a passphrase: give a key without one"
    if (openssh := _OPENSSH.search(value)):
        try:
            blob = base64.b64decode("".join(openssh.group(1).split()), validate=True)
        except binascii.Error:
            return "is not a private key: its OpenSSH body is not base64"
        magic = b"openssh-key-v1\0"
        if not blob.startswith(magic) or len(blob) < len(magic) + 4:
            return "is not a private key: no openssh-key-v1 body"
        size = int.from_bytes(blob[len(magic):len(magic) + 4], "big")
        cipher = blob[len(magic) + 4:len(magic) + 4 + size]
        return None if cipher == b"none" else protected
    if _PEM.search(value):
        return protected if "Proc-Type: 4,ENCRYPTED" in value else None
    if "-----BEGIN ENCRYPTED PRIVATE KEY-----" in value:
        return protected
    return "is not a private key in OpenSSH or PEM format (e.g. the content of ~/.ssh/id_ed25519)"


def _webhook_problem(value: str) -> str | None:
    """Alertmanager posts alerts to it; it goes into alertmanager.yml in single quotes, so none of those."""
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"[\s'\"\\]", value):
        return "is not a webhook URL: it must be http:// or https://, without spaces or quotes"
    return None


FORMATS = {
    "apiToken": lambda v: None if API_TOKEN.match(v) else
    "is not a PVE API token: it must be USER@REALM!TOKENID=UUID (the proxmoxve plugin's format), e.g. root@pam!pulumi=0f3c...",
    "sshPrivateKey": _ssh_key_problem,
    "alertWebhookUrl": _webhook_problem,
    # Grafana documents no token format (service account tokens start glsa_, older API keys do not); it travels
    # as one stdin line and in `Authorization: Bearer TOKEN`, so only blanks are refused.
    "grafanaToken": lambda v: None if v and not re.search(r"\s", v) else
    "is not a Grafana token: it must be one word, no spaces or newlines (a service account token, e.g. glsa_...)",
}


def check_secrets(needed: dict[str, bool], values: dict[str, str | None]) -> None:
    """Raise one ConfigError naming every required secret that is missing and every one that is malformed."""
    problems = []
    for key, required in needed.items():
        value = values.get(key)
        if value is None:
            if required:
                problems.append(Problem(f"{NAMESPACE}:{key}", f"is required; set it with `pulumi config set --secret {NAMESPACE}:{key} ...`"))
        elif key in FORMATS and (problem := FORMATS[key](value)):
            problems.append(Problem(f"{NAMESPACE}:{key}", problem))
    if problems:
        raise ConfigError(problems)
