"""The baseline: plain aiokafka moving the pipeline's own messages through the same broker.

Per partner a question topic and an answer topic, like the real system. The recorded question
sets are produced; one consumer per partner (in its own group, as the adapters are) answers
each with the next recorded answer of that partner; one consumer (one group, as the
municipality) reads every answer. Same counts, same bytes (the very records), no database,
no validation: what Kafka alone costs on this machine.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener

from broker.service.kafka_admin import create_topics
from devtools.bench.wire import WireRecord

__all__ = ["BaselineResult", "run_baseline"]


@dataclass(frozen=True)
class BaselineResult:
    questions: int
    answers: int
    elapsed_seconds: float

    @property
    def messages(self) -> int:
        return self.questions + self.answers


async def run_baseline(
    bootstrap: str,
    questions: Sequence[WireRecord],
    answers: Sequence[WireRecord],
    *,
    group_options: Mapping[str, int],
    timeout_seconds: float,
    client: Mapping[str, Any] | None = None,
) -> BaselineResult:
    """Move `questions` and `answers` (grouped by their partner's topics); time from the
    first question produced to the last answer consumed. Joins happen before the clock."""
    run = uuid.uuid4().hex[:8]
    asked, replies = _by_partner(questions), _by_partner(answers)
    partners = sorted(asked.keys() | replies.keys())
    q_topic = {p: f"bench.{run}.questions.{p}" for p in partners}
    a_topic = {p: f"bench.{run}.answers.{p}" for p in partners}
    options = {"bootstrap_servers": bootstrap, **(client or {})}
    await create_topics(bootstrap, [*q_topic.values(), *a_topic.values()], **(client or {}))

    producer = AIOKafkaProducer(**options, acks="all", linger_ms=2)
    joined = {
        p: _consumer(options, [q_topic[p]], f"bench-{run}-{p}", group_options) for p in partners
    }
    collector, collector_joined = _consumer(
        options, list(a_topic.values()), f"bench-{run}-municipal", group_options
    )
    echoes = {p: consumer for p, (consumer, _) in joined.items()}
    consumers = [*echoes.values(), collector]
    assignments = [*(event for _, event in joined.values()), collector_joined]
    await producer.start()
    try:
        await asyncio.gather(*(c.start() for c in consumers))
        async with asyncio.timeout(timeout_seconds):
            await asyncio.gather(*(event.wait() for event in assignments))
            started = time.perf_counter()
            tasks = [
                _produce(producer, [(q_topic[_partner(r)], r) for r in questions]),
                *(
                    _echo(echoes[p], producer, a_topic[p], len(asked[p]), replies[p])
                    for p in partners
                ),
            ]
            received = asyncio.create_task(_count(collector, len(answers)))
            await asyncio.gather(*tasks)
            await received
            elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(c.stop() for c in consumers), return_exceptions=True)
        await producer.stop()
    return BaselineResult(len(questions), len(answers), elapsed)


def _by_partner(records: Sequence[WireRecord]) -> dict[str, list[WireRecord]]:
    grouped: dict[str, list[WireRecord]] = defaultdict(list)
    for record in records:
        grouped[_partner(record)].append(record)
    return grouped


def _partner(record: WireRecord) -> str:
    return record.topic.rsplit(".", 1)[-1]  # iaj.questions.<partner>, iaj.answers.<partner>


class _Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Set once the group gave this consumer its partitions."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def on_partitions_revoked(self, revoked: object) -> None:
        return None

    async def on_partitions_assigned(self, assigned: object) -> None:
        self.event.set()


def _consumer(
    client: Mapping[str, Any], topics: Sequence[str], group: str, options: Mapping[str, int]
) -> tuple[AIOKafkaConsumer, asyncio.Event]:
    consumer = AIOKafkaConsumer(**client, group_id=group, auto_offset_reset="earliest", **options)
    assigned = _Assigned()
    consumer.subscribe(list(topics), listener=assigned)
    return consumer, assigned.event


async def _send(producer: AIOKafkaProducer, topic: str, record: WireRecord) -> asyncio.Future[Any]:
    """Queue the record; the future resolves when the broker acknowledged it."""
    ack: asyncio.Future[Any] = await producer.send(
        topic, value=record.value, key=record.key, headers=list(record.headers)
    )
    return ack


async def _produce(producer: AIOKafkaProducer, records: Sequence[tuple[str, WireRecord]]) -> None:
    # send() queues the record and returns a future for the broker's ack: await them all.
    acks = [await _send(producer, topic, record) for topic, record in records]
    await asyncio.gather(*acks)


async def _echo(
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    topic: str,
    expected: int,
    replies: Sequence[WireRecord],
) -> None:
    """Answer each question read with this partner's next recorded answer."""
    read = sent = 0
    while read < expected:
        batch = await consumer.getmany(timeout_ms=100)
        acks = []
        for records in batch.values():
            for _ in records:
                read += 1
                if sent < len(replies):
                    acks.append(await _send(producer, topic, replies[sent]))
                    sent += 1
        await asyncio.gather(*acks)
    # A partner that sent more messages than it was asked sends the rest now.
    await asyncio.gather(*[await _send(producer, topic, r) for r in replies[sent:]])


async def _count(consumer: AIOKafkaConsumer, expected: int) -> None:
    seen = 0
    while seen < expected:
        batch = await consumer.getmany(timeout_ms=100)
        seen += sum(len(records) for records in batch.values())
