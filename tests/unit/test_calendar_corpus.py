"""The program's calendar check (models/pve_calendar.py) agrees with PVE on every corpus entry."""
from __future__ import annotations

import pytest

from models.pve_calendar import calendar_problem
from tests.calendar_corpus import CORPUS, INVALID, VALID


def test_corpus_has_both_verdicts():
    assert len(VALID) > 50 and len(INVALID) > 50 and len(CORPUS) == len(VALID) + len(INVALID)


@pytest.mark.parametrize("event", VALID, ids=repr)
def test_pve_accepts(event):
    assert calendar_problem(event) is None


@pytest.mark.parametrize("event", INVALID, ids=repr)
def test_pve_refuses(event):
    problem = calendar_problem(event)
    assert problem, f"{event!r} is refused by PVE but the program takes it"
