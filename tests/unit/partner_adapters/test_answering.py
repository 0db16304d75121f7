"""The core: each question set answered once, by message id; bad input recorded, not answered."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from pathlib import Path

import aiosqlite
import pytest

from contracts import AnswerShape, Colour, Partner, PolicyRef, RefusalReason, decode, encode
from partner_adapters.answering import (
    AnsweringStatus,
    RejectionReason,
    answer_question_set,
    receive,
)
from partner_adapters.delivery import deliver_outbox
from partner_adapters.errors import WrongStateFile
from partner_adapters.reference import ReferenceLookup
from partner_adapters.state import AdapterStore, KafkaPosition, OutboxEntry
from tests.unit.partner_adapters.builders import question_set
from tests.unit.partner_adapters.conftest import FAST_RETRY, OpenStore
from tests.unit.partner_adapters.lookups import ScriptedLookup


async def test_the_answer_replies_to_the_question_set(open_store: OpenStore) -> None:
    qs = question_set(Partner.VEILIGHEIDSHUIS, Colour.ORANJE)
    async with open_store(Partner.VEILIGHEIDSHUIS) as store:
        outcome = await answer_question_set(qs, ReferenceLookup(), store, retry=FAST_RETRY)
        unsent = await store.unsent()

    message = outcome.message
    assert message is not None
    assert message.in_reply_to == qs.message_id
    assert (message.round_id, message.correlation_id, message.policy, message.partner) == (
        qs.round_id,
        qs.correlation_id,
        qs.policy,
        Partner.VEILIGHEIDSHUIS,
    )
    assert [i.question_id for i in message.answers] == [q.question_id for q in qs.questions]
    assert [e.message_id for e in unsent] == [message.message_id]
    assert decode(unsent[0].payload) == message


async def test_the_answer_message_id_is_the_same_for_the_same_answer(tmp_path: Path) -> None:
    qs = question_set(Partner.RIEC, Colour.ROOD)
    ids = []
    for name in ("first.db", "second.db"):  # e.g. the state file was lost in between
        store = await AdapterStore.open(tmp_path / name, Partner.RIEC)
        try:
            outcome = await answer_question_set(qs, ReferenceLookup(), store, retry=FAST_RETRY)
        finally:
            await store.close()
        assert outcome.message is not None
        ids.append(outcome.message.message_id)
    assert ids[0] == ids[1]


async def test_a_question_set_for_another_partner_is_recorded_not_answered(
    open_store: OpenStore,
) -> None:
    lookup = ReferenceLookup()
    qs = question_set(Partner.OM, Colour.ROOD)
    async with open_store(Partner.CJIB) as store:
        outcome = await answer_question_set(qs, lookup, store, retry=FAST_RETRY)
        status = await store.status(qs.created_at)
        assert await store.unsent() == []

    assert outcome.status is AnsweringStatus.REJECTED
    assert outcome.rejection is not None
    assert outcome.rejection.reason == RejectionReason.WRONG_PARTNER
    assert (status.rejected, status.question_sets_received) == (1, 0)
    assert status.recent_rejections[0].rejection.message_id == qs.message_id


async def test_unreadable_bytes_are_recorded_and_the_next_set_is_answered(
    open_store: OpenStore,
) -> None:
    good = question_set(Partner.CJG, Colour.GROEN)
    position = KafkaPosition("iaj.questions.cjg", 0, 41)
    async with open_store(Partner.CJG) as store:
        bad = await receive(b"\xff\x00 not json", ReferenceLookup(), store, position=position)
        wrong_type = await receive(b'{"type": "nonsense"}', ReferenceLookup(), store)
        answered = await receive(encode(good), ReferenceLookup(), store, retry=FAST_RETRY)
        status = await store.status(good.created_at)

    assert bad.status is AnsweringStatus.REJECTED
    assert bad.rejection is not None
    assert (bad.rejection.reason, bad.rejection.position) == ("not_json", position)
    assert wrong_type.rejection is not None
    assert wrong_type.rejection.reason == "unknown_type"
    assert answered.status is AnsweringStatus.ANSWERED
    assert (status.rejected, status.question_sets_answered) == (2, 1)


async def test_a_message_of_another_type_on_the_question_topic_is_rejected(
    open_store: OpenStore,
) -> None:
    qs = question_set(Partner.RIEC, Colour.ROOD)
    async with open_store(Partner.RIEC) as store:
        answer = await answer_question_set(qs, ReferenceLookup(), store, retry=FAST_RETRY)
        assert answer.message is not None
        outcome = await receive(encode(answer.message), ReferenceLookup(), store)

    assert outcome.rejection is not None
    assert outcome.rejection.reason == RejectionReason.UNEXPECTED_TYPE


async def test_a_set_read_after_its_deadline_is_not_answered(open_store: OpenStore) -> None:
    qs = question_set(Partner.RIEC, Colour.ROOD, deadline=dt.datetime.now(dt.UTC))
    async with open_store(Partner.RIEC) as store:
        outcome = await answer_question_set(qs, ReferenceLookup(), store)
    assert outcome.rejection is not None
    assert outcome.rejection.reason == RejectionReason.DEADLINE_PASSED


async def test_a_republished_set_is_not_answered_twice_even_after_a_restart(
    open_store: OpenStore,
) -> None:
    qs = question_set(Partner.SWT, Colour.ORANJE)
    lookup = ReferenceLookup()
    async with open_store(Partner.SWT) as store:
        first = await answer_question_set(qs, lookup, store, retry=FAST_RETRY)
        again = await answer_question_set(qs, lookup, store, retry=FAST_RETRY)
    async with open_store(Partner.SWT) as restarted:
        after_restart = await receive(encode(qs), lookup, restarted, retry=FAST_RETRY)
        unsent = await restarted.unsent()
        status = await restarted.status(qs.created_at)

    assert first.status is AnsweringStatus.ANSWERED
    assert again.status is AnsweringStatus.DUPLICATE
    assert after_restart.status is AnsweringStatus.DUPLICATE
    assert len(unsent) == 1
    assert status.question_sets_received == 1


async def test_the_primary_key_decides_a_duplicate_also_when_two_processes_race(
    open_store: OpenStore,
) -> None:
    """No read before the insert: the question set's primary key decides which one records it."""
    qs = question_set(Partner.SWT, Colour.GROEN)
    async with open_store(Partner.SWT) as one, open_store(Partner.SWT) as other:
        raced = await asyncio.gather(
            answer_question_set(qs, ReferenceLookup(), one, retry=FAST_RETRY),
            answer_question_set(qs, ReferenceLookup(), other, retry=FAST_RETRY),
        )
        assert sorted(o.status for o in raced) == sorted(
            [AnsweringStatus.ANSWERED, AnsweringStatus.DUPLICATE]
        )
        assert len(await one.unsent()) == 1
        assert (await other.status(qs.created_at)).question_sets_received == 1


async def test_an_explicit_re_ask_with_a_new_message_id_is_answered_again(
    open_store: OpenStore,
) -> None:
    qs = question_set(Partner.SWT, Colour.ORANJE)
    re_ask = qs.model_copy(update={"message_id": uuid.uuid4()})
    async with open_store(Partner.SWT) as store:
        first = await answer_question_set(qs, ReferenceLookup(), store, retry=FAST_RETRY)
        second = await answer_question_set(re_ask, ReferenceLookup(), store, retry=FAST_RETRY)

    assert second.status is AnsweringStatus.ANSWERED
    assert first.message is not None
    assert second.message is not None
    assert second.message.in_reply_to == re_ask.message_id
    assert second.message.message_id != first.message.message_id
    assert second.message.answers == first.message.answers


async def test_a_store_belongs_to_one_partner(open_store: OpenStore) -> None:
    async with open_store(Partner.BRP):
        pass
    with pytest.raises(WrongStateFile, match="brp"):
        async with open_store(Partner.RN):
            pass


async def test_delivery_marks_sent_only_after_the_send_succeeded(open_store: OpenStore) -> None:
    qs = question_set(Partner.CJIB, Colour.ROOD)
    sent: list[OutboxEntry] = []

    async def failing(entry: OutboxEntry) -> None:
        raise ConnectionError("kafka is down")

    async def working(entry: OutboxEntry) -> None:
        sent.append(entry)

    async with open_store(Partner.CJIB) as store:
        await answer_question_set(qs, ReferenceLookup(), store, retry=FAST_RETRY)
        with pytest.raises(ConnectionError):
            await deliver_outbox(store, failing)
        assert len(await store.unsent()) == 1
        assert await deliver_outbox(store, working) == 1
        assert await deliver_outbox(store, working) == 0
        status = await store.status(qs.created_at)

    assert [decode(e.payload).type for e in sent] == ["answer"]
    assert status.undelivered == 0


async def test_personal_data_is_kept_only_while_a_question_is_open(
    open_store: OpenStore, state_path: Path
) -> None:
    answered = question_set(Partner.RIEC, Colour.ROOD)
    async with open_store(Partner.RIEC) as store:
        await answer_question_set(answered, ReferenceLookup(), store, retry=FAST_RETRY)
        await deliver_outbox(store, _ignore)
    async with aiosqlite.connect(state_path) as db:
        async with db.execute("SELECT count(*) FROM subjects") as cursor:
            assert await cursor.fetchone() == (0,)
        async with db.execute("SELECT count(*) FROM outbox WHERE payload IS NOT NULL") as cursor:
            assert await cursor.fetchone() == (0,)


async def test_a_set_answered_at_once_is_recorded_answered_with_its_message(
    open_store: OpenStore, state_path: Path
) -> None:
    qs = question_set(Partner.RIEC, Colour.ROOD)
    async with open_store(Partner.RIEC) as store:
        outcome = await answer_question_set(qs, ReferenceLookup(), store, retry=FAST_RETRY)
    assert outcome.message is not None
    async with aiosqlite.connect(state_path) as db:
        async with db.execute(
            "SELECT question_id, status, answered_by, answer_message_id, answered_at IS NOT NULL "
            "FROM questions ORDER BY rowid"
        ) as cursor:
            rows = list(await cursor.fetchall())
        async with db.execute("SELECT count(*) FROM subjects") as cursor:
            assert await cursor.fetchone() == (0,), "no name is kept for a set with none open"
    message_id = str(outcome.message.message_id)
    assert rows == [(str(q.question_id), "answered", "lookup", message_id, 1) for q in qs.questions]


async def test_a_policy_the_adapter_does_not_know_answers_nothing(
    open_store: OpenStore,
) -> None:
    qs = question_set(Partner.RIEC, Colour.ROOD)
    unknown = qs.model_copy(update={"policy": PolicyRef(id="haarlem-iaj", version=99)})
    async with open_store(Partner.RIEC) as store:
        outcome = await answer_question_set(unknown, ReferenceLookup(), store, retry=FAST_RETRY)

    assert outcome.status is AnsweringStatus.UNANSWERED
    assert {r.reason for r in outcome.refusals} == {"unknown_policy"}
    assert set(outcome.open_questions) == {q.question_id for q in qs.questions}


async def test_a_question_richer_than_the_policy_is_not_even_looked_up(
    open_store: OpenStore,
) -> None:

    qs = question_set(Partner.RIEC, Colour.ROOD)
    [bekend] = qs.questions
    richer = bekend.model_copy(update={"shape": AnswerShape.JA_NEE_TOELICHTING, "text_limit": 50})
    asked = qs.model_copy(update={"questions": (richer,)})
    lookup = ScriptedLookup(lambda request: [])
    async with open_store(Partner.RIEC) as store:
        outcome = await answer_question_set(asked, lookup, store, retry=FAST_RETRY)

    assert lookup.requests == []
    assert [(r.reason, r.field, r.source.value) for r in outcome.refusals] == [
        ("not_in_policy", "shape", "policy")
    ]


async def test_text_limits_are_tightened_to_the_policy(open_store: OpenStore) -> None:
    qs = question_set(Partner.SZW_UWV, Colour.ROOD)
    [question] = qs.questions
    unbounded = qs.model_copy(  # asks for more text than the policy allows
        update={"questions": (question.model_copy(update={"text_limit": 2000}),)}
    )
    lookup = ScriptedLookup(
        lambda request: [
            {"question_id": str(question.question_id), "antwoord": "ja", "toelichting": "x" * 281}
        ]
    )
    async with open_store(Partner.SZW_UWV) as store:
        outcome = await answer_question_set(unbounded, lookup, store, retry=FAST_RETRY)

    assert lookup.requests[0].questions[0].text_limit == 280
    assert [(r.reason, r.field) for r in outcome.refusals] == [
        (RefusalReason.TEXT_TOO_LONG.value, "toelichting")
    ]


async def test_the_lookup_is_told_only_about_the_people_asked_about(
    open_store: OpenStore,
) -> None:
    qs = question_set(Partner.OM, Colour.ORANJE)
    youth_only = qs.model_copy(
        update={"questions": tuple(q for q in qs.questions if q.subject_ref == "jongere")}
    )
    lookup = ScriptedLookup(lambda request: [])
    async with open_store(Partner.OM) as store:
        await answer_question_set(youth_only, lookup, store, retry=FAST_RETRY)

    [request] = lookup.requests
    assert [s.subject_ref for s in request.subjects] == ["jongere"]
    assert {f.name for f in dataclasses.fields(request.subjects[0])} == {
        "subject_ref",
        "role",
        "naam",
        "geboortedatum",
    }


async def _ignore(entry: OutboxEntry) -> None:
    return None


async def test_a_set_answered_in_time_and_redelivered_late_is_a_duplicate(
    open_store: OpenStore,
) -> None:
    qs = question_set(Partner.RIEC, Colour.ROOD)
    after_deadline = qs.deadline + dt.timedelta(seconds=1)
    async with open_store(Partner.RIEC) as store:
        await answer_question_set(qs, ReferenceLookup(), store, retry=FAST_RETRY)
        late = await answer_question_set(qs, ReferenceLookup(), store, now=after_deadline)
        status = await store.status(after_deadline)
    assert late.status is AnsweringStatus.DUPLICATE
    assert status.rejected == 0
