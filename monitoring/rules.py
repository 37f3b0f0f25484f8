"""The alert rules as the program installs them: monitoring/alerts/*.rules.yml, with a stack's own `for:`."""
from __future__ import annotations

from pathlib import Path

import yaml

ALERTS_DIR = Path(__file__).resolve().parent / "alerts"


def rule_files() -> dict[str, dict]:
    """Each rule file's name and content, parsed."""
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(ALERTS_DIR.glob("*.rules.yml"))}


def alert_names() -> set[str]:
    return {rule["alert"] for doc in rule_files().values() for group in doc["groups"] for rule in group["rules"]
            if "alert" in rule}


def with_for(overrides: dict[str, str]) -> dict[str, str]:
    """Each rule file as YAML text, each alert named in `overrides` waiting that long instead of its own `for:`
    (the expressions stay as reviewed and tested by promtool)."""
    files = {}
    for name, doc in rule_files().items():
        for group in doc["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") in overrides:
                    rule["for"] = overrides[rule["alert"]]
        files[name] = yaml.safe_dump(doc, sort_keys=False, width=1000)
    return files
