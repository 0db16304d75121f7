"""What a taken answer writes: the stored answer with its signature, the late answer's record,
and the processing-log entry for the receipt.

Separate from `handlers.answers`, which decides what an answer does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from contracts.messages import AnswerItem
from contracts.signing import ItemSignature
from contracts.wire import AnswerEnvelope
from handlers.db.pending import add_row
from handlers.db.tables import AnswerRow, LateAnswerRow, QuestionRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.processing_log import log_processing
from handlers.states import QuestionStatus

__all__ = ["log_receipt", "record_late", "store"]


def log_receipt(
    uow: UnitOfWork,
    envelope: AnswerEnvelope,
    round_row: RoundRow,
    taken: Sequence[tuple[QuestionRow, AnswerItem]],
    signatures: Mapping[str, ItemSignature],
) -> None:
    """Receiving answers about a youth is processing: logged with the partner, the message
    and the keys that signed what was taken, so it can be shown later who said what."""
    keys = sorted({signatures[question.id].key_id for question, _ in taken})
    log_processing(
        uow,
        f"partner:{envelope.partner.value}",
        "answers_received",
        f"{len(taken)} answer(s) in message {envelope.message_id}, signed with key "
        f"{', '.join(keys)}",
        case_id=round_row.case_id,
        round_id=round_row.id,
        partner=envelope.partner.value,
    )


def store(
    uow: UnitOfWork,
    question: QuestionRow,
    answer: AnswerItem,
    env: AnswerEnvelope,
    signature: ItemSignature,
    now: dt.datetime,
) -> None:
    question.status = QuestionStatus.ANSWERED
    question.closed_at = now
    add_row(
        uow.session,
        AnswerRow,
        {
            "question_id": question.id,
            "round_id": question.round_id,
            "partner": question.partner,
            "message_id": str(env.message_id),
            "content": answer.model_dump(mode="json", exclude_none=True, exclude={"question_id"}),
            "key_id": signature.key_id,
            "signature": signature.value,
            "received_at": now,
        },
    )


def record_late(
    uow: UnitOfWork, question: QuestionRow, env: AnswerEnvelope, now: dt.datetime
) -> None:
    add_row(
        uow.session,
        LateAnswerRow,
        {
            "question_id": question.id,
            "round_id": question.round_id,
            "partner": question.partner,
            "message_id": str(env.message_id),
            "received_at": now,
        },
    )
