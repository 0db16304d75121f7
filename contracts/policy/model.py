"""Typed form of the policy file. Per-entry rules here; cross-entry rules are in the loader."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Iterator
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.enums import AnswerShape, Colour, Criterion, Partner, SubjectRole, Track, YesNo

__all__ = [
    "AskedQuestion",
    "Condition",
    "DetailField",
    "DetailFieldKind",
    "LabelRule",
    "Policy",
    "PolicyQuestion",
    "PolicyRef",
    "TrackRule",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_KEY_PATTERN = r"^[a-z][a-z0-9_]*$"


class DetailFieldKind(StrEnum):
    JA_NEE = "ja_nee"
    AANTAL = "aantal"  # a non-negative whole number
    TEKST = "tekst"  # bounded text, `detail_text_max_chars`


class DetailField(BaseModel):
    model_config = _FROZEN
    name: str = Field(pattern=_KEY_PATTERN)
    kind: DetailFieldKind


class Condition(BaseModel):
    """Ask only after `partner` answered `answer` to its question `key` in the same round."""

    model_config = _FROZEN
    partner: Partner
    key: str = Field(pattern=_KEY_PATTERN)
    answer: YesNo


class PolicyRef(BaseModel):
    """Which policy a message was made under."""

    model_config = _FROZEN
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="e.g. 'haarlem-iaj'")
    version: int = Field(ge=1)


class PolicyQuestion(BaseModel):
    """One [[question]] entry: a partner's topic, with its shape per colour."""

    model_config = _FROZEN
    partner: Partner
    key: str = Field(pattern=_KEY_PATTERN)
    subject: SubjectRole
    text: str = Field(min_length=1)
    shapes: dict[Colour, AnswerShape] = Field(min_length=1)
    after: Condition | None = None
    detail_fields: tuple[DetailField, ...] = ()
    # The partner needs the youth's address to answer: only then is it sent (with its reason).
    needs_address: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> PolicyQuestion:
        uses_detail = AnswerShape.DETAIL in self.shapes.values()
        if uses_detail and not self.detail_fields:
            raise ValueError("shape 'detail' needs `detail_fields` naming the closed set of fields")
        if self.detail_fields and not uses_detail:
            raise ValueError("`detail_fields` given but no colour asks the shape 'detail'")
        names = [f.name for f in self.detail_fields]
        if len(names) != len(set(names)):
            raise ValueError("`detail_fields` names a field twice")
        if self.subject is SubjectRole.GEZINSLID and Colour.GROEN in self.shapes:
            raise ValueError("family members are only asked about in oranje and rood, not groen")
        if self.needs_address and self.after is not None:
            # A follow-up is issued when an answer arrives, from the round alone (reading).
            raise ValueError("a question asked `after` another cannot have `needs_address`")
        if self.needs_address and Colour.GROEN in self.shapes:
            raise ValueError("an address is never sent in groen: `needs_address` with groen")
        return self

    def shrinking_colour(self) -> tuple[Colour, Colour] | None:
        """The first (lower, higher) colour pair where the higher permits less, if any."""
        previous: tuple[Colour, AnswerShape] | None = None
        for colour in Colour:
            shape = self.shapes.get(colour)
            if previous is not None and (shape is None or not shape.covers(previous[1])):
                return previous[0], colour
            if shape is not None:
                previous = (colour, shape)
        return None


class TrackRule(BaseModel):
    """A [[track]] entry: who the track takes (age, criteria) and which labels it permits."""

    model_config = _FROZEN
    track: Track
    below_age: int = Field(ge=1, le=120, description="the first age the track no longer takes")
    criteria_any: tuple[Criterion, ...] = Field(
        min_length=1, description="at least one of these must be recorded for a case"
    )
    colours: tuple[Colour, ...] = Field(min_length=1)


class LabelRule(BaseModel):
    """A [[label]] entry: what a colour needs recorded, and whether it involves the family."""

    model_config = _FROZEN
    colour: Colour
    criteria_any: tuple[Criterion, ...] = Field(
        default=(), description="empty: no criterion beyond the track's"
    )
    family: bool = Field(description="family members may be registered and asked about")


class AskedQuestion(BaseModel):
    """A policy question resolved for one colour: what a partner is actually asked."""

    model_config = _FROZEN
    partner: Partner
    key: str
    subject: SubjectRole
    text: str
    shape: AnswerShape
    after: Condition | None = None
    detail_fields: tuple[DetailField, ...] = ()
    needs_address: bool = False


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(min_length=1)
    version: int = Field(ge=1)
    effective_from: dt.date
    toelichting_max_chars: int = Field(ge=1, le=2000)
    detail_text_max_chars: int = Field(ge=1, le=2000)
    adres_reden_min_chars: int = Field(ge=1, le=280)
    track: tuple[TrackRule, ...] = Field(min_length=1)
    label: tuple[LabelRule, ...] = Field(min_length=1)
    questions: tuple[PolicyQuestion, ...]

    @model_validator(mode="after")
    def _every_track_and_label_once(self) -> Policy:
        for name, values, every in (
            ("track", [t.track for t in self.track], list(Track)),
            ("label", [lbl.colour for lbl in self.label], list(Colour)),
        ):
            if sorted(values) != sorted(every):
                raise ValueError(f"write exactly one [[{name}]] for each of {[*map(str, every)]}")
        return self

    def track_rule(self, track: Track) -> TrackRule:
        return next(t for t in self.track if t.track is track)

    def label_rule(self, colour: Colour) -> LabelRule:
        return next(lbl for lbl in self.label if lbl.colour is colour)

    def refuses_case(self, track: Track, criteria: Iterable[Criterion]) -> str | None:
        """Why the recorded criteria do not admit a case to `track`, or None."""
        rule = self.track_rule(track)
        if set(criteria) & set(rule.criteria_any):
            return None
        return (
            f"the {track.value.upper()} track needs at least one of these criteria recorded: "
            f"{', '.join(c.value for c in rule.criteria_any)}"
        )

    def refuses_label(
        self, track: Track, colour: Colour, criteria: Iterable[Criterion]
    ) -> str | None:
        """Why a case on `track` with `criteria` may not have label `colour`, or None."""
        rule = self.track_rule(track)
        if colour not in rule.colours:
            return (
                f"the {track.value.upper()} track permits only "
                f"{', '.join(c.value for c in rule.colours)}, not {colour.value}"
            )
        needed = self.label_rule(colour).criteria_any
        if needed and not set(criteria) & set(needed):
            return (
                f"{colour.value} needs at least one of these criteria recorded: "
                f"{', '.join(c.value for c in needed)}"
            )
        return self.refuses_case(track, criteria)

    @property
    def ref(self) -> PolicyRef:
        return PolicyRef(id=self.id, version=self.version)

    def asked(
        self,
        colour: Colour,
        partner: Partner | None = None,
        subject: SubjectRole | None = None,
    ) -> list[AskedQuestion]:
        """Every question asked at `colour`, optionally of one partner or about one subject role."""
        return list(_asked_of(_Same(self), colour, partner, subject))

    def _asked(
        self, colour: Colour, partner: Partner | None, subject: SubjectRole | None
    ) -> Iterator[AskedQuestion]:
        for q in self.questions:
            shape = q.shapes.get(colour)
            if shape is None or (partner and q.partner is not partner):
                continue
            if subject and q.subject is not subject:
                continue
            yield AskedQuestion(
                partner=q.partner,
                key=q.key,
                subject=q.subject,
                text=q.text,
                shape=shape,
                after=q.after,
                detail_fields=q.detail_fields if shape is AnswerShape.DETAIL else (),
                needs_address=q.needs_address,
            )

    def text_limit(self, shape: AnswerShape) -> int | None:
        """The max characters of free text an answer of `shape` may carry, if it carries any."""
        if shape is AnswerShape.JA_NEE_TOELICHTING:
            return self.toelichting_max_chars
        if shape is AnswerShape.DETAIL:
            return self.detail_text_max_chars
        return None

    def partners(self, colour: Colour) -> list[Partner]:
        """Partners asked anything at `colour`, in the order of the Partner enum."""
        asked = {q.partner for q in self.questions if colour in q.shapes}
        return [p for p in Partner if p in asked]


class _Same:
    """A policy as a cache key: this very object (a policy is frozen; an equal copy is built
    again once). The cache holds it, so its id cannot be reused while it is a key."""

    __slots__ = ("policy",)

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def __hash__(self) -> int:
        return id(self.policy)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.policy is self.policy


@functools.lru_cache(maxsize=256)
def _asked_of(
    same: _Same, colour: Colour, partner: Partner | None, subject: SubjectRole | None
) -> tuple[AskedQuestion, ...]:
    # Asked for every question set and every round: built once per policy and selection.
    return tuple(same.policy._asked(colour, partner, subject))
