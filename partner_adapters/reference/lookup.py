"""Reference lookups over the synthetic data: a well-behaved one, and one that over-shares.

`ReferenceLookup` is what a partner's own lookup should look like: find the person by name and
date of birth, and answer exactly what each question's shape permits (an unknown person gets
'nee'). `OversharingLookup` answers with everything its system knows, the way a careless
integration would; the adapter refuses those answers at source (see the demo and the tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from contracts import AnswerShape, Partner, Question, YesNo, permitted_fields
from partner_adapters.lookup import LookupAnswer, LookupRequest
from partner_adapters.reference.records import Person, load_records, person_key

__all__ = ["OversharingLookup", "ReferenceLookup", "shape_answer"]


class ReferenceLookup:
    """Answers from `partner_adapters/reference/data/<partner>.json` (or `data_dir`)."""

    in_process: ClassVar[bool] = True  # answers from memory: the adapter does not retry it

    def __init__(self, data_dir: Path | None = None) -> None:
        self._data_dir = data_dir
        self._people: dict[Partner, dict[Any, Person]] = {}

    async def lookup(self, request: LookupRequest) -> Sequence[LookupAnswer]:
        people = await self._index(request.partner)
        answers = []
        for question in request.questions:
            subject = request.subject_of(question)
            person = people.get(person_key(subject.naam, subject.geboortedatum))
            record = None if person is None else person.record(question.key)
            answers.append(self.answer_for(question, record))
        return answers

    def answer_for(self, question: Question, record: Mapping[str, Any] | None) -> LookupAnswer:
        return shape_answer(question, record)

    async def _index(self, partner: Partner) -> dict[Any, Person]:
        if partner not in self._people:
            records = await asyncio.to_thread(load_records, partner, self._data_dir)
            self._people[partner] = dict(records.index())
        return self._people[partner]


def shape_answer(question: Question, record: Mapping[str, Any] | None) -> dict[str, Any]:
    """The answer to `question` from what a system knows, with exactly the permitted fields."""
    answer: dict[str, Any] = {"question_id": str(question.question_id)}
    if record is None or record.get("antwoord") != YesNo.JA.value:
        return {**answer, "antwoord": YesNo.NEE.value}
    answer["antwoord"] = YesNo.JA.value
    limit = question.text_limit
    for field in permitted_fields(question.shape):
        value = record.get(field)
        if field == "toelichting" and isinstance(value, str):
            value = _clip(value, limit)
        if field == "detail" and isinstance(value, Mapping):
            kinds = {f.name: f.kind for f in question.detail_fields}
            value = {
                name: _clip(v, limit) if isinstance(v, str) else v
                for name, v in value.items()
                if name in kinds
            }
        if value:
            answer[field] = value
    return answer


def _clip(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


class OversharingLookup(ReferenceLookup):
    """Over-shares on purpose: the whole record, a toelichting on every 'ja', richer detail.

    For the demo and tests only. The adapter sends none of the over-shared answers; a plain
    'nee', or a 'ja' whose question happens to permit all of it, still goes through.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        toelichting: str = "Uitgebreide toelichting uit het dossier (fictief).",
        extra_detail: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(data_dir)
        self._toelichting = toelichting
        self._extra_detail = dict(extra_detail or {"dossiernummer": "FICTIEF-0001"})

    def answer_for(self, question: Question, record: Mapping[str, Any] | None) -> LookupAnswer:
        answer: dict[str, Any] = {"question_id": str(question.question_id), "antwoord": "nee"}
        answer.update(record or {})
        if answer["antwoord"] == YesNo.JA.value:
            answer.setdefault("toelichting", self._toelichting)
            if question.shape is AnswerShape.DETAIL:
                answer["detail"] = {**answer.get("detail", {}), **self._extra_detail}
        return answer
