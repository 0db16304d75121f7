"""Check the questions themselves against this partner's own copy of the policy.

`check_answer` keeps an answer within its question's shape; this keeps the question within the
policy: a question set asking more than the convenant permits at its label (a wrong shape, a
detail field the policy does not name, a policy version this adapter does not know) is not
answered by the lookup at all. Such questions stay open; upgrading the adapter (a new policy
ships with `contracts`) and `iaj-adapter retry` picks them up.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from contracts import (
    Colour,
    Partner,
    Policy,
    Question,
    QuestionSet,
    SubjectRole,
    haarlem_policy,
    load_policy,
)
from contracts.policy import AskedQuestion
from partner_adapters.state import Refusal, RefusalSource

__all__ = [
    "PolicyReason",
    "Scoped",
    "local_policy",
    "scope_question",
    "scope_questions",
    "shipped_policy",
]


class PolicyReason(StrEnum):
    UNKNOWN_POLICY = "unknown_policy"  # the set names a policy id/version we do not have
    NOT_IN_POLICY = "not_in_policy"  # the policy does not ask this, or not this richly


@cache
def shipped_policy() -> Policy:
    """The policy that ships with `contracts` (read once)."""
    return haarlem_policy()


def local_policy(path: Path | None) -> Policy:
    """The policy file configured for this adapter, or the shipped one."""
    return shipped_policy() if path is None else load_policy(path)


@dataclass(frozen=True, slots=True)
class Scoped:
    """Questions that may be answered (text limits tightened to the policy's), and refusals."""

    askable: tuple[Question, ...]
    refusals: tuple[Refusal, ...]


def scope_questions(question_set: QuestionSet, policy: Policy) -> Scoped:
    roles = {s.subject_ref: s.role for s in question_set.subjects}
    known_policy = question_set.policy == policy.ref
    asked = _asked_index(policy, question_set.colour, question_set.partner)
    askable: list[Question] = []
    refusals: list[Refusal] = []
    for question in question_set.questions:
        scoped = _scope(question, roles[question.subject_ref], known_policy, asked, policy)
        if isinstance(scoped, Refusal):
            refusals.append(scoped)
        else:
            askable.append(scoped)
    return Scoped(tuple(askable), tuple(refusals))


def scope_question(
    question: Question,
    role: SubjectRole,
    partner: Partner,
    colour: Colour,
    known_policy: bool,
    policy: Policy,
) -> Question | Refusal:
    """The question as it may be answered, or why it may not be answered at all."""
    return _scope(question, role, known_policy, _asked_index(policy, colour, partner), policy)


def _asked_index(
    policy: Policy, colour: Colour, partner: Partner
) -> dict[tuple[str, SubjectRole], AskedQuestion]:
    return {(a.key, a.subject): a for a in policy.asked(colour, partner)}


def _scope(
    question: Question,
    role: SubjectRole,
    known_policy: bool,
    asked_index: dict[tuple[str, SubjectRole], AskedQuestion],
    policy: Policy,
) -> Question | Refusal:
    def refuse(reason: PolicyReason, field: str | None) -> Refusal:
        return Refusal(
            question.question_id, question.key, reason.value, field, RefusalSource.POLICY
        )

    if not known_policy:
        return refuse(PolicyReason.UNKNOWN_POLICY, None)
    asked = asked_index.get((question.key, role))
    if asked is None:
        return refuse(PolicyReason.NOT_IN_POLICY, "key")
    if not asked.shape.covers(question.shape):
        return refuse(PolicyReason.NOT_IN_POLICY, "shape")
    if not set(question.detail_fields) <= set(asked.detail_fields):
        return refuse(PolicyReason.NOT_IN_POLICY, "detail_fields")
    limit = policy.text_limit(question.shape)
    if limit is not None and (question.text_limit is None or question.text_limit > limit):
        # A question may ask for less text than the policy allows, never more.
        return question.model_copy(update={"text_limit": limit})
    return question
