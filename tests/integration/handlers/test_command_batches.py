"""Commands in batches (`handlers.commands.handle_commands`), on SQLite and PostgreSQL: one
transaction for the batch, a rejected command undone alone, and a bounded number of
statements per command (counted with a cursor event, not timed)."""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.enums import Colour, Criterion
from contracts.messages import CommandOutcome, CommandReply, OpenRoundCommand
from contracts.topics import COMMAND_REPLIES, COMMANDS
from contracts.wire import decode, encode
from handlers.commands import COMMAND_REJECTED, handle_commands
from handlers.db.engine import make_engine, make_session_factory
from handlers.db.migrate import upgrade
from handlers.db.tables import CaseRow, DeadLetterRow, QuestionRow, RoundRow
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


# -- batched or one by one: the same effects ---------------------------------------------------

_CASE_KINDS = ("informed", "informed", "not_informed", "old_unlabelled")


async def _case_of_kind(sessions: Sessions, kind: str) -> str:
    case_id = await _oranje_case(sessions, informed=kind != "not_informed")
    if kind == "old_unlabelled":  # registered before labels were kept: its first round labels it
        async with UnitOfWork(sessions) as uow:
            await uow.session.execute(
                update(CaseRow).where(CaseRow.id == case_id).values(colour=None)
            )
            await uow.commit()
    return case_id


def _script(rng: random.Random) -> list[tuple[int, int, Colour]]:
    """(case, command id, colour) of each command: repeated cases (a second round while one is
    open is rejected), repeated command ids (a duplicate, in the batch or across batches),
    a colour other than the label now and then (rejected)."""
    return [
        (
            rng.randrange(len(_CASE_KINDS)),
            rng.randrange(6),
            rng.choice([Colour.ORANJE, Colour.ORANJE, Colour.ORANJE, Colour.GROEN]),
        )
        for _ in range(rng.randint(1, 12))
    ]


async def _run_script(
    sessions: Sessions,
    script: list[tuple[int, int, Colour]],
    batches: list[int],
    closing: set[int],
) -> dict[str, object]:
    """Carry out the script in batches of the given sizes, closing every open round after
    the commands at the positions in `closing` (a batch ends there); its effects, named by
    the script's own indices (not by ids, which differ from run to run)."""
    cases = [await _case_of_kind(sessions, kind) for kind in _CASE_KINDS]
    command_ids = [uuid.uuid4() for _ in range(6)]
    records = []
    for case, command, colour in script:
        message = OpenRoundCommand(
            message_id=command_ids[command],
            round_id=uuid.uuid4(),
            correlation_id=uuid.uuid4(),
            policy=POLICY.ref,
            case_id=uuid.UUID(cases[case]),
            colour=colour,
            requested_by=ACTOR,
        )
        records.append((encode(message), _record()))
    replies_before = len(await outbox(sessions, COMMAND_REPLIES))
    outcomes: list[str] = []
    start = 0
    for size in batches:
        async with UnitOfWork(sessions, collecting([])) as uow:
            reports = await handle_commands(
                uow,
                records[start : start + size],
                POLICY,
                officials=OFFICIALS,
                deadline=DEADLINE,
                now=NOW,
            )
        outcomes += [r.outcome for r in reports]
        start += size
        if start in closing:  # the rounds completed: a command id repeated now is a duplicate
            async with UnitOfWork(sessions) as uow:
                await uow.session.execute(
                    update(RoundRow)
                    .where(RoundRow.case_id.in_(cases), RoundRow.state == "open")
                    .values(state="complete", completed_at=NOW)
                )
                await uow.commit()
    rounds = [r for r in await all_rows(sessions, RoundRow) if r.case_id in cases]
    by_command = {str(c): i for i, c in enumerate(command_ids)}
    labels = {
        case.id: case.colour for case in await all_rows(sessions, CaseRow) if case.id in cases
    }
    questions = await all_rows(sessions, QuestionRow)
    replies = [decode(r.payload) for r in await outbox(sessions, COMMAND_REPLIES)]
    return {
        "outcomes": outcomes,
        "rounds": sorted(
            (cases.index(r.case_id), by_command[r.command_id or ""], r.colour, r.state)
            for r in rounds
        ),
        "questions per round": sorted(sum(q.round_id == r.id for q in questions) for r in rounds),
        "labels": [labels[c] for c in cases],
        "replies": [
            (r.outcome, r.round_id is not None)
            for r in replies[replies_before:]
            if isinstance(r, CommandReply)
        ],
    }


async def test_random_command_sequences_have_the_same_effects_batched_or_one_by_one(
    sessions: Sessions,
) -> None:
    """Forty random sequences of open-round commands (repeated cases and command ids,
    colours the label does not permit, uninformed and unlabelled cases, rounds completed in
    between), split into random batches: the batches, which read their cases and rounds
    once, do exactly what the same commands do one at a time."""
    for seed in range(40):
        rng = random.Random(seed)
        script = _script(rng)
        cuts = sorted(rng.sample(range(1, len(script)), k=rng.randint(0, len(script) - 1)))
        sizes = [b - a for a, b in itertools.pairwise([0, *cuts, len(script)])]
        # Rounds complete between some batches: a later batch finds closed rounds of its
        # cases, opened by command ids it repeats.
        closing = {c for c in cuts if rng.random() < 0.5}
        batched = await _run_script(sessions, script, sizes, closing)
        single = await _run_script(sessions, script, [1] * len(script), closing)
        assert batched == single, f"seed {seed}: {script} in batches of {sizes}"


async def test_an_old_command_resent_beside_a_new_one_for_its_case_opens_the_new_round(
    sessions: Sessions,
) -> None:
    # The batch reads the round the old command opened (complete by now) to answer the repeat
    # as a duplicate; that round must not count as the case's open round for the new command.
    case_id = await _oranje_case(sessions)
    old = _open(case_id)
    async with UnitOfWork(sessions, collecting([])) as uow:
        [first] = await handle_commands(
            uow, [old], POLICY, officials=OFFICIALS, deadline=DEADLINE, now=NOW
        )
    async with UnitOfWork(sessions) as uow:
        await uow.session.execute(
            update(RoundRow).where(RoundRow.id == first.round_id).values(state="complete")
        )
        await uow.commit()
    with counting(sessions.kw["bind"]) as counter:
        async with UnitOfWork(sessions, collecting([])) as uow:
            reports = await handle_commands(
                uow,
                [(old[0], _record()), _open(case_id)],
                POLICY,
                officials=OFFICIALS,
                deadline=DEADLINE,
                now=NOW,
            )
    assert [(r.outcome, r.round_id == first.round_id) for r in reports] == [
        ("duplicate", True),
        ("opened", False),
    ]
    # In one pass: not rejected, rolled back and carried out again command by command.
    assert counter.statements <= MAX_STATEMENTS_PER_BATCH + 1  # + the duplicate's round
