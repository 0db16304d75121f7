"""Records as they travelled on Kafka: read back after a run, replayed by the baseline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

__all__ = ["WireRecord", "read_topics", "topic_partitions", "total_bytes"]


@dataclass(frozen=True, slots=True)
class WireRecord:
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int

    @property
    def size(self) -> int:
        """Bytes of key, value and headers: what a producer has to move for this record."""
        headers = sum(len(k) + len(v) for k, v in self.headers)
        return len(self.key or b"") + len(self.value) + headers


def total_bytes(records: Iterable[WireRecord]) -> int:
    return sum(r.size for r in records)


async def read_topics(
    bootstrap: str,
    topics: Sequence[str],
    *,
    timeout_seconds: float = 120.0,
    client: Mapping[str, Any] | None = None,
) -> list[WireRecord]:
    """Every record now in `topics`, from the beginning, in timestamp order (no group)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **(client or {}),
    )
    await consumer.start()
    try:
        partitions = await topic_partitions(bootstrap, topics, client)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[WireRecord] = []
        async with asyncio.timeout(timeout_seconds):
            while await _behind(consumer, ends):
                batch = await consumer.getmany(timeout_ms=200, max_records=5000)
                records.extend(
                    WireRecord(
                        r.topic,
                        r.key,
                        r.value,
                        tuple((k, bytes(v)) for k, v in r.headers),
                        r.timestamp,
                    )
                    for rs in batch.values()
                    for r in rs
                )
    finally:
        await consumer.stop()
    records.sort(key=lambda r: r.timestamp_ms)
    return records


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    return any([await consumer.position(tp) < end for tp, end in ends.items()])


async def topic_partitions(
    bootstrap: str, topics: Sequence[str], client: Mapping[str, Any] | None = None
) -> list[TopicPartition]:
    """Every partition of `topics`, asked of the cluster (a consumer's own metadata holds only
    the topics it has used so far)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **(client or {}))
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    missing = [d["topic"] for d in described if d["error_code"] or not d["partitions"]]
    if missing:
        raise RuntimeError(f"no such topics on {bootstrap}: {', '.join(missing)}")
    return [
        TopicPartition(d["topic"], p["partition"])
        for d in described
        for p in sorted(d["partitions"], key=lambda p: int(p["partition"]))
    ]
