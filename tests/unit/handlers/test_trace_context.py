"""What a transaction writes during a traced operation keeps the trace: the outbox rows (so the
relay publishes them in it, after a restart too) and the processing log entries (trace_id)."""

from __future__ import annotations

from sqlalchemy import select

from handlers.db.tables import ProcessingLogRow
from handlers.tracing import consumed
from tests.unit.handlers.builders import Sessions, new_case, open_round_for, outbox, register

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


async def test_a_round_opened_in_a_trace_stores_it_with_its_messages_and_log_entries(
    sessions: Sessions,
) -> None:
    case_id = await register(sessions, new_case())
    with consumed("iaj.commands", {"traceparent": PARENT}):
        round_id = await open_round_for(sessions, case_id)

    rows = await outbox(sessions)
    assert rows
    assert {row.headers.get("traceparent", "").split("-")[1] for row in rows} == {TRACE_ID}
    async with sessions() as session:
        entries = (
            await session.scalars(
                select(ProcessingLogRow.trace_id).where(ProcessingLogRow.round_id == round_id)
            )
        ).all()
    assert set(entries) == {TRACE_ID}


async def test_outside_a_trace_nothing_is_added(sessions: Sessions) -> None:
    case_id = await register(sessions, new_case())
    round_id = await open_round_for(sessions, case_id)

    assert all("traceparent" not in row.headers for row in await outbox(sessions))
    async with sessions() as session:
        entries = (
            await session.scalars(
                select(ProcessingLogRow.trace_id).where(ProcessingLogRow.round_id == round_id)
            )
        ).all()
    assert set(entries) == {None}
