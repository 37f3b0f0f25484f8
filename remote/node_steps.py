"""Node preparation: repositories, packages, bridges, /etc/hosts, watchdog, IPMI, root SSH key."""
from __future__ import annotations

import shlex

from .step import Step, same_file, write_file

SUITES = {8: "bookworm", 9: "trixie"}
PVE_MIRROR = "http://download.proxmox.com/debian/pve"
KEYRING = "/usr/share/keyrings/proxmox-archive-keyring.gpg"
HOSTS_BEGIN = "# BEGIN proxmox-ha managed hosts"
HOSTS_END = "# END proxmox-ha managed hosts"


def pve_release(node: str, pve_version: int, key: str, upgradable: bool = False) -> Step:
    """Check-only, before anything changes: the node runs the PVE major the stack is written for (`pveversion`
    prints `pve-manager/9.1.3/REPOID (running kernel: ...)`), or, when `upgradable`, it is a cluster member on the
    major before, which `up` upgrades (remote/upgrade_steps.py)."""
    other = f"{key} is {pve_version}, but $node runs PVE $version; set {key} to $major, or install PVE {pve_version} on $node"
    none = f"$node runs no Proxmox VE (no pveversion): install PVE {pve_version} on it, or fix {key}"
    upgrade = (f"if [ \"$major\" = {pve_version - 1} ] && [ -f /etc/pve/corosync.conf ]; then\n"
               f"  echo \"proxmox-ha: $node runs PVE $version: up upgrades it to PVE {pve_version}, one node at a time\" >&2\n"
               "  exit 0\nfi") if upgradable else ""
    return Step(
        name="pve-release",
        node=node,
        check=f"pveversion 2>/dev/null | has -E '^pve-manager/{pve_version}\\.'",
        act="\n".join(filter(None, [
            f"found=$(pveversion 2>/dev/null) || fail \"{none}\"",
            "version=${found#pve-manager/}; version=${version%%/*}; major=${version%%.*}",
            upgrade,
            f"fail \"{other}\"",
        ])),
    )


def _repository(pve_version: int) -> tuple[str, str, str, str]:
    """(path, content, enterprise-off check, enterprise-off change) of PVE's repositories on a major."""
    suite = SUITES[pve_version]
    if pve_version == 8:
        path = "/etc/apt/sources.list.d/pve-no-subscription.list"
        content = f"deb {PVE_MIRROR} {suite} pve-no-subscription"
        enterprise = "/etc/apt/sources.list.d/pve-enterprise.list"
        enterprise_off = f"! grep -qs '^deb' {enterprise}"
        disable = f"if [ -f {enterprise} ]; then sed -i 's/^deb/# deb/' {enterprise}; fi"
    else:
        path = "/etc/apt/sources.list.d/proxmox.sources"
        content = f"Types: deb\nURIs: {PVE_MIRROR}\nSuites: {suite}\nComponents: pve-no-subscription\nSigned-By: {KEYRING}"
        enterprise = "/etc/apt/sources.list.d/pve-enterprise.sources"
        enterprise_off = f"{{ [ ! -f {enterprise} ] || has -x 'Enabled: false' {enterprise}; }}"
        disable = f"if [ -f {enterprise} ] && ! grep -qx 'Enabled: false' {enterprise}; then echo 'Enabled: false' >> {enterprise}; fi"
    return path, content, enterprise_off, disable


def repository_change(pve_version: int) -> str:
    """Shell: no-subscription on, enterprise off (what `repositories` does when its check fails)."""
    path, content, _, disable = _repository(pve_version)
    return f"{write_file(path, content)}\n{disable}"


def repositories(node: str, pve_version: int) -> Step:
    """No-subscription on, enterprise off: `.list` files on PVE 8 (bookworm), deb822 `.sources` on PVE 9 (trixie)."""
    path, content, enterprise_off, _ = _repository(pve_version)
    return Step(
        name="apt-repositories",
        node=node,
        check=f"{same_file(path, content)} && {enterprise_off}",
        act=repository_change(pve_version),
        verify=enterprise_off,
    )


def installed(names: list[str]) -> str:
    """Shell: exits 0 when every Debian package in `names` is installed."""
    return " && ".join(f"dpkg-query -W -f='${{Status}}' {shlex.quote(n)} 2>/dev/null | has 'install ok installed'" for n in names)


def apt_install(names: list[str]) -> str:
    return f"apt-get update -q\nDEBIAN_FRONTEND=noninteractive apt-get install -y -q {' '.join(map(shlex.quote, names))}"


def packages(node: str, names: list[str]) -> Step:
    return Step(name="packages", node=node, check=installed(names), act=apt_install(names), verify=installed(names))


INTERFACES = "/etc/network/interfaces"


def _stanza_address(bridge: str) -> str:
    """Shell printing the `address` of BRIDGE's iface stanza in PVE's interfaces file."""
    return (f"awk '/^iface {bridge} /{{s=1; next}} /^(auto|iface|source|allow-)/{{s=0}} "
            f"s && $1 == \"address\" {{print $2}}' {INTERFACES}")


def management_bridge(node: str, address: str) -> Step:
    """A check, never a change: vmbr0 (the installer's bridge, which this very SSH session rides on) has the
    management address in PVE's interfaces file and in the kernel. A mismatch stops with what to fix."""
    ok = f"{_stanza_address('vmbr0')} | has -x {shlex.quote(address)} && ip -o addr show | has -w {shlex.quote(f'inet {address}')}"
    return Step(
        name="management-bridge",
        node=node,
        check=ok,
        act=f"fail {shlex.quote(f'vmbr0 in {INTERFACES} does not carry {address}; set it on the console (or System > Network), then re-run up: the program never rewrites the bridge its own SSH session rides on')}",
    )


def storage_bridge(node: str, port: str, address: str) -> Step:
    """vmbr1 in PVE's own interfaces file (PVE reads no managed interface from sourced files), applied with
    ifupdown2's ifreload, which leaves vmbr0 as it is. Done means in the file and on the bridge."""
    stanza = bridge_stanza("vmbr1", port, address)
    current = f"sed -n '/^auto vmbr1$/,/^$/p' {INTERFACES} | sed '/^$/d'"
    wanted = (f"[ \"$({current})\" = {shlex.quote(stanza)} ]"
              f" && ip -o addr show dev vmbr1 2>/dev/null | has -w {shlex.quote(f'inet {address}')}")
    # Drop any vmbr1 stanza (auto or iface, up to its blank line), then append ours; rewrite in place.
    drop = "awk '/^(auto|iface) vmbr1( |$)/{s=1} s && /^$/{s=0; next} !s{print}'"
    return Step(
        name="storage-bridge",
        node=node,
        check=wanted,
        act=(
            f"{drop} {INTERFACES} > {INTERFACES}.proxmox-ha.tmp\n"
            f"printf '\\n%s\\n' {shlex.quote(stanza)} >> {INTERFACES}.proxmox-ha.tmp\n"
            f"cat {INTERFACES}.proxmox-ha.tmp > {INTERFACES} && rm -f {INTERFACES}.proxmox-ha.tmp\n"
            "ifreload -a"
        ),
        verify=wanted,
    )


def bridge_stanza(bridge: str, port: str, address: str) -> str:
    """An ifupdown2 stanza as PVE writes one: a static address, a port, no STP."""
    return "\n".join([f"auto {bridge}", f"iface {bridge} inet static", f"\taddress {address}",
                      f"\tbridge-ports {port}", "\tbridge-stp off", "\tbridge-fd 0"])


def hosts(node: str, entries: list[tuple[str, str]]) -> Step:
    """A managed block in /etc/hosts with every node, so corosync and SSH resolve names without DNS."""
    block = "\n".join([HOSTS_BEGIN, *(f"{address} {name}" for address, name in entries), HOSTS_END])
    extract = f"sed -n '/^{HOSTS_BEGIN}$/,/^{HOSTS_END}$/p' /etc/hosts"
    return Step(
        name="etc-hosts",
        node=node,
        check=f"[ \"$({extract})\" = {shlex.quote(block)} ]",
        act=(
            f"sed '/^{HOSTS_BEGIN}$/,/^{HOSTS_END}$/d' /etc/hosts > /etc/hosts.proxmox-ha.tmp\n"
            f"printf '%s\\n' {shlex.quote(block)} >> /etc/hosts.proxmox-ha.tmp\n"
            # /etc/hosts may be a bind mount: rewrite in place rather than rename over it.
            "cat /etc/hosts.proxmox-ha.tmp > /etc/hosts && rm -f /etc/hosts.proxmox-ha.tmp"
        ),
        verify=f"[ \"$({extract})\" = {shlex.quote(block)} ]",
    )


def watchdog(node: str, module: str) -> Step:
    """PVE fences by watchdog self-fencing: watchdog-mux loads WATCHDOG_MODULE at boot."""
    path = "/etc/default/pve-ha-manager"
    line = f"WATCHDOG_MODULE={module}"
    return Step(
        name="watchdog-module",
        node=node,
        check=f"grep -qsx {shlex.quote(line)} {path}",
        act=(
            f"touch {path}\n"
            f"sed -i '/^#\\?\\s*WATCHDOG_MODULE=/d' {path}\n"
            f"echo {shlex.quote(line)} >> {path}\n"
            "echo \"proxmox-ha: $node: watchdog module set to "
            f"{module}; it takes effect at the next reboot (watchdog-mux loads it at start)\" >&2"
        ),
        verify=f"grep -qx {shlex.quote(line)} {path}",
    )


def ipmi_reachable(node: str, address: str, username: str) -> Step:
    """A read-only check that the BMC answers; the password arrives on stdin (ipmitool -E reads IPMI_PASSWORD)."""
    probe = (
        "if command -v ipmitool >/dev/null; then "
        f"ipmitool -I lanplus -H {shlex.quote(address)} -U {shlex.quote(username)} -E chassis power status; "
        f"else ping -c 1 -W 2 {shlex.quote(address)}; fi"
    )
    return Step(
        name="ipmi-reachable",
        node=node,
        check="false",
        act=f"{probe} >/dev/null 2>&1 || fail {shlex.quote(f'the BMC at {address} does not answer; check its address, user and the secret proxmox-ha:ipmiPassword')}",
        secrets=("IPMI_PASSWORD",),
    )


def root_ssh_key(node: str) -> Step:
    """The node's root key, which `pvecm add --use_ssh` uses to reach the first node; prints the public key."""
    return Step(
        name="root-ssh-key",
        node=node,
        check="test -s /root/.ssh/id_ed25519.pub",
        act="mkdir -p -m 700 /root/.ssh\nssh-keygen -q -t ed25519 -N '' -C \"root@$node\" -f /root/.ssh/id_ed25519",
        report="cat /root/.ssh/id_ed25519.pub",
    )
