"""The lookup interface: the one piece a partner writes to connect its own system.

The adapter calls `lookup(request)` once per question set. The request names the people asked
about (the youth and, at oranje and rood, family members) by name and date of birth only, and
the questions with the exact answer shape each permits. Return one answer per question you can
answer, either as a `contracts.AnswerItem` or as a plain mapping::

    {"question_id": "<the question's id>", "antwoord": "nee"}
    {"question_id": "...", "antwoord": "ja", "domeinen": ["financien", "justitie"]}

Which optional fields a 'ja' may carry depends on the question's `shape`:

- `ja_nee`: nothing else.
- `ja_nee_met_wie`: `met_wie`, partner codes (`contracts.Partner` values).
- `ja_nee_domeinen`: `domeinen`, life domains (`contracts.LifeDomain` values).
- `ja_nee_toelichting`: `toelichting`, text of at most `question.text_limit` characters.
- `detail`: `detail`, a mapping with only the fields in `question.detail_fields`
  (`ja_nee` -> bool, `aantal` -> non-negative int, `tekst` -> short text).

A 'nee' carries nothing else. The adapter checks every answer with `contracts.check_answer`
before anything leaves your premises: an answer richer than its question permits is not sent,
the refusal is recorded (reason and field, never the content), and the question stays open for
a correct answer. Leave out a question you cannot answer; it stays open as well.

Raise `LookupUnavailable` when your system is unreachable: the adapter retries, and if it
still fails answers nothing rather than something wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, runtime_checkable
from uuid import UUID

from contracts import AnswerItem, Colour, Partner, Question, SubjectRole
from partner_adapters.errors import LookupUnavailable

__all__ = [
    "Lookup",
    "LookupAnswer",
    "LookupRequest",
    "LookupSubject",
    "LookupUnavailable",
    "is_in_process",
]

LookupAnswer: TypeAlias = AnswerItem | Mapping[str, Any]
"""One answer as a lookup returns it: a typed AnswerItem or a plain mapping of its fields."""


@dataclass(frozen=True, slots=True)
class LookupSubject:
    """A person a question is about. Name and date of birth are all a partner receives."""

    subject_ref: str
    role: SubjectRole
    naam: str
    geboortedatum: dt.date


@dataclass(frozen=True, slots=True)
class LookupRequest:
    """What the municipality asks this partner in one question set."""

    question_set_id: UUID
    """The question set's message id; log it in your own processing log."""
    partner: Partner
    colour: Colour
    """The youth's label; it decides the shapes, which are already in each question."""
    subjects: tuple[LookupSubject, ...]
    questions: tuple[Question, ...]

    def subject_of(self, question: Question) -> LookupSubject:
        """The person `question` is about."""
        for subject in self.subjects:
            if subject.subject_ref == question.subject_ref:
                return subject
        raise KeyError(question.subject_ref)  # the QuestionSet validator rules this out


@runtime_checkable
class Lookup(Protocol):
    """Implement this to answer from your own system. One instance serves the whole run.

    `lookup` may be called concurrently only if you run several adapters; within one adapter
    calls are sequential. It must not block the event loop: use an async client, or
    `asyncio.to_thread` around a blocking one.

    Optional: a class attribute `in_process = True` says the lookup answers from memory, with
    no network or other system to wait for (the reference lookups do). The adapter then calls
    it directly, without retries or a time limit. Leave it out for a lookup that calls your
    system: that one is retried with backoff while it raises `LookupUnavailable`.
    """

    async def lookup(self, request: LookupRequest) -> Sequence[LookupAnswer]:
        """Return the answers you can give, at most one per question. See the module docs."""
        ...


def is_in_process(lookup: Lookup) -> bool:
    """Whether `lookup` declares `in_process = True` (see `Lookup`): no retries needed."""
    return getattr(lookup, "in_process", False) is True
