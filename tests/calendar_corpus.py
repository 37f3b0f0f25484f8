"""The calendar-event corpus (tests/data/calendar-events.txt), read by the program's and the lab's tests.

Only tests read it: the program (models/pve_calendar.py) and the lab (lab/api/schema.py) each keep
their own parser and import nothing from each other.
"""
from __future__ import annotations

import json
from pathlib import Path

PATH = Path(__file__).resolve().parent / "data" / "calendar-events.txt"


def load() -> list[tuple[str, str, str]]:
    """(verdict, event, source) for every entry; verdict is 'valid' or 'invalid'."""
    rows = []
    for number, line in enumerate(PATH.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        verdict, event, source = line.split("\t")
        if verdict not in ("valid", "invalid"):
            raise ValueError(f"{PATH.name}:{number}: verdict {verdict!r}")
        rows.append((verdict, json.loads(event), source))
    return rows


CORPUS = load()
VALID = [e for v, e, _ in CORPUS if v == "valid"]
INVALID = [e for v, e, _ in CORPUS if v == "invalid"]
