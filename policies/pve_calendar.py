"""PVE calendar events (the systemd-like schedule format of vzdump jobs), checked without a PVE host.

Format: `[WEEKDAY] [[YEAR-]MONTH-DAY] [HOUR:]MINUTE[:SECOND]`, each value `*`, `N`, `A..B`, lists
with `,`, repetition with `/`; or one of the keywords below.
"""
from __future__ import annotations

import re

KEYWORDS = {"minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually", "quarterly", "semiannually"}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = "|".join(WEEKDAYS)
WEEKDAY_SPEC = re.compile(rf"^({_DAY})(\.\.({_DAY}))?(,({_DAY})(\.\.({_DAY}))?)*$", re.I)
_ITEM = re.compile(r"^(\*|\d+(\.\.\d+)?)(/\d+)?$")
CRON_FIELD = re.compile(r"^[\d*/,-]+$")


def _values_ok(spec: str, low: int, high: int) -> bool:
    for item in spec.split(","):
        if not _ITEM.match(item):
            return False
        for number in re.findall(r"\d+", item.split("/")[0]):
            if not low <= int(number) <= high:
                return False
        if "/" in item and int(item.split("/")[1]) == 0:
            return False
    return True


def _time_ok(spec: str) -> bool:
    parts = spec.split(":")
    bounds = [(0, 23), (0, 59), (0, 59)] if len(parts) > 1 else [(0, 59)]
    if len(parts) > 3:
        return False
    return all(_values_ok(p, lo, hi) for p, (lo, hi) in zip(parts, bounds))


def _date_ok(spec: str) -> bool:
    parts = spec.split("-")
    bounds = {2: [(1, 12), (1, 31)], 3: [(1970, 9999), (1, 12), (1, 31)]}.get(len(parts))
    return bounds is not None and all(_values_ok(p, lo, hi) for p, (lo, hi) in zip(parts, bounds))


def cron_to_calendar(expr: str) -> str | None:
    """The calendar form of a simple cron line (`M H * * DOW`), or None when it has no simple equivalent."""
    fields = expr.split()
    if len(fields) != 5 or not all(CRON_FIELD.match(f) for f in fields):
        return None
    minute, hour, dom, month, dow = fields
    if not (minute.isdigit() and hour.isdigit()) or dom != "*" or month != "*":
        return None
    time = f"{int(hour):02d}:{int(minute):02d}"
    if dow == "*":
        return time
    names = ("sun",) + WEEKDAYS[:6]
    try:
        days = [names[int(d) % 7] for d in dow.split(",")]
    except ValueError:
        return None
    return f"{','.join(days)} {time}"


def calendar_problem(expr: str) -> str | None:
    """None when `expr` is a valid PVE calendar event, else why not (with the calendar form of a cron line)."""
    text = expr.strip()
    if not text:
        return "is empty; use a calendar event such as '02:00' or 'mon..fri 21:00'"
    if text.lower() in KEYWORDS:
        return None
    suggestion = cron_to_calendar(text)
    if suggestion is not None or len(text.split()) == 5:
        hint = f"; write {suggestion!r}" if suggestion else ""
        return f"{text!r} is a cron expression, but PVE schedules are systemd-style calendar events{hint} (e.g. '02:00', 'mon..fri 21:00')"
    parts = text.split()
    if parts and WEEKDAY_SPEC.match(parts[0]):
        parts = parts[1:]
    if parts and "-" in parts[0] and ":" not in parts[0]:
        if not _date_ok(parts[0]):
            return f"{text!r}: {parts[0]!r} is not a valid [YEAR-]MONTH-DAY"
        parts = parts[1:]
    if len(parts) > 1:
        return f"{text!r} has too many parts; the format is [WEEKDAY] [[YEAR-]MONTH-DAY] [HOUR:]MINUTE"
    if parts and not _time_ok(parts[0]):
        return f"{text!r}: {parts[0]!r} is not a valid HOUR:MINUTE (hours 0-23, minutes 0-59)"
    return None
