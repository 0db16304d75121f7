"""Relabel and cancel through the Kafka command path (`handlers.commands.handle_command`), on
SQLite and PostgreSQL: carried out once, and refused (dead-lettered as `command_rejected`)
when they break a rule or nobody known asked for them."""

from __future__ import annotations

import itertools
import json
import uuid
from typing import cast

import pytest
from sqlalchemy import select

from contracts.enums import Colour, Criterion, Partner
from contracts.messages import (
    CancelRoundCommand,
    CommandOutcome,
    CommandReply,
    Completion,
    OpenRoundCommand,
    RelabelCommand,
    RoundResult,
    Withdrawal,
    WithdrawalReason,
)
from contracts.topics import COMMAND_REPLIES, COMMANDS, RESULTS, question_topic
from contracts.wire import decode, encode
from handlers.commands import CommandReport, handle_command
from handlers.db.tables import AnswerRow, DeadLetterRow, LateAnswerRow, QuestionRow
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery
from handlers.officials import Officials, load_officials
from handlers.states import RoundState
from tests.conftest import OFFICIALS_FILE
from tests.unit.handlers.builders import (
    ACTOR,
    DEADLINE,
    NOW,
    POLICY,
    Sessions,
    all_rows,
    answer_to,
    collecting,
    delivered,
    new_case,
    open_round_for,
    outbox,
    process,
    question_sets,
    register,
    round_row,
    snapshot,
)

pytestmark = pytest.mark.integration

REASON = "Het kernteam schaalt op na nieuwe signalen."
OFFICIALS = load_officials(OFFICIALS_FILE)
_offsets = itertools.count()


async def _send(
    sessions: Sessions,
    command: OpenRoundCommand | RelabelCommand | CancelRoundCommand | bytes,
    *,
    officials: Officials | None = OFFICIALS,
) -> CommandReport:
    raw = command if isinstance(command, bytes) else encode(command)
    delivery = Delivery(topic=COMMANDS, partition=0, offset=next(_offsets))
    async with UnitOfWork(sessions, collecting([])) as uow:
        return await handle_command(
            uow, raw, delivery, POLICY, officials=officials, deadline=DEADLINE, now=NOW
        )


async def _oranje_case(sessions: Sessions) -> str:
    case = new_case(colour=Colour.ORANJE)
    criteria = (Criterion.POLITIECONTACTEN, Criterion.SOCIAAL_AANBOD_GEWEIGERD)
    return await register(sessions, case.model_copy(update={"criteria": criteria}))


def _relabel(case_id: str, colour: Colour, **changes: object) -> RelabelCommand:
    fields: dict[str, object] = {
        "correlation_id": uuid.uuid4(),
        "case_id": uuid.UUID(case_id),
        "colour": colour,
        "requested_by": ACTOR,
        "reason": REASON,
        **changes,
    }
    return RelabelCommand.model_validate(fields)


def _cancel(round_id: str, **changes: object) -> CancelRoundCommand:
    fields: dict[str, object] = {
        "correlation_id": uuid.uuid4(),
        "round_id": uuid.UUID(round_id),
        "requested_by": ACTOR,
        "reason": "De jongere is verhuisd naar een andere gemeente.",
        **changes,
    }
    return CancelRoundCommand.model_validate(fields)


async def _letters(sessions: Sessions) -> list[DeadLetterRow]:
    return await all_rows(sessions, DeadLetterRow)


async def _replies(sessions: Sessions, command_id: uuid.UUID | None = None) -> list[CommandReply]:
    """The replies waiting in the outbox (keyed by the command id), oldest first."""
    replies = []
    for row in await outbox(sessions, COMMAND_REPLIES):
        reply = decode(row.payload)
        assert isinstance(reply, CommandReply)
        assert row.key == str(reply.in_reply_to).encode()
        assert row.message_id == str(reply.message_id)
        if command_id is None or reply.in_reply_to == command_id:
            replies.append(reply)
    return replies


async def test_a_relabel_command_supersedes_the_open_round_once(sessions: Sessions) -> None:
    case_id = await _oranje_case(sessions)
    round_id = await open_round_for(sessions, case_id, Colour.ORANJE)
    sets_before = len(await question_sets(sessions, round_id))
    command = _relabel(case_id, Colour.ROOD)

    report = await _send(sessions, command)

    assert (report.outcome, report.round_id) == ("relabelled", round_id)
    row = await round_row(sessions, round_id)
    assert (row.colour, row.state) == ("rood", RoundState.OPEN)
    added = (await question_sets(sessions, round_id))[sets_before:]
    assert sorted(qs.partner for qs in added) == [Partner.CJIB, Partner.RIEC]
    # Sent again (a producer retry): nothing more happens but the reply saying so.
    before = await snapshot(sessions)
    assert (await _send(sessions, command)).outcome == "duplicate"
    after = await snapshot(sessions)
    assert (after["rounds"], after["questions"]) == (before["rounds"], before["questions"])
    counts = cast(dict[str, int], after["counts"])
    changed = {t for t, n in counts.items() if n != cast(dict[str, int], before["counts"])[t]}
    assert changed == {"inbox", "outbox"}
    accepted, duplicate = await _replies(sessions, command.message_id)
    assert (accepted.outcome, accepted.round_id) == (CommandOutcome.ACCEPTED, uuid.UUID(round_id))
    assert (duplicate.outcome, duplicate.command_type) == (CommandOutcome.DUPLICATE, "relabel_case")


async def test_a_cancel_command_withdraws_publishes_cancelled_and_keeps_no_late_answer(
    sessions: Sessions,
) -> None:
    case_id = await _oranje_case(sessions)
    round_id = await open_round_for(sessions, case_id, Colour.ORANJE)
    sets = {qs.partner: qs for qs in await question_sets(sessions, round_id)}

    report = await _send(sessions, _cancel(round_id))

    assert report.outcome == "cancelled"
    assert (await round_row(sessions, round_id)).state == RoundState.CANCELLED
    told = set()
    for partner in Partner:
        for row in await outbox(sessions, question_topic(partner)):
            message = decode(row.payload)
            if isinstance(message, Withdrawal):
                assert message.reason is WithdrawalReason.ROUND_CANCELLED
                assert set(message.question_ids) == {q.question_id for q in sets[partner].questions}
                told.add(partner)
    assert told == set(sets)
    results = [decode(r.payload) for r in await outbox(sessions, RESULTS)]
    (result,) = [r for r in results if isinstance(r, RoundResult)]
    assert result.completion is Completion.CANCELLED

    # A partner that had not read the notice yet answers: recorded late, content not kept.
    swt = sets[Partner.SWT]
    await process(sessions, [delivered(answer_to(swt), Partner.SWT)])
    assert await all_rows(sessions, AnswerRow) == []
    assert len(await all_rows(sessions, LateAnswerRow)) == len(swt.questions)

    # Cancelling it again is refused: it is no longer open.
    again = await _send(sessions, _cancel(round_id))
    assert again.outcome == "dead_lettered"
    assert "not open" in again.detail


@pytest.mark.parametrize(
    ("requested_by", "says"),
    [
        ("burgemeester.onbekend", "not an official"),
        ("   ", "names no one"),
    ],
)
async def test_commands_from_no_known_official_are_rejected_and_change_nothing(
    sessions: Sessions, requested_by: str, says: str
) -> None:
    case_id = await _oranje_case(sessions)
    round_id = await open_round_for(sessions, case_id, Colour.ORANJE)
    before = await snapshot(sessions)
    commands: list[OpenRoundCommand | RelabelCommand | CancelRoundCommand] = [
        _relabel(case_id, Colour.ROOD, requested_by=requested_by),
        _cancel(round_id, requested_by=requested_by),
        OpenRoundCommand(
            round_id=uuid.uuid4(),
            correlation_id=uuid.uuid4(),
            policy=POLICY.ref,
            case_id=uuid.UUID(case_id),
            colour=Colour.ORANJE,
            requested_by=requested_by,
        ),
    ]
    for command in commands:
        report = await _send(sessions, command)
        assert report.outcome == "dead_lettered"
        assert says in report.detail
    letters = await _letters(sessions)
    assert {x.reason for x in letters} == {"command_rejected"}
    assert all(requested_by.strip() not in x.detail for x in letters if requested_by.strip())
    # Each is answered, rejected with why; no official is named in a reply.
    replies = await _replies(sessions)
    assert [r.in_reply_to for r in replies] == [c.message_id for c in commands]
    assert {r.outcome for r in replies} == {CommandOutcome.REJECTED}
    for reply in replies:
        assert reply.reason is not None
        assert says in reply.reason
        raw = reply.model_dump_json()
        assert all(o.name not in raw for o in OFFICIALS.official)
        if requested_by.strip():
            assert requested_by.strip() not in raw
    after = await snapshot(sessions)
    assert after["rounds"] == before["rounds"]
    assert after["questions"] == before["questions"]
    assert (await round_row(sessions, round_id)).colour == "oranje"


async def test_without_an_officials_file_no_command_is_carried_out(sessions: Sessions) -> None:
    case_id = await _oranje_case(sessions)
    round_id = await open_round_for(sessions, case_id, Colour.ORANJE)

    report = await _send(sessions, _cancel(round_id), officials=None)

    assert report.outcome == "dead_lettered"
    assert "IAJ_OFFICIALS_FILE" in report.detail
    assert (await round_row(sessions, round_id)).state == RoundState.OPEN


async def test_commands_that_break_a_rule_are_rejected_with_why(sessions: Sessions) -> None:
    case_id = await _oranje_case(sessions)
    round_id = await open_round_for(sessions, case_id, Colour.ORANJE)
    before = await snapshot(sessions)
    cases: list[tuple[RelabelCommand | CancelRoundCommand, str]] = [
        (_relabel(case_id, Colour.ORANJE), "already oranje"),
        (_relabel(case_id, Colour.GROEN, reason="x"), "reason"),
        (_cancel(round_id, reason="omdat"), "reason"),
        (_cancel(str(uuid.uuid4())), "no round"),
        (_relabel(str(uuid.uuid4()), Colour.GROEN), "no case"),
    ]
    for command, says in cases:
        report = await _send(sessions, command)
        assert report.outcome == "dead_lettered", says
        assert says in report.detail
        [reply] = await _replies(sessions, command.message_id)
        assert reply.outcome is CommandOutcome.REJECTED
        assert reply.reason is not None
        assert says in reply.reason
        assert reply.correlation_id == command.correlation_id
    assert [x.reason for x in await _letters(sessions)] == ["command_rejected"] * len(cases)
    after = await snapshot(sessions)
    assert (after["rounds"], after["questions"]) == (before["rounds"], before["questions"])
    async with sessions() as session:
        statuses = set(
            await session.scalars(
                select(QuestionRow.status).where(QuestionRow.round_id == round_id)
            )
        )
    assert "withdrawn" not in statuses


async def test_an_open_round_command_is_answered_once_per_record(sessions: Sessions) -> None:
    case_id = await _oranje_case(sessions)
    command = OpenRoundCommand(
        round_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        policy=POLICY.ref,
        case_id=uuid.UUID(case_id),
        colour=Colour.ORANJE,
        requested_by=ACTOR,
    )
    delivery = Delivery(topic=COMMANDS, partition=0, offset=next(_offsets))

    async def deliver(at: Delivery) -> CommandReport:
        async with UnitOfWork(sessions, collecting([])) as uow:
            return await handle_command(
                uow, encode(command), at, POLICY, officials=OFFICIALS, deadline=DEADLINE, now=NOW
            )

    assert (await deliver(delivery)).outcome == "opened"
    [accepted] = await _replies(sessions, command.message_id)
    assert (accepted.outcome, accepted.round_id) == (CommandOutcome.ACCEPTED, command.round_id)
    assert (accepted.source.topic, accepted.source.offset) == (COMMANDS, delivery.offset)
    # The same record again (the service crashed before committing its offset): no new reply.
    assert (await deliver(delivery)).outcome == "duplicate"
    assert len(await _replies(sessions, command.message_id)) == 1
    # A new record with the same command id: answered as a duplicate, naming the round.
    again = Delivery(topic=COMMANDS, partition=0, offset=next(_offsets))
    assert (await deliver(again)).outcome == "duplicate"
    _, duplicate = await _replies(sessions, command.message_id)
    assert (duplicate.outcome, duplicate.round_id) == (CommandOutcome.DUPLICATE, command.round_id)
    assert duplicate.message_id != accepted.message_id


async def test_an_unreadable_command_is_answered_when_its_id_can_be_read(
    sessions: Sessions,
) -> None:
    command_id = uuid.uuid4()
    readable_id = json.dumps(
        {"type": "open_round", "message_id": str(command_id), "case_id": "not-an-id"}
    ).encode()
    assert (await _send(sessions, readable_id)).outcome == "dead_lettered"
    assert (await _send(sessions, b"{not json")).outcome == "dead_lettered"
    [reply] = await _replies(sessions)
    assert (reply.in_reply_to, reply.outcome) == (command_id, CommandOutcome.REJECTED)
    assert reply.command_type == "open_round"
    assert reply.reason is not None
    assert reply.reason.startswith("schema_violation")
    assert "not-an-id" not in reply.model_dump_json()
