"""The answer message: one PartnerAnswer replying to one question set."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from contracts import AnswerItem, Partner, PartnerAnswer, PolicyRef, QuestionSet
from partner_adapters.identity import answer_message_id

__all__ = ["AnswerEnvelope", "build_answer"]


@dataclass(frozen=True, slots=True)
class AnswerEnvelope:
    """What an answer message copies from the question set it replies to."""

    question_set_id: UUID
    round_id: UUID
    correlation_id: UUID
    policy: PolicyRef
    partner: Partner

    @classmethod
    def of(cls, qs: QuestionSet) -> AnswerEnvelope:
        return cls(qs.message_id, qs.round_id, qs.correlation_id, qs.policy, qs.partner)


def build_answer(
    envelope: AnswerEnvelope, accepted: Mapping[UUID, AnswerItem], at: dt.datetime
) -> PartnerAnswer | None:
    """One PartnerAnswer with the accepted answers, in the order given; None if there are none.

    It replies to the question set (`in_reply_to`), keeps its round, correlation id and policy,
    and its message id is deterministic (see `partner_adapters.identity`).
    """
    if not accepted:
        return None
    return PartnerAnswer(
        message_id=answer_message_id(envelope.question_set_id, envelope.partner, accepted),
        round_id=envelope.round_id,
        correlation_id=envelope.correlation_id,
        policy=envelope.policy,
        created_at=at,
        partner=envelope.partner,
        in_reply_to=envelope.question_set_id,
        answers=tuple(accepted.values()),
    )
