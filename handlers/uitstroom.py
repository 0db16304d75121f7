"""Uitstroom: the youth leaves the approach (convenant l.668-672).

The date of uitstroom starts the year after which the youth's personal data must be gone
(handlers.retention), so it is recorded once and can later only be corrected to an earlier day,
by a separate, logged action with a reason: a later date would extend the retention. The
youth receives an uitstroombrief; its date is recorded with the uitstroom or later, once.

Uitstroom stops what is still running: every open round of the case is cancelled in the same
transaction (partners get a Withdrawal notice, an answer arriving afterwards is not stored).

A youth who reaches the first age the track no longer takes (the policy's `below_age`) leaves
on that birthday, recorded by the system (`leave_at_age_limit`, run by the service), even when
the service notices it only later. The uitstroombrief is then still to be sent by a regisseur;
`iaj status` counts the cases that left without one recorded.

A registration date in this system (`registered_at`) may be later than the real listing, so
the dates here are checked against the informing letter, the focus-list date (`listed_on`,
when known) and the date of birth, not against it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from contracts.enums import Track
from contracts.messages import WithdrawalReason, utc_now
from contracts.policy import Policy
from handlers.cases import get_case
from handlers.db.tables import CaseRow
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected
from handlers.processing_log import log_processing
from handlers.reasons import check_reason
from handlers.withdrawal import cancel_open_rounds

__all__ = [
    "correct_uitstroom",
    "leave_at_age_limit",
    "limit_reached_on",
    "record_uitstroom",
    "record_uitstroombrief",
]


async def record_uitstroom(
    uow: UnitOfWork,
    case_id: str,
    on: dt.date,
    *,
    actor: str,
    today: dt.date,
    uitstroombrief_on: dt.date | None = None,
    now: dt.datetime | None = None,
) -> list[str]:
    """The youth left the approach on `on` (and, if given, was sent the uitstroombrief on
    `uitstroombrief_on`). Cancels the case's open rounds; returns their ids. Caller commits."""
    case = await _case_for_update(uow, case_id)
    if case.left_on is not None:
        # Once: recording it again would restart the year after which the data must go.
        raise CaseRejected(
            "left_on",
            f"the uitstroom was recorded already (on {case.left_on.isoformat()}); it cannot be "
            "recorded again, so the retention period cannot restart. If that date is wrong and "
            f"the youth left earlier: iaj case correct-uitstroom {case_id} --date YYYY-MM-DD "
            "--reason ...",
        )
    _check_left_on(case, on, today)
    if uitstroombrief_on is not None:
        _check_uitstroombrief(uitstroombrief_on, on, today)
    case.left_on = on
    case.uitstroombrief_on = uitstroombrief_on
    log_processing(
        uow,
        actor,
        "uitstroom_recorded",
        "youth left the approach"
        + ("; uitstroombrief sent" if uitstroombrief_on else "; uitstroombrief not yet sent"),
        case_id=case_id,
    )
    return await cancel_open_rounds(
        uow,
        case_id,
        reason=WithdrawalReason.UITSTROOM,
        why="the youth left the approach",
        actor=actor,
        now=now or utc_now(),
    )


async def record_uitstroombrief(
    uow: UnitOfWork, case_id: str, on: dt.date, *, actor: str, today: dt.date
) -> None:
    """The uitstroombrief was sent on `on`: after the uitstroom is recorded, once. Caller
    commits."""
    case = await _case_for_update(uow, case_id)
    if case.left_on is None:
        raise CaseRejected(
            "uitstroombrief_on",
            "no uitstroom is recorded for this case; record it first, with the letter: "
            f"iaj case leave {case_id} --date YYYY-MM-DD --uitstroombrief YYYY-MM-DD",
        )
    if case.uitstroombrief_on is not None:
        raise CaseRejected(
            "uitstroombrief_on",
            f"the uitstroombrief was recorded already (sent on "
            f"{case.uitstroombrief_on.isoformat()}); it is recorded once",
        )
    _check_uitstroombrief(on, case.left_on, today)
    case.uitstroombrief_on = on
    log_processing(uow, actor, "uitstroombrief_recorded", "uitstroombrief sent", case_id=case_id)


async def correct_uitstroom(
    uow: UnitOfWork, case_id: str, on: dt.date, *, reason: str, actor: str, today: dt.date
) -> dt.date:
    """Correct the recorded uitstroom date to the earlier day `on`, logged with `reason`.
    Never to a later day: that would extend the retention period. Returns the date it
    replaced. Caller commits."""
    reason = check_reason(reason, "reason", min_chars=10)
    case = await _case_for_update(uow, case_id)
    was = case.left_on
    if was is None:
        raise CaseRejected(
            "left_on",
            "no uitstroom is recorded for this case, so there is nothing to correct; record "
            f"it: iaj case leave {case_id} --date YYYY-MM-DD",
        )
    if on >= was:
        raise CaseRejected(
            "left_on",
            f"the uitstroom was recorded on {was.isoformat()}; a correction can only move it "
            "to an earlier day (a later one would extend how long the data is kept)",
        )
    _check_left_on(case, on, today)
    case.left_on = on
    log_processing(
        uow,
        actor,
        "uitstroom_corrected",
        f"uitstroom date corrected from {was.isoformat()} to {on.isoformat()}: {reason}",
        case_id=case_id,
    )
    return was


def limit_reached_on(born: dt.date, age: int) -> dt.date:
    """The birthday on which a youth born on `born` turns `age` (born on 29 February: 1 March
    in a year without one, as `handlers.cases.age_on` counts)."""
    try:
        return born.replace(year=born.year + age)
    except ValueError:
        return dt.date(born.year + age, 3, 1)


async def leave_at_age_limit(
    uow: UnitOfWork,
    policy: Policy,
    *,
    actor: str,
    today: dt.date,
    now: dt.datetime | None = None,
) -> list[str]:
    """Put into uitstroom every youth who has reached the first age their track no longer
    takes, on the birthday they reached it; cancel their open rounds. Returns the case ids.
    Caller commits."""
    left: list[str] = []
    for rule in policy.track:
        cases = await uow.session.scalars(
            select(CaseRow)
            .where(CaseRow.left_on.is_(None))
            .where(CaseRow.track == rule.track.value)
            .where(CaseRow.geboortedatum <= _born_by(today, rule.below_age))
            .order_by(CaseRow.id)
            # Two service instances: the second waits, then no longer finds the case.
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        for case in cases.all():
            case.left_on = limit_reached_on(case.geboortedatum, rule.below_age)
            track = Track(case.track).value.upper()
            log_processing(
                uow,
                actor,
                "uitstroom_recorded",
                f"age limit: the youth turned {rule.below_age}, which the {track} track no "
                "longer takes; uitstroombrief not yet sent",
                case_id=case.id,
            )
            await cancel_open_rounds(
                uow,
                case.id,
                reason=WithdrawalReason.UITSTROOM,
                why=f"the youth reached the {track} track's age limit",
                actor=actor,
                now=now or utc_now(),
            )
            left.append(case.id)
    return left


def _born_by(today: dt.date, age: int) -> dt.date:
    """The last date of birth of a youth who is `age` or older on `today`."""
    try:
        return today.replace(year=today.year - age)
    except ValueError:  # today is 29 February: one born on 1 March is not yet that old
        return dt.date(today.year - age, 2, 28)


async def _case_for_update(uow: UnitOfWork, case_id: str) -> CaseRow:
    """The case, locked until the commit (PostgreSQL), read afresh: two recordings at once
    cannot both see it without an uitstroom."""
    await get_case(uow, case_id)  # the user-facing error for an unknown case
    case = await uow.session.scalar(
        select(CaseRow)
        .where(CaseRow.id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert case is not None
    return case


def _check_left_on(case: CaseRow, on: dt.date, today: dt.date) -> None:
    if on > today:
        raise CaseRejected("left_on", "the uitstroom date lies in the future; give a past date")
    # The date of birth is not echoed: an error message is no place for it.
    for earliest, what, shown in (
        (case.informed_on, "the informing letter", True),
        (case.listed_on, "the day the youth was put on the focus list", True),
        (case.geboortedatum, "the date of birth", False),
    ):
        if earliest is not None and on < earliest:
            when = f" ({earliest.isoformat()})" if shown else ""
            raise CaseRejected(
                "left_on",
                f"the uitstroom date lies before {what}{when}; give a date on or after it",
            )


def _check_uitstroombrief(on: dt.date, left_on: dt.date, today: dt.date) -> None:
    if on > today:
        raise CaseRejected(
            "uitstroombrief_on", "the uitstroombrief date lies in the future; give a past date"
        )
    if on < left_on:
        raise CaseRejected(
            "uitstroombrief_on",
            f"the uitstroombrief date lies before the uitstroom ({left_on.isoformat()}); the "
            "letter is sent when the youth leaves",
        )
