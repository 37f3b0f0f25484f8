"""One line for a failed engine run: what failed, where, and what to do next.

The engine's own output (already printed) has the detail; this line names the cause among the ones an
operator meets: no such stack, a wrong passphrase, a config problem, a node that does not answer, a remote
step that failed, the policy pack's refusal, or a provider that died half-way through creating something.
"""
from __future__ import annotations

import re

from pulumi.automation import errors

_CREATE_CRASH = re.compile(
    r"(?:creating|updating)[^\n]*?(urn:pulumi:[^\s:]+::[^\s:]+::(?:[^\s:]+\$)*(proxmoxve:[^\s:]+)::([^\s:'\"]+))"
    r"[^\n]*\n?[^\n]*(?:transport is closing|error reading from server|connection refused|panic|plugin exited)",
)


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
    if (crash := _CREATE_CRASH.search(text)):
        _, type_, name = crash.groups()
        return (f"the proxmoxve provider died while creating {name} ({type_}); PVE may now hold that object although "
                f"the state does not. Adopt it with `bin/pulumi import {type_} {name} ID --stack {stack}` (ID as PVE names it), "
                "or remove it in PVE, then run up again")
    if (steps := re.findall(r"proxmox-ha: (step '[^']+' failed on node \S+: [^\n]*)", text)):
        return f"{steps[-1]}; fix that, then run up again: finished steps are skipped"
    if (dial := re.search(r"after \d+ failed attempts: ([^\n]+)", text)):
        node = re.search(r"command:remote:Command \((\S+?)-[a-z]", text)
        where = f" (node of step {node.group(1)})" if node else ""
        return f"a node did not answer over SSH{where}: {dial.group(1)}; check it is up and reachable, then run up again"
    if (policies := re.findall(r"mandatory: \[?([a-z0-9-]+)\]?|\[mandatory\]\s+\S+\s+([a-z0-9-]+)", text)):
        names = sorted({a or b for a, b in policies})
        return f"the policy pack refused the stack ({', '.join(names)}); see the violations above"
    last = [line.strip() for line in text.split("stderr:", 1)[-1].splitlines() if line.strip()]
    return last[-1] if last else "the engine failed; see its output above"
