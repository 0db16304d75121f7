"""Minimisation at source: only answers `contracts.check_answer` permits may leave."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from contracts import AnswerItem, AnswerRefused, Colour, Question, RefusalReason, check_answer
from partner_adapters.state import Refusal, RefusalSource

__all__ = ["InvalidLookupResult", "Screened", "as_items", "screen_answers"]


class InvalidLookupResult(Exception):
    """The lookup returned something that is not a sequence of answers; nothing is sent."""


@dataclass(frozen=True, slots=True)
class Screened:
    accepted: dict[UUID, AnswerItem]
    refusals: tuple[Refusal, ...]


def screen_answers(
    questions: Sequence[Question],
    answers: Sequence[AnswerItem | Mapping[str, Any]],
    colour: Colour,
    source: RefusalSource,
) -> Screened:
    """Split what a lookup (or a person) answered into permitted answers and refusals.

    An answer to a question not asked, or a second answer to one question, is refused as well:
    a question answered twice keeps neither answer and stays open.
    """
    items = as_items(answers)
    by_id = {q.question_id: q for q in questions}
    grouped: dict[UUID, list[AnswerItem | Mapping[str, Any]]] = defaultdict(list)
    refusals: list[Refusal] = []
    for item in items:
        question_id = _question_id_of(item)
        if question_id in by_id:
            grouped[question_id].append(item)
        else:
            refusals.append(
                Refusal(
                    question_id,
                    None,
                    RefusalReason.UNKNOWN_QUESTION.value,
                    "question_id",
                    source,
                )
            )
    accepted: dict[UUID, AnswerItem] = {}
    for question_id, given in grouped.items():
        question = by_id[question_id]
        if len(given) > 1:
            refusals.append(
                Refusal(
                    question.question_id,
                    question.key,
                    RefusalReason.DUPLICATE_ANSWER.value,
                    None,
                    source,
                )
            )
            continue
        try:
            accepted[question.question_id] = check_answer(question, given[0], colour)
        except AnswerRefused as refused:
            refusals.append(Refusal.from_error(refused, source))
        except (TypeError, ValueError):  # a mapping check_answer cannot even read
            refusals.append(
                Refusal(
                    question.question_id,
                    question.key,
                    RefusalReason.INVALID_VALUE.value,
                    None,
                    source,
                )
            )
    return Screened(accepted, tuple(refusals))


def as_items(answers: object) -> list[AnswerItem | Mapping[str, Any]]:
    """`answers` as a list of answer items; InvalidLookupResult if it is anything else."""
    if isinstance(answers, str | bytes | Mapping) or not isinstance(answers, Sequence):
        raise InvalidLookupResult(f"expected a sequence of answers, got {type(answers).__name__}")
    items: list[AnswerItem | Mapping[str, Any]] = []
    for item in answers:
        if not isinstance(item, AnswerItem | Mapping):
            raise InvalidLookupResult(
                f"expected AnswerItem or mapping items, got {type(item).__name__}"
            )
        items.append(item)
    return items


def _question_id_of(item: AnswerItem | Mapping[str, Any]) -> UUID | None:
    if isinstance(item, AnswerItem):
        return item.question_id
    value = item.get("question_id")
    if isinstance(value, UUID):
        return value
    try:
        return UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None
