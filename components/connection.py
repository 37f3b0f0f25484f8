"""Hosts (a name and an SSH connection) and the one way components run a remote step on one."""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_command as command

from models.cluster import Node
from remote.step import Step


def node_host(node: Node, private_key: pulumi.Output[str]) -> Host:
    return Host(node.name, ssh_connection(str(node.management_address), node.ssh_port, node.ssh_host_key, private_key))


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


@dataclass(frozen=True)
class Host:
    """A machine steps run on: its name, which every step run here must be built for, and its SSH connection."""
    name: str
    connection: command.remote.ConnectionArgs

    def run(
        self,
        step: Step,
        parent: pulumi.Resource,
        depends_on: Sequence[pulumi.Resource] = (),
        secrets: Sequence[pulumi.Input[str]] = (),
    ) -> command.remote.Command:
        """A remote.Command named [COMPONENT-]NODE-STEP whose create and update run the step's check-then-act script under bash.

        `secrets` are the values of the step's `secrets` variables, sent as one secret stdin, a line each.
        The delete command is the step's `undo`, if any: destroying the stack never undoes cluster membership,
        OSDs or pools.
        """
        self._check(step)
        if step.undo and step.triggers:
            # The replacement is created before the old one is deleted: its undo would take back the new work.
            raise ValueError(f"step {step.name} has an undo and triggers; a replacement would run the undo after it")
        if len(secrets) != len(step.secrets):
            raise ValueError(f"step {step.name} reads {len(step.secrets)} secret(s) from stdin, {len(secrets)} given")
        stdin = pulumi.Output.secret(pulumi.Output.all(*secrets).apply(lambda values: "".join(f"{v}\n" for v in values))) \
            if secrets else None
        return register(parent, self, step.name, _bash(step.script()), _bash(step.undo_script()) if step.undo else None,
                        stdin, depends_on, triggers=step.triggers)

    def run_later(
        self, name: str, step: pulumi.Output[Step], parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = (),
    ) -> command.remote.Command:
        """A step built only once a value it needs is known (another step's report, e.g. a public key): its
        resource is named now, from `name`, so the step it becomes must carry that name (and no secrets, undo or
        triggers)."""
        def script(built: Step) -> str:
            self._check(built)
            if built.name != name or built.secrets or built.undo or built.triggers:
                raise ValueError(f"step {built.name} was registered by run_later as {name}, which takes no secrets, "
                                 "undo or triggers")
            return _bash(built.script())

        return register(parent, self, name, step.apply(script), None, None, depends_on)

    def _check(self, step: Step) -> None:
        if step.node != self.name:
            raise ValueError(f"step {step.name} is built for {step.node}, not for {self.name} where it would run")


def register(
    parent: pulumi.Resource,
    host: Host,
    step_name: str,
    run: pulumi.Input[str],
    undo: str | None,
    stdin: pulumi.Input[str] | None,
    depends_on: Sequence[pulumi.Resource],
    triggers: Sequence[str] = (),
) -> command.remote.Command:
    """The one place a step becomes a resource (tests watch it)."""
    return command.remote.Command(
        child_name(parent, f"{host.name}-{step_name}"),
        connection=host.connection,
        create=run,
        update=run,
        delete=undo,
        stdin=stdin,
        triggers=list(triggers) or None,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )


def _bash(script: str) -> str:
    return f"bash -c {shlex.quote(script)}"


def reported(step: command.remote.Command) -> pulumi.Output[str]:
    """What a step's `report` printed: the last line of its output (e.g. a public key), "" if none."""
    return step.stdout.apply(lambda out: out.strip().splitlines()[-1] if out.strip() else "")
