"""The core of the adapter: answer a question set. Plain async functions, no Kafka.

Besides question sets, the question topic carries the municipality's `Withdrawal` (drop these
questions: the round was cancelled, the label lowered, the youth left) and
`SubjectCorrection` (the youth's name or date of birth was wrong) notices; `receive` hands
them to the state store.

What happens to one question set, in this order:

1. Decide. Questions the local policy does not permit are set aside; the lookup is asked the
   rest; every answer it returns goes through `contracts.check_answer`. Permitted answers form
   one PartnerAnswer; refused ones are recorded (reason and field, no content) and their
   questions stay open.
2. Record, in one transaction: the question set (its message id is the primary key: a known
   one is a duplicate, and nothing of it is written), which questions were answered, the
   refusals, a lookup failure if any, and the PartnerAnswer in the outbox.
3. Deliver (`partner_adapters.delivery`): publish the outbox, await the broker's acks, then
   mark the entries sent.
4. The Kafka runtime acknowledges the question set (commits its offset).

The running adapter does this per batch of consumed records (`receive_batch`): it decides each
question set in turn, records the whole batch in one transaction, delivers, and commits the
batch's offsets once. A withdrawal or correction in the batch first records what came before
it, so it sees those question sets, as it would one by one.

Why record before publishing (an outbox) rather than publish and then record: delivery is at
least once either way, but this way every repeat carries the *same* answer. A crash before 2
leaves nothing behind: Kafka redelivers and the set is answered afresh. A crash between 2 and
3 leaves the answer in the outbox, sent at the next start. A crash between publishing and
marking it sent publishes it again with the same message id, which is derived from the set's
message id, the partner and the questions answered (`partner_adapters.identity`), so the
municipality de-duplicates it. A crash after 3 makes Kafka redeliver the set, which is then
recognised by its message id (the insert does nothing) and its new decision dropped.
Publishing first instead would, on redelivery, run the lookup again, and a partner system
that changed meanwhile could send a different answer under the same message id.

A set re-published with the same message id is never answered twice; an explicit re-ask (a new
message id, even for the same questions) is answered again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from contracts import (
    MalformedMessage,
    Policy,
    Question,
    QuestionSet,
    SubjectCorrection,
    Withdrawal,
    decode,
)
from contracts.messages import PartnerAnswer, utc_now
from partner_adapters.lookup import Lookup, LookupRequest, LookupSubject
from partner_adapters.lookup_runner import LookupRetry, run_lookup
from partner_adapters.policy_guard import scope_questions, shipped_policy
from partner_adapters.replies import AnswerEnvelope, build_answer
from partner_adapters.screening import screen_answers
from partner_adapters.state import (
    AdapterStore,
    AnsweredBy,
    Answering,
    BatchWrite,
    KafkaPosition,
    LateQuestionSet,
    LookupFailure,
    NewQuestionSet,
    Refusal,
    RefusalSource,
    Rejection,
)

__all__ = [
    "AnsweringOutcome",
    "AnsweringStatus",
    "RejectionReason",
    "answer_question_set",
    "receive",
    "receive_batch",
    "retry_pending",
]


class AnsweringStatus(StrEnum):
    ANSWERED = "answered"  # every question answered
    WITHDRAWN = "withdrawn"  # a withdrawal: the questions it names are dropped, not answered
    CORRECTED = "corrected"  # a subject correction: pending question sets use the new data
    PARTLY_ANSWERED = "partly_answered"  # some answered, the rest stays open
    UNANSWERED = "unanswered"  # nothing answered (refused, lookup failed); all stays open
    DUPLICATE = "duplicate"  # this message id was seen before: skipped
    REJECTED = "rejected"  # not answered at all, and not kept for answering


class RejectionReason(StrEnum):
    """Why a message is not answered at all (besides MalformedMessage's own reasons)."""

    WRONG_PARTNER = "wrong_partner"
    UNEXPECTED_TYPE = "unexpected_type"
    DEADLINE_PASSED = "deadline_passed"


@dataclass(frozen=True, slots=True)
class AnsweringOutcome:
    """What became of one question set. `message` is what was recorded for sending."""

    status: AnsweringStatus
    question_set_id: UUID | None
    message: PartnerAnswer | None = None
    refusals: tuple[Refusal, ...] = ()
    lookup_failure: LookupFailure | None = None
    rejection: Rejection | None = None
    open_questions: tuple[UUID, ...] = ()
    # A withdrawal: questions dropped, and unsent answers dropped; a correction: sets updated.
    dropped: tuple[int, int] = (0, 0)
    corrected_sets: int = 0


async def receive(
    raw: bytes,
    lookup: Lookup,
    store: AdapterStore,
    *,
    position: KafkaPosition | None = None,
    policy: Policy | None = None,
    retry: LookupRetry | None = None,
    now: dt.datetime | None = None,
) -> AnsweringOutcome:
    """Handle the bytes of one record from the question topic. Never raises for bad input:
    an unreadable or misplaced message is recorded as rejected, so it cannot stall the adapter."""
    [outcome] = await receive_batch(
        [(raw, position)], lookup, store, policy=policy, retry=retry, now=now
    )
    return outcome


async def receive_batch(
    records: Iterable[tuple[bytes, KafkaPosition | None]],
    lookup: Lookup,
    store: AdapterStore,
    *,
    policy: Policy | None = None,
    retry: LookupRetry | None = None,
    now: dt.datetime | None = None,
) -> list[AnsweringOutcome]:
    """Handle a batch of records from the question topic, in order: one outcome per record,
    and one transaction for the batch (more only around a withdrawal or a correction). Never
    raises for bad input; a failure of the state file records nothing of the batch after the
    last notice in it, and raises."""
    batch = _Batch(store, now or utc_now(), lookup, policy or shipped_policy(), retry)
    for raw, position in records:
        await batch.receive(raw, position)
    return await batch.finish()


async def answer_question_set(
    question_set: QuestionSet,
    lookup: Lookup,
    store: AdapterStore,
    *,
    policy: Policy | None = None,
    retry: LookupRetry | None = None,
    now: dt.datetime | None = None,
    position: KafkaPosition | None = None,
) -> AnsweringOutcome:
    """Answer a question set once, recording everything; see the module docs for the order."""
    batch = _Batch(store, now or utc_now(), lookup, policy or shipped_policy(), retry)
    await batch.question_set(question_set, position)
    [outcome] = await batch.finish()
    return outcome


class _Batch:
    """The records of one batch: decided in order, their writes recorded together."""

    def __init__(
        self,
        store: AdapterStore,
        at: dt.datetime,
        lookup: Lookup,
        policy: Policy,
        retry: LookupRetry | None,
    ) -> None:
        self.store, self.at, self.lookup, self.policy = store, at, lookup, policy
        self.retry = retry or LookupRetry()
        self.outcomes: list[AnsweringOutcome | None] = []
        self.pending: list[tuple[int, BatchWrite, Callable[[bool], AnsweringOutcome]]] = []

    async def receive(self, raw: bytes, position: KafkaPosition | None) -> None:
        try:
            message = decode(raw)
        except MalformedMessage as exc:
            rejection = Rejection(exc.reason, exc.detail, _peek_message_id(raw), position)
            self._reject(rejection)
            return
        if isinstance(message, Withdrawal | SubjectCorrection):
            await self.flush()  # the notice sees every question set read before it
            self.outcomes.append(await _notice(message, self.store, position, self.at))
            return
        if not isinstance(message, QuestionSet):
            detail = f"a {message.type!r} message on a question topic"
            reason = RejectionReason.UNEXPECTED_TYPE.value
            self._reject(Rejection(reason, detail, message.message_id, position))
            return
        await self.question_set(message, position)

    async def question_set(self, qs: QuestionSet, position: KafkaPosition | None) -> None:
        store, at = self.store, self.at
        if qs.partner is not store.partner:
            detail = (
                f"addressed to {qs.partner.value}; this adapter answers for {store.partner.value}"
            )
            reason = RejectionReason.WRONG_PARTNER.value
            self._reject(Rejection(reason, detail, qs.message_id, position))
            return
        if qs.deadline <= at:  # rejected, unless it was answered in time (a duplicate)
            detail = f"deadline {qs.deadline.isoformat()} passed before it was read"
            rejection = Rejection(
                RejectionReason.DEADLINE_PASSED.value, detail, qs.message_id, position
            )
            self._write(
                LateQuestionSet(rejection),
                lambda recorded: _rejected(rejection) if recorded else _duplicate(qs),
            )
            return
        # No read first: the primary key decides, when the batch is recorded.
        answering = await _decide(qs, self.lookup, self.policy, self.retry, at)
        self._write(
            NewQuestionSet(qs, answering),
            lambda recorded: _outcome(qs, answering) if recorded else _duplicate(qs),
        )

    def _reject(self, rejection: Rejection) -> None:
        self._write(rejection, lambda _: _rejected(rejection))

    def _write(self, item: BatchWrite, outcome: Callable[[bool], AnsweringOutcome]) -> None:
        self.pending.append((len(self.outcomes), item, outcome))
        self.outcomes.append(None)

    async def flush(self) -> None:
        pending, self.pending = self.pending, []
        recorded = await self.store.record_batch([item for _, item, _ in pending], self.at)
        for (index, _, outcome), done in zip(pending, recorded, strict=True):
            self.outcomes[index] = outcome(done)

    async def finish(self) -> list[AnsweringOutcome]:
        await self.flush()
        outcomes = [o for o in self.outcomes if o is not None]
        assert len(outcomes) == len(self.outcomes)
        return outcomes


def _rejected(rejection: Rejection) -> AnsweringOutcome:
    return AnsweringOutcome(AnsweringStatus.REJECTED, rejection.message_id, rejection=rejection)


def _duplicate(qs: QuestionSet) -> AnsweringOutcome:
    return AnsweringOutcome(AnsweringStatus.DUPLICATE, qs.message_id)


async def retry_pending(
    lookup: Lookup,
    store: AdapterStore,
    *,
    policy: Policy | None = None,
    retry: LookupRetry | None = None,
    now: dt.datetime | None = None,
) -> list[AnsweringOutcome]:
    """Ask the lookup again for every open question whose deadline has not passed."""
    at = now or utc_now()
    outcomes = []
    policy = policy or shipped_policy()
    retry = retry or LookupRetry()
    for qs in await store.pending_question_sets(at):
        answering = await _decide(qs, lookup, policy, retry, at)
        if await store.record_follow_up(qs.message_id, answering, at):
            outcomes.append(_outcome(qs, answering))
        else:  # someone answered one of these by hand meanwhile; the next retry sees it
            outcomes.append(AnsweringOutcome(AnsweringStatus.DUPLICATE, qs.message_id))
    return outcomes


async def _decide(
    qs: QuestionSet, lookup: Lookup, policy: Policy, retry: LookupRetry, at: dt.datetime
) -> Answering:
    scoped = scope_questions(qs, policy)
    if not scoped.askable:
        return Answering({}, AnsweredBy.LOOKUP, scoped.refusals)
    result = await run_lookup(lookup, _request(qs, scoped.askable), retry)
    if isinstance(result, LookupFailure):
        return Answering({}, AnsweredBy.LOOKUP, scoped.refusals, lookup_failure=result)
    screened = screen_answers(scoped.askable, result, qs.colour, RefusalSource.LOOKUP)
    in_order = {
        q.question_id: screened.accepted[q.question_id]
        for q in qs.questions
        if q.question_id in screened.accepted
    }
    return Answering(
        answered=in_order,
        answered_by=AnsweredBy.LOOKUP,
        refusals=(*scoped.refusals, *screened.refusals),
        message=build_answer(AnswerEnvelope.of(qs), in_order, at),
    )


def _request(qs: QuestionSet, questions: tuple[Question, ...]) -> LookupRequest:
    # Only the people the remaining questions are about: minimal even towards one's own system.
    asked_about = {q.subject_ref for q in questions}
    return LookupRequest(
        question_set_id=qs.message_id,
        partner=qs.partner,
        colour=qs.colour,
        subjects=tuple(
            LookupSubject(s.subject_ref, s.role, s.naam, s.geboortedatum)
            for s in qs.subjects
            if s.subject_ref in asked_about
        ),
        questions=questions,
    )


def _outcome(qs: QuestionSet, answering: Answering) -> AnsweringOutcome:
    answered = answering.answered
    still_open = tuple(q.question_id for q in qs.questions if q.question_id not in answered)
    if not answering.answered:
        status = AnsweringStatus.UNANSWERED
    elif still_open:
        status = AnsweringStatus.PARTLY_ANSWERED
    else:
        status = AnsweringStatus.ANSWERED
    return AnsweringOutcome(
        status=status,
        question_set_id=qs.message_id,
        message=answering.message,
        refusals=tuple(answering.refusals),
        lookup_failure=answering.lookup_failure,
        open_questions=still_open,
    )


async def _notice(
    message: Withdrawal | SubjectCorrection,
    store: AdapterStore,
    position: KafkaPosition | None,
    at: dt.datetime,
) -> AnsweringOutcome:
    """A withdrawal drops the questions it names (and an answer queued for nothing else); a
    subject correction updates the pending question sets of its round. Seen before: a no-op."""
    if message.partner is not store.partner:
        detail = (
            f"addressed to {message.partner.value}; this adapter answers for {store.partner.value}"
        )
        rejection = Rejection(
            RejectionReason.WRONG_PARTNER.value, detail, message.message_id, position
        )
        return await _reject(store, rejection, at)
    if isinstance(message, Withdrawal):
        dropped = await store.record_withdrawal(message, at)
        if dropped is None:
            return AnsweringOutcome(AnsweringStatus.DUPLICATE, None)
        return AnsweringOutcome(
            AnsweringStatus.WITHDRAWN, None, dropped=(dropped.questions, dropped.unsent_answers)
        )
    updated = await store.record_subject_correction(message, at)
    if updated is None:
        return AnsweringOutcome(AnsweringStatus.DUPLICATE, None)
    return AnsweringOutcome(AnsweringStatus.CORRECTED, None, corrected_sets=updated)


async def _reject(store: AdapterStore, rejection: Rejection, at: dt.datetime) -> AnsweringOutcome:
    await store.record_rejection(rejection, at)
    return AnsweringOutcome(AnsweringStatus.REJECTED, rejection.message_id, rejection=rejection)


def _peek_message_id(raw: bytes) -> UUID | None:
    """The message id of an unreadable message, if it has a readable one (for the operator)."""
    try:
        value = json.loads(raw).get("message_id")
        return UUID(str(value)) if value is not None else None
    except (ValueError, AttributeError, TypeError):
        return None
