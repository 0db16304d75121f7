"""Manual answering, for a partner without an integration or for a question left open.

A person answers one open question; the answer is checked exactly like a lookup's
(`contracts.check_answer`, and the question against the local policy) and recorded in the
outbox with the question marked answered, in one transaction. A refused answer is recorded
(reason and field, no content) and nothing is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from contracts import PartnerAnswer, Policy, RefusalReason
from contracts.messages import utc_now
from partner_adapters.errors import AdapterError, AmbiguousQuestion, QuestionNotOpen
from partner_adapters.policy_guard import PolicyReason, scope_question, shipped_policy
from partner_adapters.replies import AnswerEnvelope, build_answer
from partner_adapters.screening import screen_answers
from partner_adapters.state import (
    AdapterStore,
    AnsweredBy,
    Answering,
    OpenQuestion,
    Refusal,
    RefusalSource,
)

__all__ = ["ManualAnswerRefused", "answer_manually", "explain", "find_open_question"]


class ManualAnswerRefused(AdapterError):
    """The answer is richer than the question permits (or the question is out of policy)."""

    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
        on_field = f", field {refusal.field!r}" if refusal.field else ""
        super().__init__(
            f"answer refused [{refusal.reason}] on question {refusal.question_key}{on_field}: "
            f"{explain(refusal.reason)}"
        )


def explain(reason: str) -> str:
    """What a refusal reason means and what to do about it."""
    if reason in RefusalReason.__members__.values():
        return RefusalReason(reason).explanation
    if reason == PolicyReason.UNKNOWN_POLICY:
        return "the question set names a policy this adapter does not have; upgrade it"
    if reason == PolicyReason.NOT_IN_POLICY:
        return "the policy does not ask this question this richly at this label"
    return reason


async def find_open_question(
    store: AdapterStore,
    question_ref: str,
    *,
    question_set_ref: str | None = None,
    now: dt.datetime | None = None,
) -> OpenQuestion:
    """The open question whose id starts with `question_ref` (and set id with the set ref)."""
    ref = question_ref.strip().lower()
    set_ref = (question_set_ref or "").strip().lower()
    matches = [
        oq
        for oq in await store.open_questions(now or utc_now())
        if str(oq.question.question_id).startswith(ref)
        and str(oq.question_set_id).startswith(set_ref)
    ]
    if not ref or not matches:
        raise QuestionNotOpen(
            f"no open question matches {question_ref!r}: it is unknown, already answered, or "
            "past its deadline (see `iaj-adapter pending`)"
        )
    if len(matches) > 1:
        listed = ", ".join(f"{m.question.question_id} in set {m.question_set_id}" for m in matches)
        raise AmbiguousQuestion(
            f"{question_ref!r} matches {len(matches)} open questions ({listed}); "
            "give the full question id and --question-set"
        )
    return matches[0]


async def answer_manually(
    store: AdapterStore,
    open_question: OpenQuestion,
    answer: Mapping[str, Any],
    *,
    policy: Policy | None = None,
    now: dt.datetime | None = None,
) -> PartnerAnswer:
    """Check and record a person's answer; return the message to send.

    `answer` holds the answer fields (`antwoord`, and `met_wie`/`domeinen`/`toelichting`/
    `detail` as the question's shape allows); the question id is filled in.
    """
    at = now or utc_now()
    oq = open_question
    if oq.subject is None:
        raise QuestionNotOpen(f"question {oq.question.question_id} is past its deadline")
    policy = policy or shipped_policy()
    scoped = scope_question(
        oq.question, oq.subject.role, store.partner, oq.colour, oq.policy == policy.ref, policy
    )
    if isinstance(scoped, Refusal):
        await store.record_refusals(oq.question_set_id, [scoped], at)
        raise ManualAnswerRefused(scoped)
    item = {**answer, "question_id": str(oq.question.question_id)}
    screened = screen_answers([scoped], [item], oq.colour, RefusalSource.MANUAL)
    if screened.refusals:
        await store.record_refusals(oq.question_set_id, screened.refusals, at)
        raise ManualAnswerRefused(screened.refusals[0])
    envelope = AnswerEnvelope(
        oq.question_set_id, oq.round_id, oq.correlation_id, oq.policy, store.partner
    )
    message = build_answer(envelope, screened.accepted, at)
    assert message is not None  # one accepted answer
    answering = Answering(screened.accepted, AnsweredBy.MANUAL, message=message)
    if not await store.record_follow_up(oq.question_set_id, answering, at):
        raise QuestionNotOpen(f"question {oq.question.question_id} was answered meanwhile")
    return message
