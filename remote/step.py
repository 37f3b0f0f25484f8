"""A remote step: skip when `check` says it is done, else `act`, then `verify`; failures name step and node."""
from __future__ import annotations

import shlex
from dataclasses import dataclass

_PRELUDE = r"""set -euo pipefail
step={step} node={node}
fail() {{
  echo "proxmox-ha: step '$step' failed on node $node: $*" >&2
  echo "proxmox-ha: next: fix the cause above, then re-run 'pulumi up'; finished steps are skipped." >&2
  exit 1
}}
trap 'fail "\`$BASH_COMMAND\` (line $LINENO) exited with status $?"' ERR
# `cmd | grep -q` can fail under pipefail when grep exits early; has() reads all of its input.
has() {{ grep "$@" >/dev/null; }}
{read_secrets}"""


@dataclass(frozen=True)
class Step:
    name: str
    node: str
    # Exits 0 when the step's effect is already in place; may call `fail` to refuse (e.g. foreign cluster).
    check: str
    act: str
    # Run after `act`: the step only succeeds once this passes.
    verify: str | None = None
    # Printed on success whether or not the step acted (e.g. a public key a later step needs).
    report: str | None = None
    # Variables read from stdin, one line each, before anything else runs: secrets reach the node this way,
    # never in the script (it is in the state and the logs) nor as SSH env requests (a stock sshd refuses them).
    secrets: tuple[str, ...] = ()
    # Run when the stack is destroyed or drops the step (check-then-act too: gone already is fine). Only
    # steps that make API objects have one: membership, OSDs and pools are never undone.
    undo: str | None = None
    # Values whose change runs the step again (the Command's `triggers`: it is replaced, and its replacement's create
    # is this script), for what belongs to something no input of the step names, e.g. a venv to the node's Python.
    triggers: tuple[str, ...] = ()

    def _prelude(self, read_secrets: str = "") -> str:
        return _PRELUDE.format(step=shlex.quote(self.name), node=shlex.quote(self.node), read_secrets=read_secrets)

    def undo_script(self) -> str | None:
        return f"{self._prelude()}{self.undo.strip()}\n" if self.undo else None

    def script(self) -> str:
        read_secrets = "".join(f"IFS= read -r {var} || true; export {var}\n" for var in self.secrets)
        lines = [self._prelude(read_secrets)]
        lines.append(f"if {{\n{self.check.strip()}\n}} >/dev/null; then\n  echo \"proxmox-ha: $step on $node: already done, skipped\" >&2\nelse")
        # No indentation: scripts carry quoted multi-line file contents that must stay byte-exact.
        lines.append(self.act.strip())
        if self.verify:
            lines.append(f"{{\n{self.verify.strip()}\n}} || fail 'the change did not take effect (verification failed)'")
        lines.append("echo \"proxmox-ha: $step on $node: done\" >&2\nfi")
        if self.report:
            lines.append(self.report)
        return "\n".join(lines) + "\n"


def probe(condition: str) -> str:
    """A step's condition as a command of its own (with the helpers it may use), for tools that only ask."""
    return f"has() {{ grep \"$@\" >/dev/null; }}; fail() {{ echo \"$*\" >&2; exit 2; }}; {condition}"


def wait_for(condition: str, what: str, seconds: int = 120) -> str:
    """Shell that polls `condition` every second and fails with `what` after `seconds`. Once it held, the wait is
    over: asking again could catch a file PVE is rewriting that moment (corosync.conf after a delnode) and read as a no."""
    return (
        f"waited=\n"
        f"for _ in $(seq {max(1, seconds)}); do\n"
        f"  if {condition}; then waited=1; break; fi\n"
        f"  sleep 1\n"
        f"done\n"
        f"[ -n \"$waited\" ] || {condition} || fail {shlex.quote(f'timed out after {seconds}s waiting for {what}')}"
    )


def write_file(path: str, content: str, mode: str = "0644") -> str:
    """Shell that writes `content` to `path` atomically (single-quoted: nothing in it is expanded)."""
    # The shell's PID in the name: two runs writing the same path never move each other's file.
    tmp = f"{path}.proxmox-ha.$$"
    return (
        f"mkdir -p \"$(dirname {path})\"\n"
        f"printf '%s\\n' {shlex.quote(content.rstrip())} > {tmp}\n"
        f"chmod {mode} {tmp} && mv {tmp} {path}"
    )


def same_file(path: str, content: str) -> str:
    """Shell that exits 0 when `path` holds exactly `content`."""
    return f"printf '%s\\n' {shlex.quote(content.rstrip())} | cmp -s {path} -"


def files(node: str, name: str, wanted: dict[str, tuple[str, str]], then: str = "") -> Step:
    """Install files {path: (content, mode)}; `then` runs after any of them changed (e.g. a service restart)."""
    check = " && ".join(same_file(path, content) for path, (content, _) in wanted.items())
    act = "\n".join(write_file(path, content, mode) for path, (content, mode) in wanted.items())
    return Step(name=name, node=node, check=check, act=f"{act}\n{then}".rstrip(), verify=check)
