"""The FastStream application, on FastStream's in-memory Kafka: raw bytes in, answers out."""

from __future__ import annotations

from pathlib import Path

from faststream import TestApp
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from contracts import Colour, Partner, PartnerAnswer, decode, encode
from contracts.topics import answer_topic, question_topic
from partner_adapters.answering import AnsweringStatus
from partner_adapters.reference import ReferenceLookup
from partner_adapters.runtime import build_adapter
from partner_adapters.settings import AdapterSettings
from tests.support.signing import private_key_path
from tests.unit.partner_adapters.builders import question_set


async def test_garbage_is_recorded_and_the_next_question_set_is_answered(tmp_path: Path) -> None:
    partner = Partner.CJIB
    settings = AdapterSettings(
        partner=partner,
        state_db=tmp_path / "cjib.db",
        outbox_interval_seconds=60,
        signing_key=private_key_path(partner),
    )
    runtime = build_adapter(settings, lookup=ReferenceLookup())
    received: list[PartnerAnswer] = []

    @runtime.broker.subscriber(answer_topic(partner))
    async def municipality(raw: KafkaMessage) -> None:
        message = decode(raw.body)
        assert isinstance(message, PartnerAnswer)
        received.append(message)

    qs = question_set(partner, Colour.ROOD)
    async with TestKafkaBroker(runtime.broker) as broker, TestApp(runtime.app):
        await broker.publish(b"\x00garbage", question_topic(partner))
        await broker.publish(encode(qs), question_topic(partner))
        await broker.publish(encode(qs), question_topic(partner))  # re-published
        assert runtime.store is not None
        status = await runtime.store.status(qs.created_at)

    assert [o.status for o in runtime.outcomes] == [
        AnsweringStatus.REJECTED,
        AnsweringStatus.ANSWERED,
        AnsweringStatus.DUPLICATE,
    ]
    assert [m.in_reply_to for m in received] == [qs.message_id]
    assert (status.rejected, status.question_sets_answered, status.undelivered) == (1, 1, 0)
