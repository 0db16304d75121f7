"""Publishing a closed round's result again, for a backend that lost it (after the 14-day
retention of `iaj.results`, or a restore on its side).

The result is rebuilt as it was published last: the same revision, so the same message id
(`handlers.completion.result_message_id`), and consumers that kept it de-duplicate. A round
whose result was re-published after afschalen (revision 2 and up) reports only what the lower
label asks, as that revision did. It goes through the outbox like every result, and the
processing log records who had it published (`result_republished`). An open round has no
result yet: refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from contracts.enums import Colour
from contracts.messages import Completion
from contracts.policy import Policy
from handlers.completion import (
    COMPLETION_OF_STATE,
    build_result,
    enqueue_result,
    result_message_id,
)
from handlers.db.tables import CaseRow, OutboxRow, RoundRow
from handlers.db.uow import OUTBOX_WRITTEN, UnitOfWork
from handlers.errors import RoundNotOpen, UnknownRound
from handlers.processing_log import log_processing
from handlers.relabel import asked_questions
from handlers.states import RoundState
from handlers.tracing import current_trace_headers

__all__ = ["REPUBLISHED", "Republished", "republish_result"]

REPUBLISHED = "result_republished"  # the processing-log action


@dataclass(frozen=True)
class Republished:
    round_id: str
    message_id: str
    revision: int
    completion: Completion


async def republish_result(
    uow: UnitOfWork, policy: Policy, round_id: str, *, actor: str, now: dt.datetime
) -> Republished:
    """Put the round's last published result in the outbox again. Caller commits."""
    round_row = await uow.session.get(RoundRow, round_id)
    if round_row is None:
        raise UnknownRound(f"no round {round_id!r}; `iaj case list` shows the cases")
    state = RoundState(round_row.state)
    if not state.closed:
        raise RoundNotOpen(
            f"round {round_row.id} is still open: it has no result yet; the service publishes "
            "it when the round completes"
        )
    revision = round_row.result_revision or 1
    message_id = str(result_message_id(round_row.id, revision))
    earlier = await uow.session.scalar(select(OutboxRow).where(OutboxRow.message_id == message_id))
    only = None
    if revision > 1:
        case = await uow.session.get(CaseRow, round_row.case_id)
        if case is None:  # pragma: no cover - rounds go with their case
            raise UnknownRound(f"round {round_row.id} has no case any more")
        only = set(asked_questions(policy, case, Colour(round_row.colour)))
    # Revision 1 was stamped with the completion; a later one with the moment it was
    # decided, which the outbox row remembers while it is kept.
    created_at = None if revision == 1 else (earlier.created_at if earlier else now)
    how = COMPLETION_OF_STATE[state]
    message = await build_result(
        uow, round_row, how, revision=revision, created_at=created_at, only=only
    )
    if earlier is None:
        enqueue_result(uow, round_row, message, headers={"republished": "true"})
    else:
        # The message id is unique in the outbox: the row that sent it sends it again.
        earlier.payload = message.model_dump_json().encode()
        earlier.headers = {
            **current_trace_headers(),
            "message_type": message.type,
            "correlation_id": round_row.correlation_id,
            "republished": "true",
        }
        earlier.sent_at = None
        uow.session.info[OUTBOX_WRITTEN] = True
    log_processing(
        uow,
        actor,
        REPUBLISHED,
        f"result of the round (revision {revision}, {how.value}) published again for the "
        "municipal backend",
        round_id=round_row.id,
        case_id=round_row.case_id,
    )
    return Republished(round_row.id, message_id, revision, how)
