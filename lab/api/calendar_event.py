"""Calendar events (backup schedules) as PVE parses them: proxmox-time's CalendarEvent grammar."""
from __future__ import annotations

# PVE::CalendarEvent (pve-common) trims the event, refuses an empty one, then hands it to proxmox-time's
# parser (proxmox-rs proxmox-time/src/calendar_event.rs): `[WEEKDAYS] [[Y-]M-D] [[H:]M[:S]] [UTC]` or a
# keyword, with that parser's corners (wrapping weekday ranges, lower-case keywords only, an hour >= 24
# read as the minute: `24:00` is minute 24, second 0) and its error texts.
CALENDAR_KEYWORDS = {"minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually", "quarterly",
                     "semiannually", "semi-annually"}
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
            "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
_CAL_ALPHA = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class _CalMiss(Exception):
    """An optional part of the grammar does not match at this position (the parser backtracks)."""


def _cal_error(rest: str, kind: str) -> ValueError:
    return ValueError(f"unable to parse calendar event at '{rest}' - {kind}")


def _cal_num(t: str, pos: int, limit: int) -> tuple[int, int]:
    """Digits at pos whose value is below limit -> (value, next position)."""
    end = pos
    while end < len(t) and "0" <= t[end] <= "9":
        end += 1
    if end == pos or int(t[pos:end]) >= limit:
        raise _CalMiss()
    return int(t[pos:end]), end


def _cal_component(t: str, pos: int, limit: int) -> int:
    """One of N, N/R, A..B, A..B/R."""
    start, pos = _cal_num(t, pos, limit)
    if t.startswith("..", pos):
        try:
            end, after = _cal_num(t, pos + 2, limit)
        except _CalMiss:
            return pos
        if start > end:
            raise _CalMiss()  # "range start is bigger than end"
        pos = after
    if t.startswith("/", pos):
        pos = _cal_num(t, pos + 1, limit)[1]
    return pos


def _cal_list(t: str, pos: int, limit: int) -> int:
    """`*`, `*/R` or components separated by `,` (a `,` not followed by one is left unparsed)."""
    if t.startswith("*", pos):
        if t.startswith("/", pos + 1):
            rep, after = _cal_num(t, pos + 2, limit)
            if rep:
                return after
        return pos + 1
    pos = _cal_component(t, pos, limit)
    while t.startswith(",", pos):
        try:
            pos = _cal_component(t, pos + 1, limit)
        except _CalMiss:
            break
    return pos


def _cal_date(t: str, pos: int) -> int:
    """YEAR-MONTH-DAY, else MONTH-DAY (limits are exclusive: year < 2200, month < 13, day < 32)."""
    for limits in ((2200, 13, 32), (13, 32)):
        try:
            p = _cal_list(t, pos, limits[0])
            for limit in limits[1:]:
                if not t.startswith("-", p):
                    raise _CalMiss()
                p = _cal_list(t, p + 1, limit)
            return p
        except _CalMiss:
            continue
    raise _CalMiss()


def _cal_time(t: str, pos: int) -> int:
    """[HOUR:]MINUTE[:SECOND]; an HOUR that does not parse (e.g. 24) makes the first number the minute."""
    try:
        p = _cal_list(t, pos, 24)
        if t.startswith(":", p):
            pos = p + 1
    except _CalMiss:
        pass
    pos = _cal_list(t, pos, 60)
    if t.startswith(":", pos):
        try:
            pos = _cal_list(t, pos + 1, 60)
        except _CalMiss:
            pass
    return pos


def _cal_weekday(t: str, pos: int) -> int:
    end = pos
    while end < len(t) and t[end] in _CAL_ALPHA:
        end += 1
    if t[pos:end].lower() not in WEEKDAYS:
        raise _CalMiss(t[pos:end])
    return end


def _cal_weekdays(t: str) -> int:
    """DAY or DAY..DAY (wrapping past sunday), separated by `,`; returns where they end."""
    pos = 0
    while True:
        try:
            pos = _cal_weekday(t, pos)
        except _CalMiss as miss:
            if pos == 0:
                raise _cal_error(miss.args[0], 'Context("weekday")')
            return pos - 1  # the `,` is left unparsed
        if t.startswith("..", pos):
            try:
                pos = _cal_weekday(t, pos + 2)
            except _CalMiss:
                pass
        if not t.startswith(",", pos):
            return pos
        pos += 1


def parse_calendar_event(event: str) -> None:
    """Refuse (ValueError with PVE's message) what PVE::CalendarEvent::parse_calendar_event refuses."""
    t = (event or "").strip(" \t\n\r\f\v")
    if not t:
        raise ValueError("unable to parse calendar event - event is empty")
    if t.endswith("UTC"):
        t = t[:-3].rstrip(" ")
    pos, spec = 0, False
    if t[:1] in _CAL_ALPHA:
        if t in CALENDAR_KEYWORDS:
            return
        pos, spec = _cal_weekdays(t), True
        while t[pos:pos + 1] in (" ", "\t") and pos < len(t):
            pos += 1
    try:
        pos, spec = _cal_date(t, pos), True
        while t[pos:pos + 1] in (" ", "\t") and pos < len(t):
            pos += 1
    except _CalMiss:
        pass
    try:
        pos, spec = _cal_time(t, pos), True
    except _CalMiss:
        pass
    if not spec:
        raise _cal_error(t[pos:], 'Context("date or time specification")')
    if pos < len(t):
        raise _cal_error(t[pos:], "Nom(Eof)")
