"""Another member, reached from a node as PVE reaches one (pve-cluster SSHInfo.pm): root over the cluster's own SSH,
batch mode, the member's host key pinned by its name in its own file under /etc/pve."""
from __future__ import annotations

import shlex


def member_ssh(name: str, address: str) -> str:
    """The ssh command line to `name` at `address`; append the remote command (one quoted word) or `bash -s`."""
    return (f"ssh -o BatchMode=yes -o ConnectTimeout=10 -o HostKeyAlias={shlex.quote(name)} "
            f"-o UserKnownHostsFile=/etc/pve/nodes/{shlex.quote(name)}/ssh_known_hosts -o GlobalKnownHostsFile=none "
            f"root@{shlex.quote(address)}")


def on_member(name: str, address: str, command: str) -> str:
    """Shell: `command` (one script) run on member `name` over its ssh."""
    return f"{member_ssh(name, address)} {shlex.quote(command)}"
