"""The lab API's calendar parser (lab/api/schema.py) agrees with PVE on every corpus entry."""
from __future__ import annotations

import pytest

from lab.api.calendar_event import parse_calendar_event
from lab.api.schema import ParamError, f_calendar
from tests.calendar_corpus import INVALID, VALID


@pytest.mark.parametrize("event", VALID, ids=repr)
def test_pve_accepts(event):
    parse_calendar_event(event)
    f_calendar(event)


@pytest.mark.parametrize("event", INVALID, ids=repr)
def test_pve_refuses(event):
    with pytest.raises(ValueError) as caught:
        f_calendar(event)
    assert str(caught.value).startswith(f"invalid calendar event '{event}' - unable to parse calendar event")
    assert not isinstance(caught.value, ParamError)


@pytest.mark.parametrize("event, message", [
    # what proxmox-time (proxmox-rs f3305009, verify_calendar_event) answers, run on these events
    ("0 2 * * *", "unable to parse calendar event at ' 2 * * *' - Nom(Eof)"),
    ("funday 02:00", "unable to parse calendar event at 'funday' - Context(\"weekday\")"),
    ("Daily", "unable to parse calendar event at 'Daily' - Context(\"weekday\")"),
    ("02:60", "unable to parse calendar event at '02:60' - Context(\"date or time specification\")"),
    ("UTC", "unable to parse calendar event at '' - Context(\"date or time specification\")"),
    ("mon, tue", "unable to parse calendar event at ', tue' - Nom(Eof)"),
    ("*/0", "unable to parse calendar event at '/0' - Nom(Eof)"),
    ("   ", "unable to parse calendar event - event is empty"),  # pve-common PVE::CalendarEvent
])
def test_pve_error_text(event, message):
    with pytest.raises(ValueError) as caught:
        f_calendar(event)
    assert str(caught.value) == f"invalid calendar event '{event}' - {message}"
