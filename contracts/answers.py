"""The one function that decides whether an answer is permitted for its question.

It is used twice: by the partner adapter before anything leaves the partner, and by the
municipal broker on arrival. An answer must have exactly the asked shape; less is fine (a plain
'nee' always is), anything richer is refused with a machine-readable reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from contracts.enums import AnswerShape, Colour, LifeDomain, Partner, YesNo
from contracts.errors import AnswerRefused, RefusalReason
from contracts.ids import canonical_uuid
from contracts.messages import AnswerItem, Question
from contracts.policy.model import DetailFieldKind

__all__ = ["ANSWER_FIELDS", "check_answer", "permitted_fields"]

_Refuse = Callable[[RefusalReason, str | None], AnswerRefused]

# The optional content fields of an answer, and the one shape that permits each.
_CONTENT_FIELD_SHAPE: dict[str, AnswerShape] = {
    "met_wie": AnswerShape.JA_NEE_MET_WIE,
    "domeinen": AnswerShape.JA_NEE_DOMEINEN,
    "toelichting": AnswerShape.JA_NEE_TOELICHTING,
    "detail": AnswerShape.DETAIL,
}
ANSWER_FIELDS = frozenset({"question_id", "antwoord", *_CONTENT_FIELD_SHAPE})


def permitted_fields(shape: AnswerShape) -> frozenset[str]:
    """The fields an answer of `shape` may carry (besides question_id and antwoord)."""
    return frozenset(f for f, s in _CONTENT_FIELD_SHAPE.items() if s is shape)


def check_answer(
    question: Question, answer: AnswerItem | Mapping[str, Any], colour: Colour | None = None
) -> AnswerItem:
    """Return the answer as a typed AnswerItem if it is permitted, else raise AnswerRefused.

    Empty content (None, "", [], {}) counts as absent and is dropped from the returned item.
    """
    raw = answer.model_dump(mode="json") if isinstance(answer, AnswerItem) else dict(answer)

    def refuse(reason: RefusalReason, field: str | None) -> AnswerRefused:
        return AnswerRefused(
            reason,
            field=field,
            question_id=question.question_id,
            question_key=question.key,
            shape=question.shape,
            colour=colour,
        )

    for field in raw:
        if field not in ANSWER_FIELDS and field != "signature":  # verified by the receiver
            raise refuse(RefusalReason.EXTRA_FIELD, field)
    if _as_uuid(raw.get("question_id")) != question.question_id:
        raise refuse(RefusalReason.UNKNOWN_QUESTION, "question_id")
    antwoord = raw.get("antwoord")
    if antwoord not in (YesNo.JA.value, YesNo.NEE.value):
        raise refuse(RefusalReason.INVALID_VALUE, "antwoord")

    content = {f: v for f, v in raw.items() if f in _CONTENT_FIELD_SHAPE and not _empty(v)}
    allowed = permitted_fields(question.shape)
    for field in content:
        if field not in allowed:
            raise refuse(RefusalReason.FIELD_NOT_PERMITTED, field)
        if antwoord == YesNo.NEE.value:
            raise refuse(RefusalReason.CONTENT_ON_NEE, field)

    _check_values(question, content, refuse)
    payload = {"question_id": str(question.question_id), "antwoord": antwoord, **content}
    try:
        return AnswerItem.model_validate_json(json.dumps(payload))
    except (ValidationError, TypeError) as exc:  # _check_values should have caught it first
        raise refuse(RefusalReason.INVALID_VALUE, None) from exc


def _check_values(question: Question, content: dict[str, Any], refuse: _Refuse) -> None:
    limit = question.text_limit
    if "met_wie" in content:
        _check_members(content["met_wie"], {p.value for p in Partner}, "met_wie", refuse)
    if "domeinen" in content:
        _check_members(content["domeinen"], {d.value for d in LifeDomain}, "domeinen", refuse)
    if "toelichting" in content:
        text = content["toelichting"]
        if not isinstance(text, str):
            raise refuse(RefusalReason.INVALID_VALUE, "toelichting")
        if limit is not None and len(text) > limit:
            raise refuse(RefusalReason.TEXT_TOO_LONG, "toelichting")
    if "detail" in content:
        detail = content["detail"]
        if not isinstance(detail, Mapping):
            raise refuse(RefusalReason.INVALID_VALUE, "detail")
        kinds = {f.name: f.kind for f in question.detail_fields}
        for name, value in detail.items():
            kind = kinds.get(name)
            where = f"detail.{name}"
            if kind is None:
                raise refuse(RefusalReason.UNKNOWN_DETAIL_FIELD, where)
            if not _fits(kind, value):
                raise refuse(RefusalReason.INVALID_VALUE, where)
            if kind is DetailFieldKind.TEKST and limit is not None and len(value) > limit:
                raise refuse(RefusalReason.TEXT_TOO_LONG, where)


def _check_members(values: Any, allowed: set[str], field: str, refuse: _Refuse) -> None:
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise refuse(RefusalReason.INVALID_VALUE, field)
    if any(v not in allowed for v in values) or len(set(values)) != len(values):
        raise refuse(RefusalReason.INVALID_VALUE, field)


def _fits(kind: DetailFieldKind, value: object) -> bool:
    if kind is DetailFieldKind.JA_NEE:
        return isinstance(value, bool)
    if kind is DetailFieldKind.AANTAL:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return isinstance(value, str) and value != ""


def _as_uuid(value: object) -> UUID | None:
    """The canonical form only (contracts.ids): an id must come back as it was sent."""
    return canonical_uuid(value)


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str | list | tuple | dict) and len(value) == 0)
