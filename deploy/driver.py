"""Run the engine on this project through the Automation API's inline program path.

The CLI (the user's own, or the pinned build: deploy/cli.py) serves the program from this process (no
pulumi-language-python), the policy pack starts from its executable launcher (`policies/run`), and the
providers are the released plugins, installed as Pulumi installs them, or the lab's stand-ins for the stacks
PROXMOX_HA_STAND_INS names (deploy/plugins.py). Everything the engine prints is passed through: diff,
progress, policy results, outputs. A failure ends with one line that says what to do.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from pulumi import automation as auto

from deploy import cli, locks, plugins
from deploy.errors import explain

REPO = Path(__file__).resolve().parent.parent
POLICY_LAUNCHER = REPO / "policies" / "run"
PROJECT = "proxmox-ha"


def engine_env() -> dict[str, str]:
    env = {"PULUMI_SKIP_UPDATE_CHECK": "true"}
    if not os.environ.get("PULUMI_BACKEND_URL"):
        state = REPO / ".pulumi-state"
        state.mkdir(exist_ok=True)
        env["PULUMI_BACKEND_URL"] = f"file://{state}"
    return env


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__.splitlines()[0])
    parser.add_argument("operation", choices=["preview", "up", "refresh", "destroy"])
    parser.add_argument("--stack", required=True, help="stack name: its config is Pulumi.<stack>.yaml")
    parser.add_argument("--config-file", type=Path,
                        help="read the stack's config from this file instead of Pulumi.<stack>.yaml (e.g. the lab's generated one)")
    parser.add_argument("--expect-no-changes", action="store_true", help="fail if the operation would change anything")
    parser.add_argument("--no-policy", action="store_true", help="run without the policy pack (it is on by default)")
    parser.add_argument("--skip-preview", action="store_true",
                        help="up without showing the plan first, as `pulumi up --skip-preview` (the policy pack still runs)")
    return parser.parse_args(argv)


def select_stack(args: argparse.Namespace, env: dict[str, str], root: Path) -> auto.Stack:
    import program  # the project's program; imported here so `--help` works without its dependencies

    workspace = auto.LocalWorkspace(
        work_dir=str(REPO),
        program=program.run,
        env_vars=env,
        pulumi_command=auto.PulumiCommand(root=str(root)),
    )
    return auto.Stack.select(args.stack, workspace)


def run(args: argparse.Namespace) -> int:
    env = engine_env()
    if not os.environ.get("PULUMI_CONFIG_PASSPHRASE") and not os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        print(f"deploy: PULUMI_CONFIG_PASSPHRASE is not set; export the passphrase of stack '{args.stack}' "
              "(the lab's is in the README)", file=sys.stderr)
        return 2
    stack_file = args.config_file or REPO / f"Pulumi.{args.stack}.yaml"
    if not stack_file.is_file():
        print(f"deploy: no config for stack '{args.stack}': {stack_file} does not exist", file=sys.stderr)
        return 2
    binary, which = cli.choose(os.environ["PATH"])
    print(f"deploy: {which}", flush=True)
    stack = select_stack(args, env, cli.root(binary))  # an unknown stack is named before plugins are sought
    left = locks.stale(env.get("PULUMI_BACKEND_URL") or os.environ["PULUMI_BACKEND_URL"], PROJECT, args.stack)
    if left:
        stack.cancel()
        print(f"deploy: a run on this machine (pid {', '.join(map(str, left))}) ended before it finished; its lock is "
              "released (pulumi cancel), and this run takes up the work from where it stopped", flush=True)
    try:
        stack.workspace.env_vars["PATH"], providers = plugins.choose(binary, env, os.environ["PATH"], args.stack)
    except plugins.PluginsMissing as missing:
        print(f"deploy: {missing}", file=sys.stderr)
        return 2
    for line in providers:
        print(f"deploy: provider {line}", flush=True)
    remember_outputs(stack.outputs())
    common = {"on_output": print, "on_error": lambda line: print(line, file=sys.stderr), "color": "never"}
    if args.config_file:
        common["config_file"] = str(args.config_file)
    policy = {} if args.no_policy else {"policy_packs": [str(POLICY_LAUNCHER)]}
    if args.operation == "preview":
        stack.preview(expect_no_changes=args.expect_no_changes or None, diff=True, **policy, **common)
    elif args.operation == "up":
        # Preview first, as `pulumi up` does: the plan is shown, then applied without a question. The up
        # shows progress, and its Diagnostics section names each failed resource.
        if not args.skip_preview:
            stack.preview(diff=True, **policy, **common)
        done = stack.up(expect_no_changes=args.expect_no_changes or None, **policy, **common)
        if adopts(done.outputs):
            # What PVE changed during the update (PVE 9's HA manager made rules of the groups) can only be read
            # once it exists: a second update imports it, so the stack ends converged and the next `up` is a no-op.
            print("deploy: PVE 9's HA manager made node-affinity rules of the HA groups during this update; a second "
                  "update adopts them (import; the groups leave the state only)", flush=True)
            remember_outputs(done.outputs)
            if not args.skip_preview:
                stack.preview(diff=True, **policy, **common)
            stack.up(**policy, **common)
    elif args.operation == "refresh":
        stack.refresh(expect_no_changes=args.expect_no_changes or None, **common)
    else:
        stack.destroy(**common)
        print("deploy: destroy removed the API-managed objects (HA, PBS storage, backup jobs, monitoring token and ACLs). "
              "Cluster membership, OSDs and pools stay: no remote step has a delete command; datacenter.cfg "
              "(the HA shutdown policy) is left as it is.")
    return 0


def remember_outputs(outputs: dict[str, auto.OutputValue]) -> None:
    """The program reads what its last run exported (program.LAST_OUTPUTS): set before each update writes its own."""
    import program
    os.environ[program.LAST_OUTPUTS] = json.dumps({key: out.value for key, out in outputs.items()})


def adopts(outputs: dict[str, auto.OutputValue]) -> bool:
    """The update left PVE holding objects the state does not have yet (the HA groups PVE 9 migrated)."""
    from components.ha import Shape
    return getattr(outputs.get("haShape"), "value", None) == Shape.MIGRATED


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"deploy: {args.operation} of stack '{args.stack}' with the Pulumi engine (Automation API, inline program)", flush=True)
    try:
        return run(args)
    except auto.errors.CommandError as error:
        print(f"deploy: {args.operation} of stack '{args.stack}' failed: {explain(error, args.stack)}", file=sys.stderr)
        return 1
