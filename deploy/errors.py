"""One line for a failed engine run: what failed, where, and what to do next.

The engine's own output (already printed) has the detail; this line names the cause among the ones an
operator meets: no such stack, a wrong passphrase, a config problem, a node that does not answer, a remote
step that failed, the policy pack's refusal, or a provider that died half-way through creating something.
"""
from __future__ import annotations

import re

from pulumi.automation import errors

# The engine reports a failed resource as `TYPE (NAME):` with an `error:` line below it.
_FAILED = re.compile(r"(\S+:\S+:\S+) \(([^()\s]+)\):\s*\n\s+error: ([^\n]+)")
_PLUGIN_DIED = ("error reading from server", "exited prematurely", "transport is closing", "panic")
# The engine prints a Check failure (the bridge leaves its property empty) as `TYPE resource 'NAME' has a problem: ...`.
_REFUSED = re.compile(r"(\S+:\S+:\S+) resource '([^']+)' has a problem: ([^\n]+)")
# What the providers say of a malformed secret, and the stack key that holds it (bpg's credentials check;
# golang.org/x/crypto/ssh's key parser, which pulumi-command uses).
_SECRETS = (
    ("the API token must be in the format 'USER@REALM!TOKENID=UUID'", "apiToken", "'USER@REALM!TOKENID=UUID'"),
    ("ssh: no key found", "sshPrivateKey", "root's private key in OpenSSH or PEM format (cat ~/.ssh/id_ed25519)"),
    ("ssh: this private key is passphrase protected", "sshPrivateKey", "a private key without a passphrase"),
)


def _token(display: str) -> str:
    """The type token `pulumi import` takes, from the engine's display form (`proxmoxve:storage:Pbs`)."""
    package, module, name = display.split(":")
    return display if "/" in module else f"{package}:{module}/{name[0].lower()}{name[1:]}:{name}"


def explain(error: errors.CommandError, stack: str) -> str:
    text = str(error)  # the exit code, the engine's stdout and its stderr
    if isinstance(error, errors.StackNotFoundError) or re.search(r"no stack named '[^']+' found", text):
        return (f"stack '{stack}' does not exist in this backend; create it with "
                f"`bin/pulumi stack init {stack}` (make up does this for the lab)")
    if re.search(r"incorrect passphrase|failed to decrypt|passphrase must be set", text):
        return f"PULUMI_CONFIG_PASSPHRASE does not decrypt stack '{stack}' secrets; export the passphrase it was created with"
    if "invalid stack config" in text:
        keys = re.findall(r"^\s*- (proxmox-ha:[^\n]+)$", text, re.M)
        return f"invalid stack config, nothing was created: {'; '.join(dict.fromkeys(keys)) or 'see above'}"
    for said, key, wanted in _SECRETS:
        if said in text:
            return (f"proxmox-ha:{key} is malformed (the provider says: {said}); set it to {wanted} with "
                    f"`pulumi config set --secret proxmox-ha:{key} ...`, then run again")
    failed = _FAILED.findall(text)
    api = [(_token(type_), name, message) for type_, name, message in failed if type_.startswith("proxmoxve:")]
    adopt = "adopt each with `bin/pulumi import TYPE NAME ID --stack {}` (ID as PVE names it) or remove it in PVE, then run up again"
    if (died := [f"{name} ({type_})" for type_, name, message in api if any(s in message for s in _PLUGIN_DIED)]):
        return (f"the proxmoxve plugin died while creating {', '.join(died)}: PVE may hold them although the state "
                f"does not; run up again, and where it says one exists, {adopt.format(stack)}")
    if (held := [(type_, name) for type_, name, message in api if re.search(r"already (defined|exists)", message)]):
        type_, name = held[0]
        return (f"{', '.join(f'{n} ({t})' for t, n in held)} exists in PVE but not in this stack's state (left by a "
                f"failed create); {adopt.format(stack)}, e.g. `bin/pulumi import {type_} {name} ID --stack {stack}`")
    if (steps := re.findall(r"proxmox-ha: (step '[^']+' failed on node \S+: [^\n]*)", text)):
        return f"{steps[-1]}; fix that, then run up again: finished steps are skipped"
    for type_, name, message in reversed(failed):
        if type_ == "command:remote:Command" and message.startswith("after "):
            return (f"step {name}: its node did not answer over SSH ({message}); check that the node is up and "
                    "reachable, then run up again: finished steps are skipped")
    if (refused := _REFUSED.findall(text)):
        type_, name, message = refused[0]
        return f"{name} ({type_}) was refused by its provider before anything was created: {message}"
    for type_, name, message in failed:
        if type_ != "command:remote:Command":
            return f"{name} ({type_}) failed: {message}"
    # The engine prints a violation as `PACK@vVERSION [mandatory]  POLICY  (TYPE: NAME)`.
    if (policies := re.findall(r"\[mandatory\]\s+([a-z0-9-]+)\s+\(", text)):
        names = sorted(set(policies))
        return f"the policy pack refused the stack ({', '.join(names)}); see the violations above"
    last = [line.strip() for line in text.split("stderr:", 1)[-1].splitlines() if line.strip()]
    return last[-1] if last else "the engine failed; see its output above"
