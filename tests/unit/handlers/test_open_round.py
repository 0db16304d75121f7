"""Opening a round: what it writes, and the gates before any partner is asked (the letter, the
age, the uitstroom, one round at a time, a repeated command)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from contracts.enums import Colour, SubjectRole, Track
from contracts.topics import message_key, question_topic
from handlers.cases import age_limit
from handlers.completion import expire_overdue
from handlers.db.tables import ProcessingLogRow, QuestionRow
from handlers.db.uow import OUTBOX_WRITTEN, UnitOfWork
from handlers.errors import CaseRejected, NotInformed, RoundAlreadyOpen, UnknownCase
from handlers.rounds import OpenRound, open_round
from handlers.states import QuestionStatus, RoundState
from handlers.uitstroom import record_uitstroom
from tests.unit.handlers.builders import (
    ACTOR,
    DEADLINE,
    NOW,
    POLICY,
    TODAY,
    Sessions,
    new_case,
    open_round_for,
    outbox,
    question_sets,
    question_statuses,
    register,
    round_row,
    snapshot,
)


async def test_a_round_stores_its_questions_and_queues_one_question_set_per_partner(
    sessions: Sessions,
) -> None:
    case_id = await register(sessions)
    round_id = await open_round_for(sessions, case_id, Colour.GROEN)

    row = await round_row(sessions, round_id)
    assert (row.case_id, row.state, row.opened_by) == (case_id, RoundState.OPEN, ACTOR)
    assert (row.opened_at, row.deadline) == (NOW, NOW + DEADLINE)
    assert (row.policy_id, row.policy_version) == (POLICY.id, POLICY.version)

    # Groen asks only about the youth; a question that waits on another answer is not issued.
    asked = POLICY.asked(Colour.GROEN)
    assert {a.subject for a in asked} == {SubjectRole.JONGERE}
    expected = {
        (a.partner.value, a.key, "jongere"): QuestionStatus.WAITING
        if a.after
        else QuestionStatus.OPEN
        for a in asked
    }
    assert await question_statuses(sessions, round_id) == expected
    assert QuestionStatus.WAITING in expected.values()  # the policy has one: CJG after a match

    sets = await question_sets(sessions, round_id)
    issued_to = {a.partner for a in asked if a.after is None}
    assert sorted(qs.partner for qs in sets) == sorted(issued_to)
    rows = {r.message_id: r for r in await outbox(sessions)}
    async with sessions() as session:
        questions = {q.id: q for q in await session.scalars(select(QuestionRow))}
    for qs in sets:
        assert (qs.colour, qs.deadline, str(qs.round_id)) == (Colour.GROEN, row.deadline, round_id)
        assert [s.subject_ref for s in qs.subjects] == ["jongere"]  # no family at groen
        assert {q.key for q in qs.questions} == {
            a.key for a in asked if a.partner is qs.partner and a.after is None
        }
        for q in qs.questions:  # each question row knows the set it went out in
            assert questions[str(q.question_id)].question_set_id == str(qs.message_id)
        out = rows[str(qs.message_id)]
        assert (out.topic, out.key) == (question_topic(qs.partner), message_key(qs.round_id))
        assert out.headers["correlation_id"] == row.correlation_id
    assert len(rows) == len(sets)  # nothing else was queued

    async with sessions() as session:
        log = (await session.scalars(select(ProcessingLogRow))).all()
    assert {(entry.action, entry.round_id) for entry in log if entry.round_id} == {
        ("round_opened", round_id),
        ("question_set_issued", round_id),
    }
    # One disclosure entry per partner a question set went to.
    assert sorted(e.partner or "" for e in log if e.action == "question_set_issued") == sorted(
        qs.partner.value for qs in sets
    )


async def test_oranje_names_the_family_only_to_the_partners_asked_about_them(
    sessions: Sessions,
) -> None:
    round_id = await open_round_for(
        sessions, await register(sessions, new_case(colour=Colour.ORANJE)), Colour.ORANJE
    )

    about_family = {a.partner for a in POLICY.asked(Colour.ORANJE, subject=SubjectRole.GEZINSLID)}
    statuses = await question_statuses(sessions, round_id)
    assert {ref for (_, _, ref) in statuses} == {"jongere", "gezinslid-1", "gezinslid-2"}
    sets = await question_sets(sessions, round_id)
    # Both kinds exist at oranje, so both branches below are exercised.
    assert about_family
    assert any(qs.partner not in about_family for qs in sets)
    for qs in sets:
        named = {s.subject_ref for s in qs.subjects}
        if qs.partner in about_family:
            assert named == {"jongere", "gezinslid-1", "gezinslid-2"}
        else:
            assert named == {"jongere"}
        assert named == {"jongere"} | {q.subject_ref for q in qs.questions}


async def test_no_round_before_the_letter_and_nothing_is_written(sessions: Sessions) -> None:
    case_id = await register(sessions, new_case(informed_on=None))
    before = await snapshot(sessions)
    with pytest.raises(NotInformed, match="record the letter date first"):
        await open_round_for(sessions, case_id)
    assert await snapshot(sessions) == before


@pytest.mark.parametrize("track", list(Track))
async def test_the_age_gate_is_checked_on_the_day_the_round_opens(
    sessions: Sessions, track: Track
) -> None:
    limit = age_limit(POLICY, track)
    # Registered a month ago, when both were within the track; today one reaches the limit.
    registered_on = TODAY - dt.timedelta(days=30)
    outgrown = TODAY.replace(year=TODAY.year - limit)  # the limit's birthday is today
    last_day = outgrown + dt.timedelta(days=1)  # the limit's birthday is tomorrow
    cases = {
        born: await register(
            sessions,
            new_case(born=born, track=track, informed_on=registered_on),
            today=registered_on,
        )
        for born in (outgrown, last_day)
    }

    before = await snapshot(sessions)
    with pytest.raises(CaseRejected, match=f"age {limit} is outside the {track.value.upper()}"):
        await open_round_for(sessions, cases[outgrown])
    assert await snapshot(sessions) == before
    round_id = await open_round_for(sessions, cases[last_day])
    assert (await round_row(sessions, round_id)).state == RoundState.OPEN


async def test_a_youth_who_left_the_approach_gets_no_new_round(sessions: Sessions) -> None:
    case_id = await register(sessions)
    async with UnitOfWork(sessions) as uow:
        await record_uitstroom(uow, case_id, TODAY, actor=ACTOR, today=TODAY)
        await uow.commit()
    before = await snapshot(sessions)
    with pytest.raises(CaseRejected) as rejected:
        await open_round_for(sessions, case_id)
    assert rejected.value.field == "left_on"
    assert await snapshot(sessions) == before


async def test_an_unknown_case_is_named_as_such(sessions: Sessions) -> None:
    with pytest.raises(UnknownCase, match="iaj case list"):
        await open_round_for(sessions, str(uuid.uuid4()))


async def test_one_open_round_at_a_time_but_a_new_one_after_it_completed(
    sessions: Sessions,
) -> None:
    case_id = await register(sessions)
    first = await open_round_for(sessions, case_id)
    before = await snapshot(sessions)
    with pytest.raises(RoundAlreadyOpen, match=first):
        await open_round_for(sessions, case_id, now=NOW + dt.timedelta(days=1))
    assert await snapshot(sessions) == before

    async with UnitOfWork(sessions) as uow:
        assert await expire_overdue(uow, NOW + DEADLINE) == [first]
        await uow.commit()
    second = await open_round_for(sessions, case_id, now=NOW + DEADLINE)
    assert second != first
    assert (await round_row(sessions, second)).state == RoundState.OPEN


async def test_the_same_command_opens_one_round(sessions: Sessions) -> None:
    case_id = await register(sessions)
    command_id = str(uuid.uuid4())
    request = OpenRound(case_id=case_id, colour=Colour.GROEN, actor=ACTOR, command_id=command_id)
    async with UnitOfWork(sessions) as uow:
        round_id, created = await open_round(uow, POLICY, request, now=NOW, deadline=DEADLINE)
        await uow.commit()
    assert created
    before = await snapshot(sessions)
    async with UnitOfWork(sessions) as uow:
        again = await open_round(
            uow, POLICY, request, now=NOW + dt.timedelta(hours=1), deadline=DEADLINE
        )
        await uow.commit()
    assert again == (round_id, False)
    assert await snapshot(sessions) == before
    assert (await round_row(sessions, round_id)).command_id == command_id


async def test_a_round_is_written_only_when_committed(sessions: Sessions) -> None:
    case_id = await register(sessions, new_case(colour=Colour.ROOD))
    request = OpenRound(case_id=case_id, colour=Colour.ROOD, actor=ACTOR)
    before = await snapshot(sessions)
    async with UnitOfWork(sessions) as uow:
        await open_round(uow, POLICY, request, now=NOW, deadline=DEADLINE)
        assert uow.session.info.get(OUTBOX_WRITTEN)  # queued, in this transaction only
    assert await snapshot(sessions) == before
    assert not uow.committed_outbox

    async with UnitOfWork(sessions) as uow:
        round_id, _ = await open_round(uow, POLICY, request, now=NOW, deadline=DEADLINE)
        await uow.commit()
    # Committed with outbox rows: the unit of work tells the relay it has work.
    assert uow.committed_outbox
    assert {qs.partner for qs in await question_sets(sessions, round_id)} == {
        a.partner for a in POLICY.asked(Colour.ROOD) if a.after is None
    }
