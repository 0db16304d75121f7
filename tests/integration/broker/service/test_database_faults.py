"""A database failure at any statement of the answer path never loses or skips a message.

A hook on the service's engine fails the n-th SQL statement after it is armed, for every n
until the path runs out of statements. Whatever fails — the batch, the one-by-one retry, the
dead-letter write — each message ends stored, dead-lettered (only a message that is itself
bad) or, when the database stays unusable, unacknowledged and delivered again after the
service halted and restarted. SQLite here for speed; tests/integration/apache_kafka and
test_postgres_faults.py do the same against real faults of a real PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg.exceptions as pg
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings
from contracts.enums import Colour, Partner
from contracts.messages import QuestionSet
from handlers.db.engine import make_engine, make_session_factory
from handlers.rounds import OpenRound
from tests.integration.broker.service.conftest import add_case
from tests.integration.broker.service.dbcheck import count
from tests.integration.broker.service.partners import FakePartners

pytestmark = pytest.mark.integration

GROEN_FIRST_WAVE = {Partner.VERWIJSINDEX, Partner.LEERPLICHT, Partner.SWT}
POISON = b"\x00not json at all"


class StatementFaults:
    """Fails statements of an engine on demand: from the n-th one from now, `times` in a row
    (a session terminated again on the next try, say) or from then on."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.sync_engine
        self._countdown: int | None = None
        self._persistent = False
        self._times = 1
        self._make_error: Callable[[], Exception] = _session_terminated
        self.fired = 0
        event.listen(self._engine, "before_cursor_execute", self._before)

    def remove(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._before)

    def arm(
        self,
        at: int,
        *,
        times: int = 1,
        persistent: bool = False,
        error: Callable[[], Exception] = lambda: _session_terminated(),
    ) -> None:
        self._countdown, self._persistent, self._make_error = at, persistent, error
        self._times = times
        self.fired = 0

    def disarm(self) -> None:
        self._countdown = None

    def _before(self, *_: Any) -> None:
        if self._countdown is None:
            return
        if self._countdown > 0:
            self._countdown -= 1
            return
        self.fired += 1
        if not self._persistent and self.fired >= self._times:
            self._countdown = None
        raise self._make_error()


def _session_terminated() -> Exception:
    """What asyncpg raises when an administrator or a failover ends the session (57P01)."""
    error: Exception = pg.AdminShutdownError("terminating connection due to administrator command")
    return error


def _not_the_message_fault() -> Exception:
    """An error that is not the database's state (a bug, say), so not retried."""
    error: Exception = pg.CheckViolationError("new row violates a check constraint")
    return error


@contextmanager
def faults_on(service: MunicipalService) -> Iterator[StatementFaults]:
    faults = StatementFaults(service.engine)
    try:
        yield faults
    finally:
        faults.remove()


@pytest.fixture
def quiet(settings: ServiceSettings) -> ServiceSettings:
    """Only the consumer (and the relay, when woken) runs statements: no idle polling that
    would take the fault meant for the answer path."""
    return settings.model_copy(
        update={"relay_interval_seconds": 60.0, "deadline_check_interval_seconds": 60.0}
    )


@pytest.fixture
def quick_halt(quiet: ServiceSettings) -> ServiceSettings:
    """Retries give up after half a second: a database that stays unusable halts quickly."""
    return quiet.model_copy(update={"database_retry_seconds": 0.5})


@pytest.fixture
async def observer(settings: ServiceSettings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The test's own view of the database, on an engine the faults do not touch."""
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    await engine.dispose()


async def _first_wave(
    service: MunicipalService, partners: FakePartners
) -> tuple[str, list[QuestionSet]]:
    case_id = await add_case(service)
    round_id = await service.open_round(
        OpenRound(case_id=case_id, colour=Colour.GROEN, actor="test")
    )
    sets = await partners.question_sets(
        lambda got: {q.partner for q in got if str(q.round_id) == round_id} >= GROEN_FIRST_WAVE
    )
    return round_id, [qs for qs in sets if str(qs.round_id) == round_id]


async def _until(condition: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while not await condition():  # noqa: ASYNC110 - the database offers nothing to await
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_transient_failure_at_any_statement_loses_nothing(
    quiet: ServiceSettings,
    clean_kafka: str,
    observer: async_sessionmaker[AsyncSession],
) -> None:
    """For every statement n of the path that stores a batch of answers and dead-letters a
    bad message: the session is terminated at statement n, and again on each of the next two
    tries. The transaction is retried on a new connection until it succeeds: every answer is
    stored once and only the bad message is dead-lettered (an error taken for the message's
    fault would dead-letter a good answer on its second failure)."""
    async with MunicipalService(quiet) as service, FakePartners(clean_kafka) as partners:
        with faults_on(service) as faults:
            stored = letters = 0
            for n in range(200):  # ends when statement n is past the path's last one
                _, sets = await _first_wave(service, partners)
                faults.arm(at=n, times=3)
                for qs in sets:
                    await partners.answer(qs)
                await partners.send(Partner.SWT, POISON, sets[0].round_id)
                stored, letters = stored + len(sets), letters + 1

                async def settled(answers: int = stored, dead: int = letters) -> bool:
                    return (
                        await count(observer, "answers") == answers
                        and await count(observer, "dead_letters") == dead
                    )

                await _until(settled)
                assert not service.halted
                if not faults.fired:
                    break
                faults.disarm()
            else:
                pytest.fail("the path never ran out of statements")
    assert n > 5, "the path was exercised statement by statement"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "error", [_session_terminated, _not_the_message_fault], ids=["unusable", "broken"]
)
async def test_a_database_that_keeps_failing_halts_the_service_before_any_ack(
    quick_halt: ServiceSettings,
    clean_kafka: str,
    observer: async_sessionmaker[AsyncSession],
    error: Callable[[], Exception],
) -> None:
    """From some statement on, every statement fails: the batch, then the dead-letter write
    (for "broken": an error that would otherwise dead-letter the message). The service halts
    without acknowledging; a restarted service gets the messages again and stores them."""
    async with FakePartners(clean_kafka) as partners:
        async with MunicipalService(quick_halt) as first:
            round_id, sets = await _first_wave(first, partners)
            with faults_on(first) as faults:
                faults.arm(at=0, persistent=True, error=error)
                for qs in sets:
                    await partners.answer(qs)
                await partners.send(Partner.SWT, POISON, sets[0].round_id)

                async def halted() -> bool:
                    return first.halted

                await _until(halted)
                assert faults.fired
            assert await count(observer, "answers") == 0
        # A new instance in the same group: nothing was committed, everything comes again.
        async with MunicipalService(quick_halt) as second:

            async def all_stored() -> bool:
                return (
                    await count(observer, "answers") == len(sets)
                    and await count(observer, "dead_letters") == 1
                )

            await _until(all_stored, within=60)
            assert not second.halted
    assert round_id
