"""SSH connections and the one way components run a remote step."""
from __future__ import annotations

import shlex
from typing import Sequence

import pulumi
import pulumi_command as command

from models.cluster import Node
from remote.step import Step


def connection_for(node: Node, private_key: pulumi.Output[str]) -> command.remote.ConnectionArgs:
    return ssh_connection(str(node.management_address), node.ssh_port, node.ssh_host_key, private_key)


def ssh_connection(host: str, port: int, host_key: str | None, private_key: pulumi.Output[str]) -> command.remote.ConnectionArgs:
    """Root over SSH with the stack's key; the host key is pinned when the config gives it."""
    return command.remote.ConnectionArgs(
        host=host, port=port, user="root", private_key=private_key, host_key=host_key, dial_error_limit=5,
    )


def child_name(parent: pulumi.Resource, name: str) -> str:
    """A child's name starts with its component's, so state and logs say which component made it (a node's
    own steps already do: they are named by the node)."""
    prefix = parent.pulumi_resource_name
    return name if name == prefix or name.startswith(f"{prefix}-") else f"{prefix}-{name}"


def run_step(
    step: Step,
    connection: command.remote.ConnectionArgs,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
    secrets: Sequence[pulumi.Input[str]] = (),
    script: pulumi.Input[str] | None = None,
) -> command.remote.Command:
    """A remote.Command named [COMPONENT-]NODE-STEP whose create and update run the step's check-then-act script under bash.

    `secrets` are the values of the step's `secrets` variables, sent as one secret stdin, a line each.
    The delete command is the step's `undo`, if any: destroying the stack never undoes cluster membership,
    OSDs or pools.
    """
    if len(secrets) != len(step.secrets):
        raise ValueError(f"step {step.name} reads {len(step.secrets)} secret(s) from stdin, {len(secrets)} given")
    body = script if script is not None else step.script()
    wrap = lambda text: f"bash -c {shlex.quote(text)}"  # noqa: E731
    # Only scripts that wait on another resource's output need an apply.
    run = wrap(body) if isinstance(body, str) else pulumi.Output.from_input(body).apply(wrap)
    return command.remote.Command(
        child_name(parent, f"{step.node}-{step.name}"),
        connection=connection,
        create=run,
        update=run,
        delete=wrap(step.undo_script()) if step.undo else None,
        stdin=pulumi.Output.secret(pulumi.Output.all(*secrets).apply(lambda values: "".join(f"{v}\n" for v in values)))
        if secrets else None,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )


def reported(step: command.remote.Command) -> pulumi.Output[str]:
    """What a step's `report` printed: the last line of its output (e.g. a public key), "" if none."""
    return step.stdout.apply(lambda out: out.strip().splitlines()[-1] if out.strip() else "")
