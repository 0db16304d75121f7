"""`iaj round republish`'s use case (handlers.republish), on SQLite and PostgreSQL: a closed
round's result goes to the outbox again with the message id and revision it was published
with, the processing log says who had it published, and an open round is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from contracts.enums import Colour
from contracts.messages import Completion, RoundResult
from contracts.topics import RESULTS
from contracts.wire import decode
from handlers.db.tables import OutboxRow, ProcessingLogRow
from handlers.db.uow import UnitOfWork
from handlers.errors import RoundNotOpen, UnknownRound
from handlers.republish import REPUBLISHED, Republished, republish_result
from tests.integration.handlers.test_relabel import _answer_everything, _case, _relabel
from tests.unit.handlers.builders import ACTOR, NOW, POLICY, Sessions, open_round_for, outbox

pytestmark = pytest.mark.integration


async def _republish(sessions: Sessions, round_id: str) -> Republished:
    async with UnitOfWork(sessions) as uow:
        done = await republish_result(uow, POLICY, round_id, actor=ACTOR, now=NOW)
        await uow.commit()
    return done


async def _relay_sent_everything(sessions: Sessions) -> None:
    """What the relay does after the broker acknowledged: sent, and no copy kept."""
    async with sessions() as session:
        await session.execute(update(OutboxRow).values(sent_at=NOW, payload=b""))
        await session.commit()


async def _unsent_results(sessions: Sessions) -> list[tuple[OutboxRow, RoundResult]]:
    found = []
    for row in await outbox(sessions, RESULTS):
        if row.sent_at is None:
            message = decode(row.payload)
            assert isinstance(message, RoundResult)
            found.append((row, message))
    return found


async def test_a_completed_result_is_published_again_with_its_id_and_logged(
    sessions: Sessions,
) -> None:
    case_id = await _case(sessions, Colour.ORANJE)
    round_id = await open_round_for(sessions, case_id, Colour.ORANJE)
    await _answer_everything(sessions, round_id)
    [(_, first)] = await _unsent_results(sessions)
    assert first.completion is Completion.COMPLETE
    await _relay_sent_everything(sessions)

    done = await _republish(sessions, round_id)

    assert (done.revision, done.message_id) == (1, str(first.message_id))
    [(row, again)] = await _unsent_results(sessions)
    assert again == first  # the same message, byte for byte as a model: consumers drop it
    assert row.message_id == str(first.message_id)
    assert row.headers["correlation_id"] == str(first.correlation_id)
    async with sessions() as session:
        [entry] = await session.scalars(
            select(ProcessingLogRow).where(ProcessingLogRow.action == REPUBLISHED)
        )
    assert (entry.actor, entry.round_id, entry.case_id) == (ACTOR, round_id, case_id)
    # Asked twice before the relay sent it: still one row, one message.
    await _republish(sessions, round_id)
    assert len(await outbox(sessions, RESULTS)) == 1


async def test_after_afschalen_the_latest_revision_is_published_again(sessions: Sessions) -> None:
    case_id = await _case(sessions, Colour.ROOD)
    round_id = await open_round_for(sessions, case_id, Colour.ROOD)
    await _answer_everything(sessions, round_id)
    await _relabel(sessions, case_id, Colour.GROEN)
    [second] = [m for _, m in await _unsent_results(sessions) if m.revision == 2]
    await _relay_sent_everything(sessions)
    # The outbox rows are deleted some days after sending (retention): rebuilt all the same.
    async with sessions() as session:
        await session.execute(delete(OutboxRow))
        await session.commit()

    done = await _republish(sessions, round_id)

    assert (done.revision, done.message_id) == (2, str(second.message_id))
    [(_, again)] = await _unsent_results(sessions)
    assert again.model_dump(exclude={"created_at"}) == second.model_dump(exclude={"created_at"})


async def test_an_open_or_unknown_round_is_refused(sessions: Sessions) -> None:
    case_id = await _case(sessions, Colour.ORANJE)
    round_id = await open_round_for(sessions, case_id, Colour.ORANJE)
    with pytest.raises(RoundNotOpen, match="still open"):
        await _republish(sessions, round_id)
    with pytest.raises(UnknownRound):
        await _republish(sessions, "00000000-0000-4000-8000-000000000000")
    assert await outbox(sessions, RESULTS) == []
