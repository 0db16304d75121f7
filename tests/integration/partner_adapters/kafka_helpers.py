"""Plain aiokafka clients around a running adapter: the municipality's side of the topics."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from contracts import Partner, PartnerAnswer, QuestionSet, decode, encode
from contracts.topics import answer_topic, message_key, question_topic
from partner_adapters.lookup import Lookup
from partner_adapters.runtime import AdapterRuntime, build_adapter
from partner_adapters.settings import AdapterSettings

WITHIN = 30.0


class AnswerReader:
    """Reads a partner's answer topic from where it ended when the reader started."""

    def __init__(self, bootstrap: str, partner: Partner) -> None:
        self.topic = answer_topic(partner)
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.seen: list[ConsumerRecord[bytes, bytes]] = []

    async def start(self) -> None:
        await self._consumer.start()
        await self._consumer.topics()
        partitions = [
            TopicPartition(self.topic, p)
            for p in sorted(self._consumer.partitions_for_topic(self.topic) or {0})
        ]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for tp in partitions:  # resolve the end now, before anything is published
            await self._consumer.position(tp)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def answers_to(
        self, question_set_id: uuid.UUID, count: int = 1, within: float = WITHIN
    ) -> list[PartnerAnswer]:
        async def collect() -> list[PartnerAnswer]:
            while len(found := self._replies(question_set_id)) < count:
                batch = await self._consumer.getmany(timeout_ms=200)
                self.seen.extend(r for records in batch.values() for r in records)
            return found

        return await asyncio.wait_for(collect(), within)

    async def settle(self, wait: float = 1.0) -> None:
        batch = await self._consumer.getmany(timeout_ms=int(wait * 1000))
        self.seen.extend(r for records in batch.values() for r in records)

    def _replies(self, question_set_id: uuid.UUID) -> list[PartnerAnswer]:
        replies = []
        for record in self.seen:
            message = decode(record.value)
            if isinstance(message, PartnerAnswer) and message.in_reply_to == question_set_id:
                assert record.key == message_key(message.round_id)
                replies.append(message)
        return replies


@asynccontextmanager
async def answer_reader(bootstrap: str, partner: Partner) -> AsyncIterator[AnswerReader]:
    reader = AnswerReader(bootstrap, partner)
    await reader.start()
    try:
        yield reader
    finally:
        await reader.stop()


@asynccontextmanager
async def running_adapter(
    settings: AdapterSettings, lookup: Lookup | None = None
) -> AsyncIterator[AdapterRuntime]:
    runtime = build_adapter(settings, lookup=lookup)
    await runtime.app.start()
    try:
        yield runtime
    finally:
        await runtime.app.stop()


async def publish(bootstrap: str, partner: Partner, *messages: QuestionSet | bytes) -> list[int]:
    """Publish to the partner's question topic as the municipality would; return the offsets."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        offsets = []
        for message in messages:
            if isinstance(message, QuestionSet):
                value, key = encode(message), message_key(message.round_id)
            else:
                value, key = message, b"garbage"
            metadata = await producer.send_and_wait(question_topic(partner), value, key=key)
            offsets.append(metadata.offset)
        return offsets
    finally:
        await producer.stop()
