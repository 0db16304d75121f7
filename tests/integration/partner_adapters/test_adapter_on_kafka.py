"""The adapter against a real Kafka-compatible broker: question sets in, answers out."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from typer.testing import CliRunner

from broker.service.kafka_admin import create_topics
from contracts import (
    AnswerShape,
    Colour,
    Partner,
    Withdrawal,
    WithdrawalReason,
    YesNo,
    check_answer,
    encode,
    permitted_fields,
)
from contracts.topics import answer_topic, message_key, question_topic, refusal_topic
from partner_adapters.answering import AnsweringStatus
from partner_adapters.cli import app as adapter_cli
from partner_adapters.reference import OversharingLookup
from partner_adapters.settings import AdapterSettings
from partner_adapters.state.reads import UNSENT
from tests.integration.partner_adapters.kafka_helpers import answer_reader, publish, running_adapter
from tests.support.signing import private_key_path
from tests.unit.partner_adapters.builders import question_set, refusal_notice
from tests.unit.partner_adapters.lookups import FlakyLookup

pytestmark = pytest.mark.integration

PARTNER = Partner.VEILIGHEIDSHUIS  # oranje: domains, and questions about family members

MakeSettings = Callable[..., AdapterSettings]
# The adapter commands send, so they sign: with the key the running adapter uses.
SIGNING = {"IAJ_ADAPTER_SIGNING_KEY": str(private_key_path(PARTNER))}


@pytest.fixture
async def make_settings(
    kafka_bootstrap: str, tmp_path: Path, kafka_group_options: dict[str, int]
) -> MakeSettings:
    await create_topics(
        kafka_bootstrap,
        [question_topic(PARTNER), answer_topic(PARTNER), refusal_topic(PARTNER)],
    )

    def make(**overrides: object) -> AdapterSettings:
        values: dict[str, object] = {
            "partner": PARTNER,
            "kafka_bootstrap": kafka_bootstrap,
            "state_db": tmp_path / "adapter.db",
            "consumer_session_timeout_ms": kafka_group_options.get("session_timeout_ms", 10_000),
            "consumer_heartbeat_interval_ms": kafka_group_options.get(
                "heartbeat_interval_ms", 3_000
            ),
            "lookup_attempts": 2,
            "lookup_wait_initial_seconds": 0.01,
            "outbox_interval_seconds": 0.2,
            "redelivery_delay_seconds": 0.2,
        }
        values.update(overrides)
        values.setdefault("signing_key", private_key_path(values["partner"]))  # type: ignore[arg-type]
        return AdapterSettings(**values)  # type: ignore[arg-type]

    return make


async def test_a_question_set_is_answered_on_the_partners_answer_topic(
    kafka_bootstrap: str, make_settings: MakeSettings
) -> None:
    qs = question_set(PARTNER, Colour.ORANJE)
    async with (
        answer_reader(kafka_bootstrap, PARTNER) as reader,
        running_adapter(make_settings()),
    ):
        await publish(kafka_bootstrap, PARTNER, qs)
        [answer] = await reader.answers_to(qs.message_id)

    assert (answer.partner, answer.round_id, answer.correlation_id) == (
        PARTNER,
        qs.round_id,
        qs.correlation_id,
    )
    by_id = {q.question_id: q for q in qs.questions}
    assert [i.question_id for i in answer.answers] == list(by_id)
    for item in answer.answers:
        question = by_id[item.question_id]
        assert item.signature is not None  # signed just before it was sent
        assert check_answer(question, item, qs.colour) == item.model_copy(
            update={"signature": None}
        )
        if question.subject_ref == "jongere" and question.shape is AnswerShape.JA_NEE_DOMEINEN:
            assert item.antwoord is YesNo.JA
            assert item.domeinen
            assert item.toelichting is None  # the system knows one; the shape does not ask it


async def test_garbage_does_not_stall_the_adapter(
    kafka_bootstrap: str, make_settings: MakeSettings
) -> None:
    qs = question_set(PARTNER, Colour.ROOD)
    async with (
        answer_reader(kafka_bootstrap, PARTNER) as reader,
        running_adapter(make_settings()) as runtime,
    ):
        garbage_offset, _ = await publish(kafka_bootstrap, PARTNER, b"\xff\xfe{not json", qs)
        [answer] = await reader.answers_to(qs.message_id)
        assert runtime.store is not None
        status = await runtime.store.status(qs.created_at)

    assert answer.in_reply_to == qs.message_id
    rejected = [
        r.rejection
        for r in status.recent_rejections
        if r.rejection.position is not None and r.rejection.position.offset == garbage_offset
    ]
    assert [r.reason for r in rejected] == ["not_json"]


async def test_a_refusal_notice_from_the_municipality_shows_in_the_status(
    kafka_bootstrap: str, make_settings: MakeSettings
) -> None:
    """The adapter reads `iaj.refusals.<partner>` with the same consumer as its questions: the
    notice is kept (no content), and question sets are still answered after it."""
    qs = question_set(PARTNER, Colour.ORANJE)
    notice = refusal_notice(qs, field="domeinen")
    async with (
        answer_reader(kafka_bootstrap, PARTNER) as reader,
        running_adapter(make_settings()) as runtime,
    ):
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                refusal_topic(PARTNER), encode(notice), key=message_key(qs.round_id)
            )
        finally:
            await producer.stop()
        await publish(kafka_bootstrap, PARTNER, qs)
        [answer] = await reader.answers_to(qs.message_id)
        assert runtime.store is not None
        status = await runtime.store.status(qs.created_at)

    assert answer.in_reply_to == qs.message_id
    assert status.refused_by_municipality == 1
    [kept] = status.recent_municipal_refusals
    assert (kept.in_reply_to, kept.reason, kept.field) == (
        notice.in_reply_to,
        "field_not_permitted",
        "domeinen",
    )


async def test_a_restart_does_not_answer_twice_and_a_re_ask_is_answered(
    kafka_bootstrap: str, make_settings: MakeSettings
) -> None:
    qs = question_set(PARTNER, Colour.ORANJE)
    re_ask = qs.model_copy(update={"message_id": uuid.uuid4()})
    async with answer_reader(kafka_bootstrap, PARTNER) as reader:
        async with running_adapter(make_settings()):
            await publish(kafka_bootstrap, PARTNER, qs)
            await reader.answers_to(qs.message_id)
        async with running_adapter(make_settings()) as restarted:
            await publish(kafka_bootstrap, PARTNER, qs, re_ask)  # same round: one partition
            [again] = await reader.answers_to(re_ask.message_id)
            await reader.settle()
            await _until(
                lambda: (
                    {qs.message_id, re_ask.message_id}
                    <= {o.question_set_id for o in restarted.outcomes}
                )
            )
            statuses = {
                o.question_set_id: o.status for o in restarted.outcomes if o.question_set_id
            }

    assert len(reader._replies(qs.message_id)) == 1
    assert again.in_reply_to == re_ask.message_id
    assert statuses[qs.message_id] is AnsweringStatus.DUPLICATE
    assert statuses[re_ask.message_id] is AnsweringStatus.ANSWERED


async def test_a_refused_question_is_answered_by_hand_while_the_adapter_runs(
    kafka_bootstrap: str, make_settings: MakeSettings
) -> None:
    settings = make_settings()
    qs = question_set(PARTNER, Colour.ORANJE)
    async with (
        answer_reader(kafka_bootstrap, PARTNER) as reader,
        running_adapter(settings, lookup=OversharingLookup()) as runtime,
    ):
        await publish(kafka_bootstrap, PARTNER, qs)
        [partial] = await reader.answers_to(qs.message_id)
        # The batch's outcomes are reported once its offsets are committed, which may be
        # just after its answers reached Kafka.
        await _until(lambda: any(o.question_set_id == qs.message_id for o in runtime.outcomes))
        [outcome] = [o for o in runtime.outcomes if o.question_set_id == qs.message_id]
        refused = outcome.open_questions[0]
        # The adapter writes that its answer was sent with its next transaction or its
        # periodic flush; until then the state file still holds it as unsent, and a hand
        # answer would send it again too (the same bytes: the municipality drops the copy).
        await _until(lambda: not _unsent_in(settings.state_path()))

        result = await asyncio.to_thread(
            CliRunner().invoke,
            adapter_cli,
            [
                "answer", str(refused), "--partner", PARTNER.value,
                "--state-db", str(settings.state_db), "--bootstrap", kafka_bootstrap,
                "--antwoord", "ja", "--domein", "justitie",
            ],
            env=SIGNING,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        answers = await reader.answers_to(qs.message_id, count=2)

    assert outcome.status is AnsweringStatus.PARTLY_ANSWERED
    assert refused not in {i.question_id for i in partial.answers}
    manual = answers[1]
    assert [(i.question_id, i.antwoord) for i in manual.answers] == [(refused, YesNo.JA)]
    question = next(q for q in qs.questions if q.question_id == refused)
    assert {"domeinen"} <= permitted_fields(question.shape)


async def test_after_a_lookup_failure_retry_answers(
    kafka_bootstrap: str, make_settings: MakeSettings
) -> None:
    settings = make_settings()
    qs = question_set(PARTNER, Colour.ORANJE)
    async with answer_reader(kafka_bootstrap, PARTNER) as reader:
        async with running_adapter(settings, lookup=FlakyLookup(failures=99)) as runtime:
            await publish(kafka_bootstrap, PARTNER, qs)
            await _until(lambda: any(o.question_set_id == qs.message_id for o in runtime.outcomes))
        await reader.settle(0.5)
        assert reader._replies(qs.message_id) == []

        result = await asyncio.to_thread(
            CliRunner().invoke,
            adapter_cli,
            ["retry", "--partner", PARTNER.value, "--state-db", str(settings.state_db),
             "--bootstrap", kafka_bootstrap],
            env=SIGNING,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        [answer] = await reader.answers_to(qs.message_id)

    assert len(answer.answers) == len(qs.questions)
    status = await asyncio.to_thread(
        CliRunner().invoke,
        adapter_cli,
        ["status", "--partner", PARTNER.value, "--state-db", str(settings.state_db), "--json"],
    )
    counts = json.loads(status.output)
    assert counts["lookup_failures"] == 1
    assert counts["undelivered"] == 0


def _unsent_in(state_db: Path) -> int:
    """Answers the state file holds as not sent yet (read as the CLI reads them)."""
    with sqlite3.connect(state_db) as conn:
        return len(conn.execute(UNSENT).fetchall())


async def _until(condition: Callable[[], bool], within: float = 30.0) -> None:
    async def wait() -> None:
        while not condition():  # noqa: ASYNC110 (polls a plain list the adapter appends to)
            await asyncio.sleep(0.05)

    await asyncio.wait_for(wait(), within)


async def test_a_local_failure_reads_the_question_set_again_instead_of_skipping_it(
    kafka_bootstrap: str, make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    qs = question_set(PARTNER, Colour.ORANJE)
    async with (
        answer_reader(kafka_bootstrap, PARTNER) as reader,
        running_adapter(make_settings()) as runtime,
    ):
        store = runtime.store
        assert store is not None
        record = store.record_batch
        attempts = 0

        async def disk_fails_once(*args: Any, **kwargs: Any) -> list[bool]:
            nonlocal attempts
            attempts += 1
            if attempts == 1:
                raise sqlite3.OperationalError("disk I/O error")
            return await record(*args, **kwargs)

        monkeypatch.setattr(store, "record_batch", disk_fails_once)
        await publish(kafka_bootstrap, PARTNER, qs)
        [answer] = await reader.answers_to(qs.message_id)

    assert attempts == 2
    assert answer.in_reply_to == qs.message_id


async def test_a_withdrawal_on_the_question_topic_drops_the_pending_set(
    kafka_bootstrap: str, make_settings: MakeSettings
) -> None:
    """A cancelled round: the municipality's `withdrawal` follows the question set on the same
    topic and partition; the running adapter drops the set, so it is never answered."""
    qs = question_set(PARTNER, Colour.ORANJE)
    notice = Withdrawal(
        round_id=qs.round_id,
        correlation_id=qs.correlation_id,
        policy=qs.policy,
        partner=PARTNER,
        question_ids=tuple(q.question_id for q in qs.questions),
        reason=WithdrawalReason.ROUND_CANCELLED,
    )
    down = FlakyLookup(failures=1_000_000)  # the partner's system is down: the set stays open
    async with (
        answer_reader(kafka_bootstrap, PARTNER) as reader,
        running_adapter(make_settings(), lookup=down) as runtime,
    ):
        await publish(kafka_bootstrap, PARTNER, qs)
        await _until(lambda: any(o.question_set_id == qs.message_id for o in runtime.outcomes))
        assert runtime.store is not None
        assert len(await runtime.store.open_questions(qs.created_at)) == len(qs.questions)

        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                question_topic(PARTNER), encode(notice), key=message_key(notice.round_id)
            )
        finally:
            await producer.stop()
        await _until(lambda: any(o.status is AnsweringStatus.WITHDRAWN for o in runtime.outcomes))
        (withdrawn,) = [o for o in runtime.outcomes if o.status is AnsweringStatus.WITHDRAWN]
        assert withdrawn.dropped == (len(qs.questions), 0)
        assert await runtime.store.open_questions(qs.created_at) == []
        assert await runtime.store.pending_question_sets(qs.created_at) == []
        await reader.settle()

    assert reader._replies(qs.message_id) == []


@pytest.mark.parametrize("crash", ["after_recording", "after_the_acks", "after_marking_sent"])
async def test_a_crash_between_two_steps_sends_the_same_answer_again(
    kafka_bootstrap: str,
    make_settings: MakeSettings,
    monkeypatch: pytest.MonkeyPatch,
    crash: str,
) -> None:
    """The adapter freezes (as if killed) between two steps of a batch, before its offsets are
    committed; a new adapter over the same state file sends the identical answer (same message
    id, same bytes) or, once it was marked sent, nothing more, and answers the set only once."""
    settings = make_settings(outbox_interval_seconds=60)
    qs = question_set(PARTNER, Colour.ORANJE)
    frozen = asyncio.Event()

    async def freeze() -> None:
        frozen.set()
        await asyncio.Event().wait()  # never: the process is gone as far as Kafka can tell

    async with answer_reader(kafka_bootstrap, PARTNER) as reader:
        async with running_adapter(settings) as runtime:
            store = runtime.store
            assert store is not None
            record, mark = store.record_batch, store.mark_sent

            async def record_then_freeze(*args: Any, **kwargs: Any) -> list[bool]:
                done = await record(*args, **kwargs)
                if crash == "after_recording":
                    await freeze()
                return done

            async def mark_around_freeze(*args: Any, **kwargs: Any) -> None:
                if crash == "after_the_acks":
                    await freeze()
                await mark(*args, **kwargs)
                if crash == "after_marking_sent":
                    await freeze()

            monkeypatch.setattr(store, "record_batch", record_then_freeze)
            monkeypatch.setattr(store, "mark_sent", mark_around_freeze)
            await publish(kafka_bootstrap, PARTNER, qs)
            await asyncio.wait_for(frozen.wait(), 30)
            monkeypatch.undo()
        async with running_adapter(settings) as restarted:
            await _until(
                lambda: any(o.question_set_id == qs.message_id for o in restarted.outcomes)
            )
            await reader.answers_to(qs.message_id)
            await reader.settle()
            [again] = [o for o in restarted.outcomes if o.question_set_id == qs.message_id]

    sent = [
        r.value
        for r in reader.seen
        if r.value is not None and str(qs.message_id).encode() in r.value
    ]
    assert again.status is AnsweringStatus.DUPLICATE
    assert len(set(sent)) == 1  # one answer, byte for byte, however often it was sent
    assert len(sent) == (2 if crash == "after_the_acks" else 1)


async def test_a_backlog_is_answered_in_batches_with_one_offset_commit_each(
    kafka_bootstrap: str, make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A counted guard: question sets waiting when the adapter starts are handled together,
    not one offset commit (and one state transaction) per message."""
    commits = 0
    commit = AIOKafkaConsumer.commit

    async def counted(self: AIOKafkaConsumer, *args: Any, **kwargs: Any) -> Any:
        nonlocal commits
        commits += 1
        return await commit(self, *args, **kwargs)

    monkeypatch.setattr(AIOKafkaConsumer, "commit", counted)
    sets = [question_set(PARTNER, Colour.ORANJE) for _ in range(20)]
    async with answer_reader(kafka_bootstrap, PARTNER) as reader:
        await publish(kafka_bootstrap, PARTNER, *sets)
        async with running_adapter(make_settings()) as runtime:
            for qs in sets:
                await reader.answers_to(qs.message_id)
            await _until(lambda: len(runtime.outcomes) == len(sets))

    assert {o.status for o in runtime.outcomes} == {AnsweringStatus.ANSWERED}
    assert 1 <= commits <= 5
