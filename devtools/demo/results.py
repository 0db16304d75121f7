"""Reading the round results back from `iaj.results`, as the municipal backend would.

A plain consumer without a group, assigned every partition from the start: nothing to join,
and no result published before it started is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from uuid import UUID

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.errors import MalformedMessage
from contracts.messages import RoundResult
from contracts.topics import RESULTS
from contracts.wire import decode
from devtools.adapter_group import EMBEDDED_FETCH_MAX_WAIT_MS

__all__ = ["ResultsReader"]

log = logging.getLogger(__name__)


class ResultsReader:
    """`async with ResultsReader(bootstrap) as reader:` collects RoundResults in `results`."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            # The embedded broker does not wake a waiting fetch: results would show late.
            fetch_max_wait_ms=EMBEDDED_FETCH_MAX_WAIT_MS,
        )
        self._task: asyncio.Task[None] | None = None
        self.results: dict[UUID, RoundResult] = {}
        self.changed = asyncio.Event()

    async def __aenter__(self) -> ResultsReader:
        await self._consumer.start()
        try:
            await self._consumer.topics()  # refreshes the metadata partitions_for_topic reads
            partitions = [
                TopicPartition(RESULTS, p)
                for p in sorted(self._consumer.partitions_for_topic(RESULTS) or {0})
            ]
            self._consumer.assign(partitions)
            await self._consumer.seek_to_beginning(*partitions)
        except BaseException:
            await self._consumer.stop()
            raise
        self._task = asyncio.create_task(self._read(), name="demo-results")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _read(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    self._take(record.value)

    def _take(self, raw: bytes) -> None:
        try:
            message = decode(raw)
        except MalformedMessage as exc:
            log.warning("unreadable message on %s: %s", RESULTS, exc.reason)
            return
        if isinstance(message, RoundResult):
            self.results[message.round_id] = message
            self.changed.set()
