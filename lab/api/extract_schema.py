"""Regenerate the lab's committed extract of PVE's API schema (lab/api/pve-schema/pve-VERSION.json).

PVE publishes its whole REST API schema (pve-docs api-viewer/apidata.js; as JSON in a folder such as
/work/shared/pve-api, which a CI clone does not have). The lab validates by it, so it commits the part
it needs: the parameters (and permissions) of the methods the lab API serves (lab/api/schema.py
ENDPOINTS) and of those the PVE CLI shims parse their options from (CLI_ENDPOINTS).

    python -m lab.api.extract_schema /work/shared/pve-api            # rewrite the extract
    python -m lab.api.extract_schema /work/shared/pve-api --check    # exit 1 if it is not up to date
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import schema

OUT_DIR = Path(__file__).resolve().parent / "pve-schema"
# schema keys that take part in PVE::JSONSchema's parameter check (descriptions are left out)
KEEP = ("type", "format", "enum", "pattern", "minimum", "maximum", "minLength", "maxLength", "optional",
        "default", "default_key", "typetext", "requires", "items", "alias", "instance-types", "type-property")


def index(tree: list) -> dict:
    """apidata's tree of path nodes -> {(METHOD, path): method info}."""
    out = {}
    stack = list(tree)
    while stack:
        node = stack.pop()
        for method, info in (node.get("info") or {}).items():
            out[(method, node["path"])] = info
        stack.extend(node.get("children") or [])
    return out


def clean(spec: dict) -> dict:
    out = {k: spec[k] for k in KEEP if k in spec}
    if isinstance(out.get("format"), dict):
        out["format"] = {k: clean(v) for k, v in out["format"].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = clean(out["items"])
    return out


def extract(tree: list, version: str, source: str) -> dict:
    idx = index(tree)
    methods = {}
    for method, path in sorted(set(schema.ENDPOINTS) | set(schema.CLI_ENDPOINTS), key=lambda mp: (mp[1], mp[0])):
        info = idx.get((method, path))
        if info is None:
            continue  # e.g. /cluster/ha/rules before PVE 9
        params = info.get("parameters") or {}
        entry = {"parameters": {"properties": {k: clean(v) for k, v in (params.get("properties") or {}).items()}}}
        if "additionalProperties" in params:
            entry["parameters"]["additionalProperties"] = params["additionalProperties"]
        if "permissions" in info:
            entry["permissions"] = info["permissions"]
        methods[f"{method} {path}"] = entry
    return {"pve-version": version, "source": source, "methods": methods}


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def fresh(src_dir: Path) -> dict[str, str]:
    """{file name: text} of the extract, made from the schema files in src_dir."""
    out = {}
    for version in schema.PVE_SCHEMA_VERSIONS.values():
        name = f"pve-{version}.json"
        tree = json.loads((Path(src_dir) / name).read_text())
        out[name] = dumps(extract(tree, version, f"pve-docs api-viewer/apidata.js as JSON ({name}), "
                                                 "restricted to lab/api/schema.py ENDPOINTS and CLI_ENDPOINTS"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab.api.extract_schema", description=__doc__.split("\n")[0])
    ap.add_argument("src", type=Path, help="folder with pve-8.4.json and pve-9.1.3.json")
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    ap.add_argument("--check", action="store_true", help="compare only; exit 1 when the extract differs")
    args = ap.parse_args(argv)
    stale = []
    for name, text in fresh(args.src).items():
        target = args.out / name
        if args.check:
            if not target.exists() or target.read_text() != text:
                stale.append(str(target))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        print(f"wrote {target} ({len(json.loads(text)['methods'])} methods)")
    if stale:
        print("out of date: " + ", ".join(stale) + f" (run python -m lab.api.extract_schema {args.src})",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
