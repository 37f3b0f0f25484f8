"""pve-storage's per-type storage facts, and what PVE does with them when a storage is created or updated.

Each storage type is a plugin (pve-storage src/PVE/Storage/<Type>Plugin.pm) that declares
  - plugindata(): `content => [{allowed}, {default}]`, `format => [{allowed}, default]` and
    `sensitive-properties` (kept under /etc/pve/priv, never in storage.cfg);
  - options(): the storage.cfg options of the type, each `fixed` (cannot change after creation) and/or
    `optional` (neither flag: required on creation and fixed).
The lab API (POST/PUT /storage) and the `pvesm add/set` shim both check storage.cfg sections with these, as
PVE's API handler does (src/PVE/API2/Storage/Config.pm: create/update call the plugin's check_config,
pve-common src/PVE/SectionConfig.pm, which decodes each value with pve-storage's Plugin.pm decode_value).

Facts are pve-storage 9.1.x for PVE 9 (the lab's 9.1.3) and 8.3.x for PVE 8 (the lab's 8.4); they differ only
in options: `maxfiles` went away with 9.0, `snapshot-as-volume-chain` (and lvm's `saferemove-stepsize` and
image formats) came with 9.0. Allowed and default content are the same on both.

Imported by lab/api/storage.py and lab/shims/pvesm.py; imports neither.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field


class StorageConfigError(Exception):
    """What PVE dies with; the caller adds the handler's wrapper ("update storage failed: ...")."""

    def __init__(self, msg: str):
        super().__init__(msg)
        self.msg = msg


@dataclass(frozen=True)
class Option:
    fixed: bool = False
    optional: bool = False


OPT = Option(optional=True)              # { optional => 1 }
FIXED = Option(fixed=True)               # { fixed => 1 }: required on create, never changed
FIXED_OPT = Option(fixed=True, optional=True)  # { fixed => 1, optional => 1 }


@dataclass(frozen=True)
class Plugin:
    type: str
    content: tuple           # plugindata content->[0]: the content types the type allows
    default_content: tuple   # plugindata content->[1]: what a section without `content` has
    options: dict = field(default_factory=dict)  # options(): name -> Option
    formats: tuple | None = None  # plugindata format->[0]; None: the plugin declares none
    sensitive: tuple = ()    # plugindata 'sensitive-properties'

    @property
    def required(self) -> tuple:
        """Options without `optional`: required on create; SectionConfig writes them first."""
        return tuple(k for k, o in self.options.items() if not o.optional)


def _opts(spec: str) -> dict:
    """'name:flags ...' with flags f (fixed), o (optional), fo (both)."""
    kinds = {"o": OPT, "f": FIXED, "fo": FIXED_OPT}
    return {name: kinds[flags] for name, flags in (item.rsplit(":", 1) for item in spec.split())}


# pve-storage 9.1.x (src/PVE/Storage/*Plugin.pm, plugindata() and options())
_PVE9 = {
    "dir": Plugin(
        "dir", ("images", "rootdir", "vztmpl", "iso", "backup", "snippets", "none", "import"), ("images", "rootdir"),
        _opts("path:f content-dirs:o nodes:o shared:o disable:o prune-backups:o max-protected-backups:o "
              "content:o format:o mkdir:o create-base-path:o create-subdirs:o is_mountpoint:o bwlimit:o "
              "preallocation:o snapshot-as-volume-chain:fo"),
        formats=("raw", "qcow2", "vmdk", "subvol")),
    "pbs": Plugin(
        "pbs", ("backup", "none"), ("backup",),
        _opts("server:f datastore:f namespace:o port:o nodes:o disable:o content:o username:o password:o "
              "encryption-key:o master-pubkey:o prune-backups:o max-protected-backups:o fingerprint:o"),
        sensitive=("encryption-key", "master-pubkey", "password")),
    "rbd": Plugin(
        "rbd", ("images", "rootdir"), ("images",),
        _opts("nodes:o disable:o monhost:o pool:o data-pool:o namespace:o username:o content:o krbd:o "
              "keyring:o bwlimit:o"),
        sensitive=("keyring",)),
    "nfs": Plugin(
        "nfs", ("images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import"), ("images",),
        _opts("path:f content-dirs:o server:f export:f nodes:o disable:o prune-backups:o max-protected-backups:o "
              "options:o content:o format:o mkdir:o create-base-path:o create-subdirs:o bwlimit:o "
              "preallocation:o snapshot-as-volume-chain:fo"),
        formats=("raw", "qcow2", "vmdk")),
    "cifs": Plugin(
        "cifs", ("images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import"), ("images",),
        _opts("path:f content-dirs:o server:f share:f subdir:o nodes:o disable:o prune-backups:o "
              "max-protected-backups:o content:o format:o username:o password:o domain:o smbversion:o mkdir:o "
              "create-base-path:o create-subdirs:o bwlimit:o preallocation:o options:o "
              "snapshot-as-volume-chain:fo"),
        formats=("raw", "qcow2", "vmdk"), sensitive=("password",)),
    "lvm": Plugin(
        "lvm", ("images", "rootdir"), ("images",),
        _opts("vgname:f nodes:o shared:o disable:o saferemove:o saferemove-stepsize:o saferemove_throughput:o "
              "content:o base:fo tagged_only:o bwlimit:o snapshot-as-volume-chain:o"),
        formats=("raw", "qcow2")),
    "lvmthin": Plugin(
        "lvmthin", ("images", "rootdir"), ("images", "rootdir"),
        _opts("thinpool:f vgname:f nodes:o disable:o content:o bwlimit:o")),
    "zfspool": Plugin(
        "zfspool", ("images", "rootdir"), ("images", "rootdir"),
        _opts("pool:f blocksize:o sparse:o nodes:o disable:o content:o bwlimit:o mountpoint:o"),
        formats=("raw", "subvol")),
    "cephfs": Plugin(
        "cephfs", ("vztmpl", "iso", "backup", "snippets", "import"), ("backup",),
        _opts("path:f content-dirs:o monhost:o nodes:o subdir:o disable:o options:o username:o content:o format:o "
              "mkdir:o create-base-path:o create-subdirs:o fuse:o bwlimit:o keyring:o prune-backups:o "
              "max-protected-backups:o fs-name:o"),
        sensitive=("keyring",)),
}


def _pve8(p: Plugin) -> Plugin:
    """pve-storage 8.3.x: `maxfiles` still there, no `snapshot-as-volume-chain`, lvm without
    `saferemove-stepsize` and without image formats."""
    opts = {k: o for k, o in p.options.items() if k not in ("snapshot-as-volume-chain", "saferemove-stepsize")}
    if p.type in ("dir", "nfs", "cifs", "cephfs", "pbs"):
        opts["maxfiles"] = OPT
    return Plugin(p.type, p.content, p.default_content, opts, None if p.type == "lvm" else p.formats, p.sensitive)


PLUGINS = {9: _PVE9, 8: {t: _pve8(p) for t, p in _PVE9.items()}}
TYPES = tuple(_PVE9)  # the types the lab knows the facts of


def plugin(typ: str, major: int) -> Plugin | None:
    return PLUGINS[8 if major < 9 else 9].get(typ)


def default_content(typ: str, major: int) -> str:
    """What a section of the type without `content` reads as (Plugin.pm parse_config); '' for other types."""
    p = plugin(typ, major)
    return ",".join(p.default_content) if p else ""


def sensitive(typ: str, major: int) -> tuple:
    """Plugin.pm sensitive_properties(): the type's options kept under /etc/pve/priv."""
    p = plugin(typ, major)
    return p.sensitive if p else ()


def split_list(value: str) -> list[str]:
    """PVE::Tools::split_list."""
    return [v for v in re.split(r"[,;\s\0]+", value or "") if v]


# ---------------------------------------------------------------- Plugin.pm decode_value / encode_value
def decode_content(p: Plugin, value: str, warnings: list) -> str:
    """A content list as PVE stores it: types the plugin does not allow are dropped with a warning; none left
    is an error unless the plugin allows 'none'; written back as 'none' then (encode_value)."""
    kept = []
    for c in split_list(value):
        if c not in p.content:
            warnings.append(f"storage does not support content type '{c}'")
            continue
        if c not in kept:
            kept.append(c)
    if "none" in kept and len(kept) > 1:
        raise StorageConfigError("unable to combine 'none' with other content types")
    if not kept and "none" not in p.content:
        raise StorageConfigError("storage does not support content type 'none'")
    return ",".join(kept) or "none"


def _decode(p: Plugin, key: str, value: str, warnings: list) -> str | None:
    """Plugin.pm decode_value, as the string storage.cfg gets (encode_value); None: the option is dropped."""
    if key == "content":
        return decode_content(p, value, warnings)
    if key == "format":
        # decode_value warns and leaves by `next`, which skips the option in check_config's loop
        if value not in (p.formats or ()):
            warnings.append(f"storage does not support format '{value}'")
            return None
        return value
    if key == "content-dirs":
        dirs = {}
        for item in split_list(value):
            content, _, path = item.partition("=")
            if content not in p.content:
                warnings.append(f"storage does not support content type '{content}'")
                continue
            dirs[content] = path
        return ",".join(f"{k}={dirs[k]}" for k in sorted(dirs))
    return value


# ---------------------------------------------------------------- SectionConfig check_config
def check_config(typ: str, params: dict, create: bool, major: int, warnings: list | None = None) -> dict:
    """PVE::SectionConfig::check_config($storeid, $param, $create, skipSchemaCheck=1) of the type's plugin: the
    section's options as storage.cfg gets them. `params` are the API call's parameters less `type`/`storage`
    (and `digest`/`delete` on update) and less the type's sensitive ones, already checked by the API schema.
    PVE's warnings (the `warn`s, printed on stderr by pvesm) are appended to `warnings`."""
    p = plugin(typ, major)
    if p is None:
        raise StorageConfigError(f"unknown section type '{typ}'")
    warnings = [] if warnings is None else warnings
    out = {}
    for key, value in params.items():
        opt = p.options.get(key)
        if not create and opt is not None and opt.fixed:
            raise StorageConfigError(f"can't change value of fixed parameter '{key}'")
        if value is None:
            raise StorageConfigError(f"got undefined value for option '{key}'")
        # check_value
        if opt is None:
            raise StorageConfigError(f"unexpected property '{key}'")
        value = str(value)
        if "\n" in value or "\r" in value:
            raise StorageConfigError("property contains a line feed")
        decoded = _decode(p, key, value, warnings)
        if decoded is not None:
            out[key] = decoded
    if create:
        for key in p.required:
            if params.get(key) is None:
                raise StorageConfigError(f"missing value for required option '{key}'")
    return out


def check_delete(typ: str, delete: list, settings: dict, major: int) -> None:
    """PUT /storage/{storage}'s checks of `delete` (API2/Storage/Config.pm update), after check_config."""
    p = plugin(typ, major)
    for key in delete:
        opt = p.options.get(key) if p else None
        if opt is None:
            raise StorageConfigError(f"no such option '{key}'")
        if not opt.optional:
            raise StorageConfigError(f"unable to delete required option '{key}'")
        if opt.fixed:
            raise StorageConfigError(f"unable to delete fixed option '{key}'")
        if key in settings:
            raise StorageConfigError(f"cannot set and delete property '{key}' at the same time!")
