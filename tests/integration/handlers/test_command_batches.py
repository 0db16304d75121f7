"""Commands in batches (`handlers.commands.handle_commands`), on SQLite and PostgreSQL: one
transaction for the batch, a rejected command undone alone, and a bounded number of
statements per command (counted with a cursor event, not timed)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.enums import Colour, Criterion
from contracts.messages import CommandOutcome, CommandReply, OpenRoundCommand
from contracts.topics import COMMAND_REPLIES, COMMANDS
from contracts.wire import decode, encode
from handlers.commands import COMMAND_REJECTED, handle_commands
from handlers.db.engine import make_engine, make_session_factory
from handlers.db.migrate import upgrade
from handlers.db.tables import DeadLetterRow, QuestionRow, RoundRow
from handlers.db.uow import DirectMessage, UnitOfWork
from handlers.dead_letters import Delivery
from handlers.officials import load_officials
from tests.conftest import OFFICIALS_FILE
from tests.unit.handlers.builders import (
    ACTOR,
    DEADLINE,
    NOW,
    POLICY,
    Sessions,
    all_rows,
    collecting,
    new_case,
    outbox,
    register,
)

pytestmark = pytest.mark.integration

OFFICIALS = load_officials(OFFICIALS_FILE)
_offsets = itertools.count()

# Statements for a batch of open-round commands, whatever its size: the inbox claims; the
# cases, their family and the rounds that decide them (the commands' own, open ones of their
# cases), read once; the rounds, their questions, the outbox rows and the processing-log
# rows, one INSERT each. Measured 8 on both databases. Was 5.3 per round (the open-round
# check, the case and its family, the round and its questions, for each), and before that
# 12 (PostgreSQL) and 33 (SQLite), one commit per command.
MAX_STATEMENTS_PER_BATCH = 8


class Counter:
    def __init__(self) -> None:
        self.statements = 0
        self.commits = 0


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[Counter]:
    counter = Counter()

    def on_execute(*_: Any) -> None:
        counter.statements += 1

    def on_commit(*_: Any) -> None:
        counter.commits += 1

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    event.listen(engine.sync_engine, "commit", on_commit)
    try:
        yield counter
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", on_execute)
        event.remove(engine.sync_engine, "commit", on_commit)


async def _oranje_case(sessions: Sessions, *, informed: bool = True) -> str:
    case = new_case(colour=Colour.ORANJE)
    if not informed:
        case = case.model_copy(update={"informed_on": None})
    criteria = (Criterion.POLITIECONTACTEN, Criterion.SOCIAAL_AANBOD_GEWEIGERD)
    return await register(sessions, case.model_copy(update={"criteria": criteria}))


def _open(case_id: str) -> tuple[bytes, Delivery]:
    command = OpenRoundCommand(
        round_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        policy=POLICY.ref,
        case_id=uuid.UUID(case_id),
        colour=Colour.ORANJE,
        requested_by=ACTOR,
    )
    return encode(command), _record()


def _record() -> Delivery:
    return Delivery(topic=COMMANDS, partition=0, offset=next(_offsets))


@pytest.mark.parametrize("size", [1, 10, 25])
async def test_a_batch_of_commands_is_one_transaction_and_a_fixed_number_of_statements(
    database_url: str, size: int
) -> None:
    engine = make_engine(database_url)
    await upgrade(engine)
    sessions = make_session_factory(engine)
    try:
        batch = [_open(await _oranje_case(sessions)) for _ in range(size)]
        with counting(engine) as counter:
            async with UnitOfWork(sessions, collecting([])) as uow:
                reports = await handle_commands(
                    uow, batch, POLICY, officials=OFFICIALS, deadline=DEADLINE, now=NOW
                )
        assert [r.outcome for r in reports] == ["opened"] * size
        assert counter.commits == 1
        print(f"{engine.dialect.name}: {counter.statements} statements for {size} round(s)")
        assert counter.statements <= MAX_STATEMENTS_PER_BATCH
        rounds = await all_rows(sessions, RoundRow)
        assert len(rounds) == size
        # Every round with its questions, and the question sets in the outbox.
        assert {r.id for r in rounds} == {r.round_id for r in reports}
        questions = await all_rows(sessions, QuestionRow)
        assert {q.round_id for q in questions} == {r.id for r in rounds}
        assert len(await outbox(sessions, COMMAND_REPLIES)) == size
    finally:
        await engine.dispose()


async def test_a_batch_that_opens_a_case_twice_keeps_the_first_and_rejects_the_second(
    sessions: Sessions,
) -> None:
    # Read once for the batch, the case's open rounds include the one the batch just opened.
    case_id = await _oranje_case(sessions)
    other = _open(await _oranje_case(sessions))
    async with UnitOfWork(sessions, collecting([])) as uow:
        reports = await handle_commands(
            uow,
            [_open(case_id), _open(case_id), other],
            POLICY,
            officials=OFFICIALS,
            deadline=DEADLINE,
            now=NOW,
        )
    assert [r.outcome for r in reports] == ["opened", "dead_lettered", "opened"]
    rounds = await all_rows(sessions, RoundRow)
    assert sorted(r.case_id for r in rounds) == sorted([case_id, str(decode_case(other))])
    [letter] = await all_rows(sessions, DeadLetterRow)
    assert "already has an open round" in letter.detail


async def test_a_command_repeated_in_its_own_batch_is_answered_with_its_round(
    sessions: Sessions,
) -> None:
    first = _open(await _oranje_case(sessions))
    async with UnitOfWork(sessions, collecting([])) as uow:
        reports = await handle_commands(
            uow,
            [first, (first[0], _record())],
            POLICY,
            officials=OFFICIALS,
            deadline=DEADLINE,
            now=NOW,
        )
    assert [r.outcome for r in reports] == ["opened", "duplicate"]
    [round_row] = await all_rows(sessions, RoundRow)
    # The round was not written yet when the repeat was answered: the batch knew it.
    assert reports[1].round_id == round_row.id
    replies = [decode(row.payload) for row in await outbox(sessions, COMMAND_REPLIES)]
    assert [r.round_id for r in replies if isinstance(r, CommandReply)] == [
        uuid.UUID(round_row.id)
    ] * 2


def decode_case(record: tuple[bytes, Delivery]) -> uuid.UUID:
    command = decode(record[0])
    assert isinstance(command, OpenRoundCommand)
    return command.case_id


async def test_a_rejected_command_is_undone_alone_and_the_batch_kept(sessions: Sessions) -> None:
    first = _open(await _oranje_case(sessions))
    rejected = _open(await _oranje_case(sessions, informed=False))
    last = _open(await _oranje_case(sessions))
    published: list[DirectMessage] = []
    async with UnitOfWork(sessions, collecting(published)) as uow:
        reports = await handle_commands(
            uow,
            # The first again, in a new record (the backend sent it twice): a duplicate.
            [first, rejected, (first[0], _record()), last],
            POLICY,
            officials=OFFICIALS,
            deadline=DEADLINE,
            now=NOW,
        )
    assert [r.outcome for r in reports] == ["opened", "dead_lettered", "duplicate", "opened"]
    assert len(await all_rows(sessions, RoundRow)) == 2
    [letter] = await all_rows(sessions, DeadLetterRow)
    assert letter.reason == COMMAND_REJECTED
    assert len(published) == 1  # the dead letter's bytes
    replies = [decode(row.payload) for row in await outbox(sessions, COMMAND_REPLIES)]
    assert all(isinstance(r, CommandReply) for r in replies)
    outcomes = [r.outcome for r in replies if isinstance(r, CommandReply)]
    assert outcomes == [
        CommandOutcome.ACCEPTED,
        CommandOutcome.REJECTED,
        CommandOutcome.DUPLICATE,
        CommandOutcome.ACCEPTED,
    ]
    # The rejected command's id was not kept: sent again once allowed, it is carried out.
    async with UnitOfWork(sessions, collecting([])) as uow:
        [again] = await handle_commands(
            uow,
            [(rejected[0], _record())],
            POLICY,
            officials=OFFICIALS,
            deadline=DEADLINE,
            now=NOW,
        )
    assert again.outcome == "dead_lettered"  # still not informed: rejected again, not "duplicate"
