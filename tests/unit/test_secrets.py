"""Malformed secrets are refused before any resource is registered, naming the stack key (models/secrets.py)."""
from __future__ import annotations

import subprocess

import pytest

from models import ConfigError, check_secrets

NEEDED = {"sshPrivateKey": True, "apiToken": True, "pbsPassword": False, "ipmiPassword": False}
TOKEN = "root@pam!pulumi=0f3c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"


def _key(tmp_path, kind: str, passphrase: str = "", pem: bool = False) -> str:
    path = tmp_path / f"{kind}-{bool(passphrase)}-{pem}"
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-f", str(path), *(["-m", "PEM"] if pem else [])],
                   check=True)
    return path.read_text()


def _problems(values: dict, needed: dict | None = None) -> list[str]:
    try:
        check_secrets(NEEDED if needed is None else needed, values)
    except ConfigError as error:
        return [str(p) for p in error.problems]
    return []


@pytest.mark.parametrize("kind, pem", [("ed25519", False), ("rsa", False), ("rsa", True), ("ecdsa", True)])
def test_unencrypted_keys_in_openssh_and_pem_form_pass(tmp_path, kind, pem):
    assert _problems({"sshPrivateKey": _key(tmp_path, kind, pem=pem), "apiToken": TOKEN}) == []


@pytest.mark.parametrize("pem", [False, True])
def test_a_passphrase_protected_key_is_refused(tmp_path, pem):
    (problem,) = _problems({"sshPrivateKey": _key(tmp_path, "rsa" if pem else "ed25519", "secret", pem), "apiToken": TOKEN})
    assert problem.startswith("proxmox-ha:sshPrivateKey: is passphrase protected")


@pytest.mark.parametrize("value", ["ssh-ed25519 AAAAC3Nza... root@pve1", "-----BEGIN OPENSSH PRIVATE KEY-----\n!!\n-----END OPENSSH PRIVATE KEY-----"])
def test_what_is_no_private_key_is_refused(value):
    (problem,) = _problems({"sshPrivateKey": value, "apiToken": TOKEN})
    assert problem.startswith("proxmox-ha:sshPrivateKey: is not a private key")


@pytest.mark.parametrize("token, ok", [
    (TOKEN, True), ("root@pam!pulumi=UNIT-TEST", True),
    ("root@pam=0f3c1a2b", False), ("0f3c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", False), (TOKEN + "\n", False),
    ("root@pam!pulumi=0f3c_1a2b", False),
])
def test_the_api_token_has_bpgs_format(tmp_path, token, ok):
    problems = _problems({"sshPrivateKey": _key(tmp_path, "ed25519"), "apiToken": token})
    assert (problems == []) is ok
    if not ok:
        assert problems[0].startswith("proxmox-ha:apiToken: is not a PVE API token: it must be USER@REALM!TOKENID=UUID")


def test_missing_and_malformed_are_reported_together():
    assert _problems({"apiToken": "nope"}) == [
        "proxmox-ha:sshPrivateKey: is required; set it with `pulumi config set --secret proxmox-ha:sshPrivateKey ...`",
        "proxmox-ha:apiToken: is not a PVE API token: it must be USER@REALM!TOKENID=UUID (the proxmoxve plugin's "
        "format), e.g. root@pam!pulumi=0f3c...",
    ]


@pytest.mark.parametrize("url, ok", [
    ("https://hooks.slack.com/services/T0/B1/xyz", True), ("http://10.0.10.5:9095/alerts?a=1&b=2", True),
    ("hooks.example/alerts", False), ("https://h/x'y", False), ("https://h/a b", False), ("ftp://h/x", False),
])
def test_the_alert_webhook_is_a_url_alertmanagers_config_can_quote(url, ok):
    problems = _problems({"alertWebhookUrl": url}, needed={"alertWebhookUrl": False})
    assert (problems == []) is ok, problems
    if not ok:
        assert problems[0].startswith("proxmox-ha:alertWebhookUrl: is not a webhook URL")
