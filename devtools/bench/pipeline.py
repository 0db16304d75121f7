"""The measured system: N rounds through the municipal service and the 14 reference adapters.

The stack runs before the clock starts (topics, group joins, migrations are not measured) and
the cases are registered before it too. Measured: opening the rounds, at most `in_flight` at a
time, until the result of the last one is on `iaj.results`. Latency is each round's
opened_at → completed_at as the database recorded it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select

from broker.service.municipal import MunicipalService
from contracts.enums import Colour, Partner
from contracts.topics import RESULTS, answer_topic, question_topic
from devtools.bench.cases import BENCH_ACTOR
from devtools.bench.wire import WireRecord, read_topics, topic_partitions
from devtools.embedded_stack import EmbeddedStack
from handlers.db.tables import AnswerRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.rounds import OpenRound

__all__ = ["BenchIncomplete", "PipelineResult", "run_pipeline"]


class BenchIncomplete(RuntimeError):
    """Not every round completed within the time allowed."""


@dataclass
class PipelineResult:
    rounds: int
    elapsed_seconds: float
    completions: dict[str, int]  # per `Completion` (complete, deadline) from the results
    duplicate_results: int  # results seen again for a round (the relay is at-least-once)
    other_results: int  # results of rounds opened before this run, published again
    states: dict[str, int]  # per round state, from the database
    answers_accepted: int
    latencies: list[float]
    questions: list[WireRecord] = field(default_factory=list)
    answers: list[WireRecord] = field(default_factory=list)


async def run_pipeline(
    stack: EmbeddedStack,
    colours: Sequence[Colour],
    case_ids: Sequence[str],
    *,
    in_flight: int,
    timeout_seconds: float,
    fetch_max_wait_ms: int = 500,
    client: Mapping[str, Any] | None = None,
    on_start: Callable[[], None] = lambda: None,
    on_round_done: Callable[[], None] = lambda: None,
) -> PipelineResult:
    """Open one round per case, at its colour (at most `in_flight` open at once; 0: all at
    once, the capacity) and wait for every result; `on_start` is called at t0."""
    service = stack.service
    if service is None:
        raise RuntimeError("the stack is not running")
    window = asyncio.Semaphore(in_flight if in_flight > 0 else len(case_ids) or 1)
    results = await _ResultWatch.start(stack.bootstrap, fetch_max_wait_ms, client or {})
    try:
        on_start()
        started = time.perf_counter()
        # The service opens a fetched batch of open-round commands in one transaction: what
        # the window lets through since the last batch was opened, up to OPEN_BATCH. At
        # capacity that is OPEN_BATCH at a time; in flight, one or the few rounds that
        # completed meanwhile, as a command consumer would find them waiting.
        opener = asyncio.create_task(
            _open_all(service, colours, case_ids, window, results.expect, batch=OPEN_BATCH)
        )
        try:
            async with asyncio.timeout(timeout_seconds):
                completions = await results.collect(len(case_ids), window, on_round_done)
        except TimeoutError:
            raise BenchIncomplete(
                f"{results.seen} of {len(case_ids)} rounds completed within {timeout_seconds:.0f}s"
            ) from None
        finally:
            if not opener.done():
                opener.cancel()
            await asyncio.gather(opener, return_exceptions=True)
        elapsed = time.perf_counter() - started
        opener.result()  # a failure to open a round is the run's failure
    finally:
        await results.stop()
    states, answers, latencies = await _from_database(service)
    return PipelineResult(
        len(case_ids),
        elapsed,
        completions,
        results.duplicates,
        results.others,
        states,
        answers,
        latencies,
    )


# Rounds opened per transaction at capacity: a fetched batch of open-round commands.
OPEN_BATCH = 100


async def read_wire_records(
    bootstrap: str, client: Mapping[str, Any] | None = None
) -> tuple[list[WireRecord], list[WireRecord]]:
    """Every question set and answer message the run put on Kafka."""
    questions = await read_topics(bootstrap, [question_topic(p) for p in Partner], client=client)
    answers = await read_topics(bootstrap, [answer_topic(p) for p in Partner], client=client)
    return questions, answers


class Opener(Protocol):
    """What the bench opens rounds with (the service's own calls, not iaj.commands)."""

    async def open_rounds(self, requests: Sequence[OpenRound]) -> list[str]: ...


async def _open_all(
    service: Opener,
    colours: Sequence[Colour],
    case_ids: Sequence[str],
    window: asyncio.Semaphore,
    expect: Callable[[str], None],
    *,
    batch: int = 1,
) -> None:
    """Open a round per case as `window` allows (the result watch releases it), at most
    `batch` in one transaction; `expect` registers each opened round with the watch."""
    pairs = list(zip(colours, case_ids, strict=True))
    start = 0
    while start < len(pairs):
        await window.acquire()  # a round may be opened
        size = 1
        # And every other one the window lets through now (acquiring an unlocked semaphore
        # does not wait), up to a batch.
        while size < min(batch, len(pairs) - start) and not window.locked():
            await window.acquire()
            size += 1
        chunk = pairs[start : start + size]
        start += size
        requests = [OpenRound(case_id=c, colour=colour, actor=BENCH_ACTOR) for colour, c in chunk]
        # Registered before its result can exist: that takes two Kafka hops and more.
        for round_id in await service.open_rounds(requests):
            expect(round_id)


class _ResultWatch:
    """Reads `iaj.results` from its current end (no consumer group: nothing to join)."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self._expected: set[str] = set()
        self._done: set[str] = set()
        self.seen = 0
        self.duplicates = 0  # a result again for a round of this run: the relay is at-least-once
        self.others = 0  # a result of a round opened before this run (published again)

    def expect(self, round_id: str) -> None:
        self._expected.add(round_id)

    @classmethod
    async def start(
        cls, bootstrap: str, fetch_max_wait_ms: int, client: Mapping[str, Any]
    ) -> _ResultWatch:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            **client,
            enable_auto_commit=False,
            fetch_max_wait_ms=fetch_max_wait_ms,  # as the stack's consumers: the clock stops here
        )
        partitions = await topic_partitions(bootstrap, [RESULTS], client)
        await consumer.start()
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)  # resolve "end" now, before any round opens
        return cls(consumer)

    async def collect(
        self, expected: int, window: asyncio.Semaphore, on_round_done: Callable[[], None]
    ) -> dict[str, int]:
        completions: Counter[str] = Counter()
        while self.seen < expected:
            batch = await self._consumer.getmany(timeout_ms=100)
            for record in (r for rs in batch.values() for r in rs):
                # Just the fields we count: validating every result here would load the run.
                result = json.loads(record.value)
                round_id = str(result.get("round_id"))
                if round_id in self._done:
                    self.duplicates += 1
                    continue
                if round_id not in self._expected:
                    self.others += 1
                    continue
                self._done.add(round_id)
                completions[str(result.get("completion"))] += 1
                self.seen += 1
                window.release()
                on_round_done()
        return dict(completions)

    async def stop(self) -> None:
        await self._consumer.stop()


async def _from_database(service: MunicipalService) -> tuple[dict[str, int], int, list[float]]:
    async with UnitOfWork(service.sessions) as uow:
        session = uow.session
        states = dict(
            (
                await session.execute(select(RoundRow.state, func.count()).group_by(RoundRow.state))
            ).all()
        )
        answers = await session.scalar(select(func.count()).select_from(AnswerRow)) or 0
        spans = (
            await session.execute(
                select(RoundRow.opened_at, RoundRow.completed_at).where(
                    RoundRow.completed_at.is_not(None)
                )
            )
        ).all()
    latencies = [(done - opened).total_seconds() for opened, done in spans if done is not None]
    return states, answers, latencies
