"""Builders for the municipal use-case tests: invented youths, rounds, answers, outbox reads.

The use cases run their queries on `uow.session`, so they get the real unit of work on the real
schema (SQLite in memory, see conftest.py); these helpers only build inputs and read results.
Every name here is made up.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.enums import AnswerShape, Colour, District, LifeDomain, Partner, Track, YesNo
from contracts.messages import (
    AnswerItem,
    PartnerAnswer,
    Question,
    QuestionSet,
    RefusalNotice,
    RoundResult,
)
from contracts.policy import DetailFieldKind, haarlem_policy
from contracts.topics import RESULTS, answer_topic, refusal_topic
from contracts.wire import decode, encode
from handlers.answers import AnswerReport, handle_answers
from handlers.cases import Criterion, FamilyMember, NewCase, register_case
from handlers.db.tables import Base, OutboxRow, QuestionRow, RoundRow
from handlers.db.uow import DirectMessage, Publish, UnitOfWork
from handlers.dead_letters import Delivery
from handlers.rounds import OpenRound, open_round
from tests.support.signing import partner_keys, sign

__all__ = [
    "ACTOR",
    "DEADLINE",
    "NOW",
    "POLICY",
    "TODAY",
    "Batch",
    "Sessions",
    "all_rows",
    "answer_to",
    "delivered",
    "new_case",
    "new_round",
    "open_round_for",
    "outbox",
    "permitted_answer",
    "process",
    "question_set_of",
    "question_sets",
    "question_statuses",
    "refusal_notices",
    "register",
    "results",
    "round_row",
    "snapshot",
]

Sessions = async_sessionmaker[AsyncSession]
RowT = TypeVar("RowT", bound=Base)
Batch = list[tuple[bytes, Delivery]]

# A fixed clock: every test decides "now" itself, nothing depends on the day it runs.
NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
TODAY = NOW.date()
DEADLINE = dt.timedelta(days=10)
POLICY = haarlem_policy()
ACTOR = "regisseur-test"


def new_case(
    *,
    born: dt.date | None = None,
    track: Track = Track.IAJ,
    informed_on: dt.date | None = TODAY - dt.timedelta(days=7),
    colour: Colour | None = None,
    family: int | None = None,
) -> NewCase:
    """An invented youth: 17 unless `born` says otherwise, informed a week ago by default.

    The label is groen (rood on the BIT track) unless `colour` says otherwise; the criteria
    are those the label needs; two family members when the label involves the family."""
    label = colour or (Colour.ROOD if track is Track.BIT else Colour.GROEN)
    criteria = [Criterion.POLITIECONTACTEN]
    if label is Colour.ROOD or track is Track.BIT:
        criteria.append(Criterion.GEDRAG_GECONTINUEERD)
    if family is None:
        family = 2 if POLICY.label_rule(label).family else 0
    return NewCase(
        naam="Ravi Verzonnenhuis",
        geboortedatum=born or dt.date(TODAY.year - 17, 5, 20),
        district=District.NOORD,
        track=track,
        criteria=tuple(criteria),
        colour=label,
        family=tuple(
            FamilyMember(naam=f"Gezinslid Verzonnenhuis {i}", geboortedatum=dt.date(1979 + i, 2, 3))
            for i in range(1, family + 1)
        ),
        informed_on=informed_on,
    )


async def register(
    sessions: Sessions, case: NewCase | None = None, *, today: dt.date = TODAY
) -> str:
    async with UnitOfWork(sessions) as uow:
        case_id = await register_case(
            uow, case or new_case(), actor=ACTOR, today=today, policy=POLICY
        )
        await uow.commit()
    return case_id


async def open_round_for(
    sessions: Sessions,
    case_id: str,
    colour: Colour | None = None,
    *,
    now: dt.datetime = NOW,
    command_id: str | None = None,
) -> str:
    async with UnitOfWork(sessions) as uow:
        round_id, _ = await open_round(
            uow,
            POLICY,
            OpenRound(case_id=case_id, colour=colour, actor=ACTOR, command_id=command_id),
            now=now,
            deadline=DEADLINE,
        )
        await uow.commit()
    return round_id


async def new_round(
    sessions: Sessions, colour: Colour = Colour.GROEN, *, now: dt.datetime = NOW
) -> str:
    """A registered, informed youth labelled `colour`, with a round opened at `now`."""
    case_id = await register(sessions, new_case(colour=colour))
    return await open_round_for(sessions, case_id, colour, now=now)


async def outbox(sessions: Sessions, topic: str | None = None) -> list[OutboxRow]:
    """The outbox rows (no relay runs in these tests), in the order they were written."""
    query = select(OutboxRow).order_by(OutboxRow.id)
    if topic is not None:
        query = query.where(OutboxRow.topic == topic)
    async with sessions() as session:
        return list((await session.scalars(query)).all())


async def question_sets(sessions: Sessions, round_id: str) -> list[QuestionSet]:
    """The question sets of the round waiting in the outbox."""
    async with sessions() as session:
        payloads = await session.scalars(
            select(OutboxRow.payload)
            .where(OutboxRow.topic.like("iaj.questions.%"))
            .order_by(OutboxRow.id)
        )
        decoded = [decode(p) for p in payloads]
    return [qs for qs in decoded if isinstance(qs, QuestionSet) and str(qs.round_id) == round_id]


def question_set_of(sets: Sequence[QuestionSet], partner: Partner) -> QuestionSet:
    (found,) = [qs for qs in sets if qs.partner is partner]
    return found


async def results(sessions: Sessions, round_id: str) -> list[RoundResult]:
    """The round results of the round waiting in the outbox (there must be at most one)."""
    decoded = [decode(row.payload) for row in await outbox(sessions, RESULTS)]
    return [r for r in decoded if isinstance(r, RoundResult) and str(r.round_id) == round_id]


async def refusal_notices(sessions: Sessions, partner: Partner) -> list[RefusalNotice]:
    decoded = [decode(row.payload) for row in await outbox(sessions, refusal_topic(partner))]
    return [n for n in decoded if isinstance(n, RefusalNotice)]


async def all_rows(sessions: Sessions, model: type[RowT]) -> list[RowT]:
    """Every row of `model`'s table."""
    async with sessions() as session:
        return list((await session.scalars(select(model))).all())


async def round_row(sessions: Sessions, round_id: str) -> RoundRow:
    async with sessions() as session:
        row = await session.get(RoundRow, round_id)
    assert row is not None, f"no round {round_id}"
    return row


async def question_statuses(sessions: Sessions, round_id: str) -> dict[tuple[str, str, str], str]:
    """(partner, key, subject_ref) -> status, for every question of the round."""
    async with sessions() as session:
        rows = await session.scalars(select(QuestionRow).where(QuestionRow.round_id == round_id))
        return {(q.partner, q.key, q.subject_ref): q.status for q in rows}


async def snapshot(sessions: Sessions) -> dict[str, object]:
    """Row counts of every table, plus every round's state and every question's status: equal
    snapshots mean nothing was inserted, and no round or question moved on."""
    async with sessions() as session:
        counts = {
            table.name: await session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        }
        rounds = sorted((r.id, r.state) for r in await session.scalars(select(RoundRow)))
        questions = sorted((q.id, q.status) for q in await session.scalars(select(QuestionRow)))
    return {"counts": counts, "rounds": rounds, "questions": questions}


def permitted_answer(question: Question, antwoord: YesNo = YesNo.JA) -> AnswerItem:
    """The richest answer the question's shape permits (a plain nee for 'nee')."""
    content: dict[str, Any] = {}
    if antwoord is YesNo.JA:
        if question.shape is AnswerShape.JA_NEE_MET_WIE:
            content["met_wie"] = (Partner.CJG, Partner.SWT)
        elif question.shape is AnswerShape.JA_NEE_DOMEINEN:
            content["domeinen"] = (LifeDomain.HUISVESTING,)
        elif question.shape is AnswerShape.JA_NEE_TOELICHTING:
            content["toelichting"] = "Verzonnen toelichting."
        elif question.shape is AnswerShape.DETAIL:
            content["detail"] = {
                f.name: {
                    DetailFieldKind.JA_NEE: True,
                    DetailFieldKind.AANTAL: 1,
                    DetailFieldKind.TEKST: "verzonnen",
                }[f.kind]
                for f in question.detail_fields
            }
    return AnswerItem(question_id=question.question_id, antwoord=antwoord, **content)


def answer_to(
    qs: QuestionSet, antwoord: YesNo = YesNo.JA, *, items: Sequence[AnswerItem] | None = None
) -> PartnerAnswer:
    """The partner's reply to its question set: every question answered, unless `items`."""
    return PartnerAnswer(
        round_id=qs.round_id,
        correlation_id=qs.correlation_id,
        policy=qs.policy,
        created_at=NOW,
        partner=qs.partner,
        in_reply_to=qs.message_id,
        answers=tuple(items or [permitted_answer(q, antwoord) for q in qs.questions]),
    )


_offsets = itertools.count()


def delivered(
    message: PartnerAnswer | dict[str, Any] | bytes, topic_of: Partner
) -> tuple[bytes, Delivery]:
    """The message as consumed from `topic_of`'s answer topic, at a new log position.

    A dict is sent as JSON as it is: that is how a partner sends what no model permits.
    """
    if isinstance(message, PartnerAnswer):
        raw = signed(encode(message))
    elif isinstance(message, dict):
        raw = signed(json.dumps(message).encode())
    else:
        raw = message
    return raw, Delivery(topic=answer_topic(topic_of), partition=0, offset=next(_offsets))


def signed(raw: bytes) -> bytes:
    """Signed by the partner the message names, as its adapter does (if it names one and
    has items to sign; a malformed message is left as it is)."""
    message = json.loads(raw)
    partners = {p.value: p for p in Partner}
    items = message.get("answers")
    if message.get("partner") not in partners or not isinstance(items, list):
        return raw
    if not all(isinstance(item, dict) for item in items):
        return raw
    return sign(partners[message["partner"]], raw)


def collecting(published: list[DirectMessage]) -> Publish:
    """A stand-in for the service's producer: keeps what would have gone to Kafka."""

    async def publish(message: DirectMessage) -> None:
        published.append(message)

    return publish


async def process(
    sessions: Sessions,
    batch: Batch,
    *,
    now: dt.datetime = NOW,
    commit: bool = True,
    published: list[DirectMessage] | None = None,
    publish: Publish | None = None,
) -> list[AnswerReport]:
    """One batch of answer messages in one unit of work, as the service's consumer does;
    what it publishes straight to Kafka (dead letters) lands in `published`."""
    publish = publish or collecting([] if published is None else published)
    async with UnitOfWork(sessions, publish) as uow:
        reports = await handle_answers(uow, batch, now, partner_keys())
        if commit:
            await uow.commit()
    return reports
