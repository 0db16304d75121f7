"""Real PostgreSQL faults during a stream of rounds: no round lost, none dead-lettered.

While rounds are opened through `iaj.commands` and answered by the partners, the
sessions of the service are terminated again and again (`pg_terminate_backend`, what a
failover, an administrator or a pooler does), and the server is switched read-only for a
while (`default_transaction_read_only`, what a read-only failover target or a full disk
looks like). Every round must still end with exactly one result and nothing may be
dead-lettered. The test disturbs a PostgreSQL of its own, never a shared server.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings
from contracts.enums import Colour
from contracts.messages import OpenRoundCommand
from contracts.topics import COMMANDS, message_key
from contracts.wire import encode
from devtools.local_postgres import LocalPostgres
from tests.integration.broker.service.conftest import add_case
from tests.integration.broker.service.dbcheck import count
from tests.integration.broker.service.partners import FakePartners
from tests.support.signing import partner_keys_dir

pytestmark = pytest.mark.integration

ROUNDS = 24
DISTURBANCE_SECONDS = 20.0
TERMINATIONS = 30


@pytest.fixture
async def own_postgres() -> AsyncIterator[LocalPostgres]:
    server = LocalPostgres()
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def _terminate_sessions(admin: asyncpg.Connection, database: str) -> int:
    """Every session of the service's database, busy or idle in its pool, as a failover
    does. (Busy ones alone were too few to count on: on a fast machine the rounds were done
    before five were caught in the act.)"""
    terminated = await admin.fetchval(
        """SELECT count(*) FROM (
               SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE datname = $1 AND pid <> pg_backend_pid()
           ) AS t""",
        database,
    )
    return int(terminated)


async def _read_only(admin: asyncpg.Connection, on: bool) -> None:
    await admin.execute(f"ALTER SYSTEM SET default_transaction_read_only = {'on' if on else 'off'}")
    await admin.execute("SELECT pg_reload_conf()")


async def _disturb(admin: asyncpg.Connection, database: str, stop: asyncio.Event) -> int:
    """Every 0.3 s terminate the service's sessions, until 30 were or 20 s passed; after the first
    few, two seconds of read-only. Bounded in time too: on a loaded machine nearly every
    transaction is still busy 0.3 s in, and an outage longer than the service's retry window
    (IAJ_DATABASE_RETRY_SECONDS) rightly halts it."""
    terminated = 0
    step = 0
    until = asyncio.get_running_loop().time() + DISTURBANCE_SECONDS
    while (
        not stop.is_set()
        and terminated < TERMINATIONS
        and asyncio.get_running_loop().time() < until
    ):
        if step == 5:
            await _read_only(admin, on=True)
        if step == 12:
            await _read_only(admin, on=False)
        terminated += await _terminate_sessions(admin, database)
        step += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.3)
    await _read_only(admin, on=False)
    return terminated


async def _answer_everything(partners: FakePartners, stop: asyncio.Event) -> None:
    while not stop.is_set():
        for question_set in await partners.poll(wait=0.1):
            await partners.answer(question_set)


async def test_rounds_survive_terminated_sessions_and_a_read_only_spell(
    own_postgres: LocalPostgres,
    clean_kafka: str,
    unique_suffix: str,
    kafka_group_options: dict[str, int],
) -> None:
    database = f"iaj_faults_{unique_suffix}"
    admin = await asyncpg.connect(own_postgres.dsn)
    # Our own session stays writable when the server's default turns read-only.
    await admin.execute("SET default_transaction_read_only = off")
    await admin.execute(f'CREATE DATABASE "{database}"')
    settings = ServiceSettings(
        partner_keys_dir=partner_keys_dir(),
        kafka_bootstrap=clean_kafka,
        database_url=make_url(own_postgres.dsn)
        .set(drivername="postgresql+asyncpg", database=database)
        .render_as_string(hide_password=False),
        consumer_group=f"iaj-municipal-{unique_suffix}",
        consumer_session_timeout_ms=kafka_group_options.get("session_timeout_ms", 10_000),
        consumer_heartbeat_interval_ms=kafka_group_options.get("heartbeat_interval_ms", 3_000),
        relay_interval_seconds=0.05,
        deadline_check_interval_seconds=0.2,
    )
    stop = asyncio.Event()
    try:
        async with MunicipalService(settings) as service, FakePartners(clean_kafka) as partners:
            cases = [await add_case(service) for _ in range(ROUNDS)]
            disturbing = asyncio.create_task(_disturb(admin, database, stop))
            answering = asyncio.create_task(_answer_everything(partners, stop))
            for case_id in cases:
                command = OpenRoundCommand(
                    round_id=uuid.uuid4(),
                    correlation_id=uuid.uuid4(),
                    policy=service.policy.ref,
                    case_id=uuid.UUID(case_id),
                    colour=Colour.GROEN,
                    requested_by="regisseur-test",
                )
                await partners.producer.send_and_wait(
                    COMMANDS, encode(command), key=message_key(command.round_id)
                )
            results = await partners.results(count=ROUNDS, within=240)
            stop.set()
            terminated = await disturbing
            await answering
            late = await partners.no_more_results(wait=1.0)
            dead_letters = await count(service.sessions, "dead_letters")
            halted = service.halted
    finally:
        stop.set()
        await _read_only(admin, on=False)
        await admin.close()

    assert terminated >= 5, f"only {terminated} sessions were terminated"
    assert not halted
    assert dead_letters == 0, "a fault of the database is never the message's"
    per_round: dict[uuid.UUID, set[uuid.UUID]] = {}
    for result in results + late:
        per_round.setdefault(result.round_id, set()).add(result.message_id)
    assert len(per_round) == ROUNDS, "every round has its result"
    assert all(len(ids) == 1 for ids in per_round.values()), "one result per round"
