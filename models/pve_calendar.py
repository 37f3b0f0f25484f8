"""PVE calendar events (the systemd-like schedule format of vzdump jobs), checked without a PVE host.

Format: `[WEEKDAYS] [[YEAR-]MONTH-DAY] [[HOUR:]MINUTE[:SECOND]] [UTC]`, each value `*`, `N`, `A..B`,
lists with `,`, repetition with `/`; or one of the keywords below. The grammar is that of PVE's own
parser (proxmox-time's `CalendarEvent`, after pve-common's trim), corners included: a weekday range
wraps (`fri..mon`), keywords are lower-case only, and an hour of 24 or more is no hour, so `24:00`
is MINUTE 24, SECOND 0. tests/data/calendar-events.txt is the corpus it is tested on.
"""
from __future__ import annotations

import re

KEYWORDS = {"minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually", "quarterly",
            "semiannually", "semi-annually"}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = set(WEEKDAYS) | {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
CRON_FIELD = re.compile(r"^[\d*/,-]+$")
FORMAT = "[WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:]MINUTE[:SECOND] [UTC]"
_DIGITS = frozenset("0123456789")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_BLANKS = " \t"
# exclusive upper limits of each field, as PVE parses them (so a month or day of 0 passes)
_YEAR, _MONTH, _DAY, _HOUR, _MINUTE = 2200, 13, 32, 24, 60


class _NoMatch(Exception):
    """This part does not match here; the caller may try the next alternative."""


class CalendarError(ValueError):
    """PVE refuses the event: `reason` is 'empty', 'weekday', 'date or time' or 'left over'; `at` the text there."""

    def __init__(self, reason: str, at: str):
        super().__init__(f"{reason} at {at!r}")
        self.reason, self.at = reason, at


def _number(s: str, i: int, limit: int) -> tuple[int, int]:
    """(value, end) of the ASCII digits at i; the value must be below limit."""
    j = i
    while j < len(s) and s[j] in _DIGITS:
        j += 1
    if j == i or int(s[i:j]) >= limit:
        raise _NoMatch
    return int(s[i:j]), j


def _value(s: str, i: int, limit: int) -> int:
    """`N`, `N/R`, `A..B`, `A..B/R` (A <= B) at i; returns the end."""
    first, i = _number(s, i, limit)
    if s.startswith("..", i):
        try:
            last, j = _number(s, i + 2, limit)
        except _NoMatch:
            return i  # a `..` without an end is left for the caller
        if first > last:
            raise _NoMatch
        i = j
    if s.startswith("/", i):
        i = _number(s, i + 1, limit)[1]
    return i


def _values(s: str, i: int, limit: int) -> int:
    """`*`, `*/R` (R > 0), or a `,` list of values at i; returns the end."""
    if s.startswith("*", i):
        if s.startswith("/", i + 1):
            repeat, j = _number(s, i + 2, limit)
            if repeat > 0:
                return j
        return i + 1  # `*/0` leaves `/0` over
    i = _value(s, i, limit)
    while s.startswith(",", i):
        try:
            i = _value(s, i + 1, limit)
        except _NoMatch:
            break  # the `,` is left over
    return i


def _date(s: str, i: int) -> int:
    try:
        j = _values(s, i, _YEAR)
        for limit in (_MONTH, _DAY):
            if not s.startswith("-", j):
                raise _NoMatch
            j = _values(s, j + 1, limit)
        return j
    except _NoMatch:
        j = _values(s, i, _MONTH)
        if not s.startswith("-", j):
            raise _NoMatch
        return _values(s, j + 1, _DAY)


def _time(s: str, i: int) -> int:
    try:
        j = _values(s, i, _HOUR)
        if not s.startswith(":", j):
            raise _NoMatch
        i = j + 1
    except _NoMatch:
        pass  # no hour: what follows is the minute
    i = _values(s, i, _MINUTE)
    if s.startswith(":", i):
        try:
            i = _values(s, i + 1, _MINUTE)
        except _NoMatch:
            pass
    return i


def _weekday(s: str, i: int) -> int:
    j = i
    while j < len(s) and s[j] in _LETTERS:
        j += 1
    if s[i:j].lower() not in WEEKDAY_NAMES:
        raise CalendarError("weekday", s[i:j])
    return j


def _weekdays(s: str, i: int) -> int:
    """A `,` list of days and wrapping ranges `A..B`; returns the end."""
    while True:
        i = _weekday(s, i)
        if s.startswith("..", i):
            try:
                i = _weekday(s, i + 2)
            except CalendarError:
                pass
        if not s.startswith(",", i):
            return i
        try:
            _weekday(s, i + 1)
        except CalendarError:
            return i  # the `,` is left over
        i += 1


def _skip_blanks(s: str, i: int) -> int:
    while i < len(s) and s[i] in _BLANKS:
        i += 1
    return i


def parse_calendar_event(event: str) -> None:
    """Raise CalendarError where PVE refuses `event`."""
    s = event.strip(" \t\n\r\f\v")
    if not s:
        raise CalendarError("empty", "")
    if s.endswith("UTC"):
        s = s[:-3].rstrip(" ")
    i, found = 0, False
    if s[:1] in _LETTERS:
        if s in KEYWORDS:
            return
        i, found = _skip_blanks(s, _weekdays(s, 0)), True
    try:
        i, found = _skip_blanks(s, _date(s, i)), True
    except _NoMatch:
        pass
    try:
        i, found = _time(s, i), True
    except _NoMatch:
        pass
    if not found:
        raise CalendarError("date or time", s[i:])
    if i != len(s):
        raise CalendarError("left over", s[i:])


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
    try:
        parse_calendar_event(expr)
        return None
    except CalendarError as error:
        refused = error
    text = expr.strip()
    if refused.reason == "empty":
        return "is empty; use a calendar event such as '02:00' or 'mon..fri 21:00'"
    suggestion = cron_to_calendar(text)
    if suggestion is not None or len(text.split()) == 5:
        hint = f"; write {suggestion!r}" if suggestion else ""
        return f"{text!r} is a cron expression, but PVE schedules are systemd-style calendar events{hint} (e.g. '02:00', 'mon..fri 21:00')"
    if refused.reason == "weekday":
        return (f"{text!r}: {refused.at!r} is not a weekday (mon..sun or monday..sunday; "
                f"keywords such as 'daily' are lower-case); the format is {FORMAT}")
    if refused.reason == "date or time":
        return (f"{text!r}: {refused.at!r} is not a valid date or HOUR:MINUTE (hours 0-23, minutes and "
                f"seconds 0-59, months 1-12, days 1-31); the format is {FORMAT}")
    return f"{text!r}: {refused.at!r} is left over; the format is {FORMAT}"
