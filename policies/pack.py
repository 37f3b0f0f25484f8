"""CrossGuard wiring for the rules in rules.py. The PolicyPack itself is constructed only in __main__.py."""
from __future__ import annotations

from typing import Any, Callable, Mapping

import pulumi_policy.policy as sdk
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.secret import Secret

import rules
from contract import BACKUP, CEPH, CLUSTER, HARESOURCE, PVE_POOL
from rules import Resource, SecretMarker

MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY


def keep_secret_markers() -> None:
    """Let validations see which inputs the engine sent as secrets.

    pulumi-policy 1.21 unwraps secrets before resource validations, which makes a "no plaintext secret" rule
    impossible. Deserializing with `proxy_secrets=True` keeps them wrapped (as `Secret`) under a proxy that
    still hands ordinary rules the plain values; `_raw_props` reads past the proxy.
    """
    original = sdk.deserialize_properties
    sdk.deserialize_properties = lambda props, proxy_secrets=False: original(props, True)


def _raw_props(props: Mapping[str, Any]) -> Mapping[str, Any]:
    try:
        target = props["__target"]
    except KeyError:
        target = props
    return _mark(target)


def _mark(value: Any) -> Any:
    if isinstance(value, Secret):
        return SecretMarker(_mark(value.value))
    if isinstance(value, Mapping):
        return {k: _mark(value[k]) for k in value}
    if isinstance(value, (list, tuple)):
        return [_mark(v) for v in value]
    return value


def _report_all(report: ReportViolation, messages: list[str], urn: str | None = None) -> None:
    for message in messages:
        report(message, urn) if urn else report(message)


def _on(type_: str | tuple[str, ...], check: Callable[[ResourceValidationArgs], list[str]]):
    types = (type_,) if isinstance(type_, str) else type_

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type in types:
            _report_all(report, check(args))

    return validate


def _stack(check: Callable[[list[Resource]], list[str]]):
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = [Resource(r.resource_type, r.name, r.props) for r in args.resources]
        _report_all(report, check(resources))

    return validate


def _pool_props(args: ResourceValidationArgs) -> list[Mapping[str, Any]]:
    if args.resource_type == CEPH:
        return list(args.props.get("pools", []))
    return [args.props]


POLICIES = [
    ResourceValidationPolicy(
        name="odd-node-count",
        description="A cluster has an odd number of nodes, at least 3, or an even number (2 or more) with a QDevice.",
        enforcement_level=MANDATORY,
        validate=_on(CLUSTER, lambda a: rules.node_count(a.props)),
        remediation_steps="List 3, 5 or 7 nodes in proxmox-ha:cluster.nodes, or configure a QDevice for an even count.",
    ),
    ResourceValidationPolicy(
        name="even-node-count-with-qdevice",
        description="An even node count relies on a QDevice; keep it independent of the nodes.",
        enforcement_level=ADVISORY,
        validate=_on(CLUSTER, lambda a: rules.even_count_with_qdevice(a.props)),
    ),
    ResourceValidationPolicy(
        name="ceph-pool-replication",
        description="Every Ceph pool keeps size/min_size replicas (3/2 by default); min_size 1 is never allowed.",
        enforcement_level=MANDATORY,
        validate=_on((CEPH, PVE_POOL), lambda a: rules.pool_replication(
            _pool_props(a), int(a.get_config().get("size", 3)), int(a.get_config().get("minSize", 2)))),
        config_schema=PolicyConfigSchema(properties={
            "size": {"type": "integer", "default": 3, "minimum": 2},
            "minSize": {"type": "integer", "default": 2, "minimum": 2},
        }),
        remediation_steps="Set size: 3 and minSize: 2 on every pool in proxmox-ha:ceph.pools.",
    ),
    ResourceValidationPolicy(
        name="ceph-replicas-fit-osd-hosts",
        description="No pool has more replicas than there are hosts carrying OSDs.",
        enforcement_level=MANDATORY,
        validate=_on(CEPH, lambda a: rules.replicas_fit_osd_hosts(a.props)),
        remediation_steps="Give at least `size` nodes osdDisks, or lower the pool size (never below 3 in production).",
    ),
    ResourceValidationPolicy(
        name="corosync-crypto",
        description="Corosync traffic is encrypted and authenticated (crypto_cipher and crypto_hash set).",
        enforcement_level=MANDATORY,
        validate=_on(CLUSTER, lambda a: rules.corosync_crypto(a.props)),
        remediation_steps="Set proxmox-ha:cluster.corosync to {cryptoCipher: aes256, cryptoHash: sha256}.",
    ),
    ResourceValidationPolicy(
        name="corosync-single-link",
        description="Corosync with one link has no network redundancy.",
        enforcement_level=ADVISORY,
        validate=_on(CLUSTER, lambda a: rules.corosync_single_link(a.props)),
        remediation_steps="Add networks.storage and a storageAddress per node; it becomes corosync link1.",
    ),
    StackValidationPolicy(
        name="ha-placement-nodes",
        description="Every HA group or node-affinity rule names at least 2 nodes.",
        enforcement_level=MANDATORY,
        validate=_stack(rules.ha_placements),
    ),
    ResourceValidationPolicy(
        name="ha-max-relocate",
        description="HA resources may be relocated at least once (max_relocate >= 1).",
        enforcement_level=MANDATORY,
        validate=_on(HARESOURCE, lambda a: rules.max_relocate(a.props)),
    ),
    StackValidationPolicy(
        name="ha-watchdog",
        description="With HA resources, the watchdog module is a watchdog driver (PVE fences by watchdog self-fencing).",
        enforcement_level=MANDATORY,
        validate=_stack(rules.watchdog_driver),
        remediation_steps="Set proxmox-ha:ha.watchdog to your board's driver (e.g. ipmi_watchdog, iTCO_wdt) or softdog.",
    ),
    StackValidationPolicy(
        name="ha-hardware-fencing",
        description="HA nodes have IPMI and a hardware watchdog.",
        enforcement_level=ADVISORY,
        validate=_stack(rules.hardware_fencing),
    ),
    StackValidationPolicy(
        name="backup-covers-ha",
        description="Every HA resource is covered by a backup job (all: true, or listed by vmid).",
        enforcement_level=MANDATORY,
        validate=_stack(rules.backups_cover_ha),
    ),
    ResourceValidationPolicy(
        name="backup-job-mail",
        description="A backup job's mailNotification has recipients (mailTo); PVE ignores it otherwise.",
        enforcement_level=MANDATORY,
        validate=_on(BACKUP, lambda a: rules.job_mail(a.props)),
    ),
    StackValidationPolicy(
        name="prometheus-outside-cluster",
        description="Prometheus and Alertmanager run on a machine that is not a cluster node.",
        enforcement_level=MANDATORY,
        validate=_stack(rules.prometheus_outside_cluster),
    ),
    ResourceValidationPolicy(
        name="no-plaintext-secrets",
        description="Passwords, API tokens and SSH keys reach resources only as secrets.",
        enforcement_level=MANDATORY,
        validate=_on(tuple(rules.SECRET_INPUTS), lambda a: rules.plaintext_secrets(a.resource_type, _raw_props(a.props))),
        remediation_steps="Set them with `pulumi config set --secret proxmox-ha:KEY`, or wrap values in pulumi.Output.secret.",
    ),
    ResourceValidationPolicy(
        name="ceph-release-supported",
        description="The Ceph release is not past its end of life.",
        enforcement_level=ADVISORY,
        validate=_on(CEPH, lambda a: rules.ceph_release_supported(a.props)),
    ),
]
