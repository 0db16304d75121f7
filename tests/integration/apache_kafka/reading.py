"""Read a whole topic from Apache Kafka, as the super user, without a consumer group."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from devtools.apache_kafka import ApacheKafka
from devtools.kafka_node import ADMIN


async def read_all(
    kafka: ApacheKafka, topic: str, within: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of every partition of `topic`, up to the end offsets as they are now."""
    consumer = AIOKafkaConsumer(
        topic,
        **kafka.client_kwargs(ADMIN),
        group_id=None,  # without a group, a subscription is every partition of the topic
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    async with asyncio.timeout(within):
        await consumer.start()
        try:
            # Assigned when the metadata has arrived; aiokafka offers nothing to wait on.
            while not (partitions := list(consumer.assignment())):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            found: list[ConsumerRecord[bytes, bytes]] = []
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                batch = await consumer.getmany(timeout_ms=500)
                found.extend(r for records in batch.values() for r in records)
            return found
        finally:
            await consumer.stop()
