"""The hot path's plain stand-ins for rows (handlers.db.detached)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm.exc import UnmappedInstanceError

from handlers.db.detached import detached
from handlers.db.tables import CaseRow, QuestionRow, RoundRow
from tests.unit.handlers.builders import Sessions

_NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def _question() -> QuestionRow:
    return detached(
        QuestionRow,
        zip(("id", "round_id", "partner", "status"), ("q-1", "r-1", "cjg", "open"), strict=True),
    )


def test_carries_the_values_it_was_given_and_none_for_the_rest() -> None:
    question = _question()
    assert (question.id, question.round_id, question.partner, question.status) == (
        "q-1",
        "r-1",
        "cjg",
        "open",
    )
    # An attribute never set reads None, as on a new row (never an AttributeError mid-batch).
    assert question.closed_at is None
    assert question.question_set_id is None
    assert detached(CaseRow, {"id": "c-1"}).family is None


def test_changes_stay_on_the_object_and_each_object_is_its_own() -> None:
    first, second = _question(), _question()
    first.status = "answered"
    first.closed_at = _NOW
    assert (first.status, first.closed_at) == ("answered", _NOW)
    assert (second.status, second.closed_at) == ("open", None)
    # Not on the class either: a later stand-in starts from its own values.
    assert _question().closed_at is None


def test_is_not_a_mapped_row() -> None:
    round_row: object = detached(RoundRow, {"id": "r-1", "state": "open"})
    assert not isinstance(round_row, RoundRow)
    assert repr(round_row) == "<detached RoundRow r-1>"


async def test_no_session_takes_one(sessions: Sessions) -> None:
    """What a batch changes on a stand-in is written with Core; adding one to a session (to
    have it flushed) is refused at once, not written half."""
    async with sessions() as session:
        with pytest.raises(UnmappedInstanceError):
            session.add(_question())
