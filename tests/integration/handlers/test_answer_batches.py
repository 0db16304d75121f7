"""Answers are processed in batches, one transaction each: a batch must have exactly the effects
of the same messages processed one by one, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import uuid
from collections.abc import Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.enums import Colour, Partner, YesNo
from contracts.messages import PartnerAnswer, QuestionSet
from contracts.policy import haarlem_policy
from contracts.topics import RESULTS, answer_topic, question_topic
from contracts.wire import decode, encode
from handlers.answers import handle_answers
from handlers.cases import register_case
from handlers.db.tables import AnswerRow, InboxRow, OutboxRow, QuestionRow, RefusalRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery
from handlers.rounds import OpenRound, open_round
from tests.integration.broker.service.conftest import synthetic_case
from tests.integration.broker.service.partners import permitted_answer
from tests.support.signing import partner_keys, sign

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC)
Sessions = async_sessionmaker[AsyncSession]


async def _open_round(sessions: Sessions, colour: Colour) -> str:
    async with UnitOfWork(sessions) as uow:
        case_id = await register_case(
            uow,
            synthetic_case(colour=colour),
            actor="test",
            today=NOW.date(),
            policy=haarlem_policy(),
        )
        round_id, _ = await open_round(
            uow,
            haarlem_policy(),
            OpenRound(case_id=case_id, colour=colour, actor="test"),
            now=NOW,
            deadline=dt.timedelta(days=10),
        )
        await uow.commit()
    return round_id


async def _question_sets(sessions: Sessions, round_id: str) -> list[QuestionSet]:
    """The question sets of the round waiting in the outbox (no relay runs here)."""
    async with sessions() as session:
        payloads = await session.scalars(
            select(OutboxRow.payload)
            .where(OutboxRow.topic.like("iaj.questions.%"))
            .order_by(OutboxRow.id)
        )
        sets = [decode(p) for p in payloads]
    return [qs for qs in sets if isinstance(qs, QuestionSet) and str(qs.round_id) == round_id]


def _answer(qs: QuestionSet, antwoord: YesNo = YesNo.JA) -> PartnerAnswer:
    return PartnerAnswer(
        round_id=qs.round_id,
        correlation_id=qs.correlation_id,
        policy=qs.policy,
        partner=qs.partner,
        in_reply_to=qs.message_id,
        answers=tuple(permitted_answer(q, antwoord) for q in qs.questions),
    )


_offsets = iter(range(1_000_000))


def _delivered(answer: PartnerAnswer | bytes, partner: Partner) -> tuple[bytes, Delivery]:
    raw = answer if isinstance(answer, bytes) else sign(answer.partner, encode(answer))
    return raw, Delivery(topic=answer_topic(partner), partition=0, offset=next(_offsets))


async def _process(sessions: Sessions, batch: Sequence[tuple[bytes, Delivery]]) -> None:
    async with UnitOfWork(sessions) as uow:
        await handle_answers(uow, batch, NOW, partner_keys())
        await uow.commit()


async def _round_effects(sessions: Sessions, round_id: str) -> dict[str, object]:
    """What a round's answers caused, in terms that do not depend on generated ids."""
    async with sessions() as session:
        state = await session.scalar(select(RoundRow.state).where(RoundRow.id == round_id))
        questions = sorted(
            (q.partner, q.key, q.subject_ref, q.status)
            for q in await session.scalars(
                select(QuestionRow).where(QuestionRow.round_id == round_id)
            )
        )
        answers = await session.scalar(
            select(func.count()).select_from(AnswerRow).where(AnswerRow.round_id == round_id)
        )
        refusals = sorted(
            (r.partner, r.reason)
            for r in await session.scalars(
                select(RefusalRow).where(RefusalRow.round_id == round_id)
            )
        )
        results = [
            p
            for p in await session.scalars(
                select(OutboxRow.payload).where(OutboxRow.topic == RESULTS)
            )
            if round_id.encode() in p
        ]
    return {
        "state": state,
        "questions": questions,
        "answers": answers,
        "refusals": refusals,
        "results": len(results),
    }


async def _messages_for_a_full_round(
    sessions: Sessions, round_id: str, *, batch: bool
) -> list[tuple[bytes, Delivery]]:
    """Answers for every question set, a richer (refused) one, a repeat, and — after the
    Verwijsindex's ja — the CJG question that becomes due; processed as one batch or one by one."""
    sets = await _question_sets(sessions, round_id)
    messages: list[tuple[bytes, Delivery]] = []
    for qs in sets:
        answer = _answer(qs)
        messages.append(_delivered(answer, qs.partner))
        if qs.partner is Partner.LEERPLICHT:
            messages.append(_delivered(answer, qs.partner))  # a producer retry: same message id
    swt = next(qs for qs in sets if qs.partner is Partner.SWT)
    richer = _answer(swt).model_dump(mode="json")
    richer["answers"][0]["toelichting"] = "meer dan het label toestaat"
    richer["message_id"] = str(uuid.uuid4())
    messages.append(_delivered(sign(Partner.SWT, json.dumps(richer).encode()), Partner.SWT))
    if batch:
        await _process(sessions, messages)
    else:
        for message in messages:
            await _process(sessions, [message])
    return messages


async def test_a_batch_has_the_effects_of_its_messages_one_by_one(sessions: Sessions) -> None:
    batched = await _open_round(sessions, Colour.ORANJE)
    single = await _open_round(sessions, Colour.ORANJE)
    await _messages_for_a_full_round(sessions, batched, batch=True)
    await _messages_for_a_full_round(sessions, single, batch=False)

    batched_effects = await _round_effects(sessions, batched)
    assert batched_effects == await _round_effects(sessions, single)
    # And those effects are the right ones: every question answered once but the CJG
    # question, which the Verwijsindex's ja opened and which now waits for its answer.
    statuses = {(q[0], q[1], q[2]): q[3] for q in batched_effects["questions"]}  # type: ignore[attr-defined]
    assert statuses.pop((Partner.CJG.value, "vir_match_bekend", "jongere")) == "open"
    assert set(statuses.values()) == {"answered"}
    assert batched_effects["answers"] == len(statuses)
    # The richer item is refused; the others it repeats were answered before (and said so).
    refusals = batched_effects["refusals"]
    assert isinstance(refusals, list)
    assert refusals.count((Partner.SWT.value, "field_not_permitted")) == 1
    assert set(refusals) <= {
        (Partner.SWT.value, "field_not_permitted"),
        (Partner.SWT.value, "already_answered"),
    }
    assert batched_effects["state"] == "open"
    assert batched_effects["results"] == 0


async def test_a_repeated_message_in_one_batch_is_counted_once(sessions: Sessions) -> None:
    round_id = await _open_round(sessions, Colour.GROEN)
    leerplicht = next(
        qs for qs in await _question_sets(sessions, round_id) if qs.partner is Partner.LEERPLICHT
    )
    answer = _answer(leerplicht)
    await _process(
        sessions, [_delivered(answer, Partner.LEERPLICHT), _delivered(answer, Partner.LEERPLICHT)]
    )
    async with sessions() as session:
        stored = await session.scalar(
            select(func.count()).select_from(AnswerRow).where(AnswerRow.round_id == round_id)
        )
        inbox = await session.scalar(
            select(func.count())
            .select_from(InboxRow)
            .where(InboxRow.message_key == f"answer:{answer.message_id}")
        )
    assert stored == len(leerplicht.questions)
    assert inbox == 1


async def test_the_last_answers_of_a_round_in_one_batch_complete_it_once(
    sessions: Sessions,
) -> None:
    round_id = await _open_round(sessions, Colour.GROEN)
    sets = await _question_sets(sessions, round_id)
    # Nee from the Verwijsindex: the CJG question that waits on a ja is dropped, not issued.
    batch = [
        _delivered(
            _answer(qs, YesNo.NEE if qs.partner is Partner.VERWIJSINDEX else YesNo.JA), qs.partner
        )
        for qs in sets
    ]
    await _process(sessions, batch)
    await _process(sessions, batch)  # the whole batch delivered again after a crash
    effects = await _round_effects(sessions, round_id)
    assert effects["state"] == "complete"
    assert effects["results"] == 1
    assert not [q for q in effects["questions"] if q[3] in ("open", "waiting")]  # type: ignore[attr-defined]
    assert {question_topic(qs.partner) for qs in sets} == {
        question_topic(p) for p in haarlem_policy().partners(Colour.GROEN) if p is not Partner.CJG
    }


_KINDS = ("ja", "nee", "repeat", "new_id", "wrong_topic", "unknown_question")


def _script(rng: random.Random, partners: int) -> list[tuple[int, str]]:
    """A random sequence of what partners send: (which question set, what kind of message)."""
    return [(rng.randrange(partners), rng.choice(_KINDS)) for _ in range(rng.randint(3, 30))]


def _concrete(
    sets: Sequence[QuestionSet], script: Sequence[tuple[int, str]]
) -> list[tuple[bytes, Delivery]]:
    """The script's messages for one round's question sets."""
    messages: list[tuple[bytes, Delivery]] = []
    last: dict[int, PartnerAnswer] = {}
    for index, kind in script:
        qs = sets[index]
        previous = last.get(index) or _answer(qs)
        if kind in ("ja", "nee"):
            answer = _answer(qs, YesNo.JA if kind == "ja" else YesNo.NEE)
        elif kind == "repeat":
            answer = previous  # the same message id again
        elif kind == "new_id":
            answer = previous.model_copy(update={"message_id": uuid.uuid4()})
        elif kind == "wrong_topic":
            other = sets[(index + 1) % len(sets)].partner
            messages.append(_delivered(_answer(qs), other))
            continue
        else:
            unknown = permitted_answer(qs.questions[0]).model_copy(
                update={"question_id": uuid.uuid4()}
            )
            answer = _answer(qs).model_copy(
                update={"message_id": uuid.uuid4(), "answers": (unknown,)}
            )
        last[index] = answer
        messages.append(_delivered(answer, qs.partner))
    return messages


def _split(
    rng: random.Random, messages: list[tuple[bytes, Delivery]]
) -> list[list[tuple[bytes, Delivery]]]:
    cuts = sorted(rng.sample(range(1, len(messages)), k=rng.randint(0, len(messages) - 1)))
    bounds = [0, *cuts, len(messages)]
    return [messages[a:b] for a, b in itertools.pairwise(bounds)]


async def test_random_message_sequences_have_the_same_effects_batched_or_one_by_one(
    sessions: Sessions,
) -> None:
    """Twenty random sequences of answers, repeats, re-sends under a new id, answers on the
    wrong topic and answers to unknown questions, split into random batches: each leaves its
    round exactly as the same sequence handled one message at a time."""
    for seed in range(20):
        rng = random.Random(seed)
        colour = rng.choice(list(Colour))
        batched, single = await _open_round(sessions, colour), await _open_round(sessions, colour)
        batched_sets = await _question_sets(sessions, batched)
        single_sets = await _question_sets(sessions, single)
        script = _script(rng, len(batched_sets))
        for batch in _split(rng, _concrete(batched_sets, script)):
            await _process(sessions, batch)
        for message in _concrete(single_sets, script):
            await _process(sessions, [message])
        assert await _round_effects(sessions, batched) == await _round_effects(sessions, single), (
            f"seed {seed}: {script}"
        )
