"""The deployment's Apache Kafka, as the compose file configures it, carries whole rounds.

The broker is started by `deploy/kafka/start.sh` and given its users, topics and ACLs by
`deploy/kafka-init.sh` (devtools.apache_kafka), the files the compose deployment runs. The
municipal service logs in as `iaj-municipal`, each of the 14 reference adapters as its own
`partner-<code>` user, both with the idempotent producer and acks=all; the service keeps its
state in PostgreSQL. Each test starts its own broker: the adapters' consumer groups have fixed
names, and one test kills its broker.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from broker.service.consumer_lag import read_lag
from contracts.enums import Colour, District, Partner, Track
from contracts.messages import Completion, OutcomeStatus, RoundResult
from contracts.topics import RESULTS
from contracts.wire import decode
from devtools.apache_kafka import ApacheKafka
from devtools.embedded_stack import EmbeddedStack, StackOptions
from devtools.kafka_jars import KafkaJars
from devtools.kafka_node import ADMIN
from handlers.cases import Criterion, NewCase, register_case
from handlers.db.tables import AnswerRow, QuestionRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.rounds import OpenRound
from kafka_access.principals import (
    MONITOR,
    MUNICIPAL_CLIENT,
    MUNICIPAL_GROUP,
    partner_client,
    partner_group,
)
from partner_adapters.reference.cast import CAST
from tests.integration.apache_kafka.reading import read_all

pytestmark = pytest.mark.integration

# partner_adapters/reference/cast.py: known to every partner, 'ja' to every question.
_KNOWN_TO_ALL = CAST[0]


def _youth(number: int, colour: Colour) -> NewCase:
    """An invented youth. Number 0 is known to every reference partner, with a 'ja' to every
    question, so every dependent question is asked too; the others are unknown ('nee')."""
    known = number == 0
    return NewCase(
        naam=_KNOWN_TO_ALL.naam if known else f"Jongere Proefnummer{number}",
        geboortedatum=_KNOWN_TO_ALL.geboortedatum
        if known
        else dt.date(2008, 1, 1) + dt.timedelta(days=number),
        district=District.SCHALKWIJK,
        track=Track.IAJ,
        criteria=(Criterion.POLITIECONTACTEN, Criterion.GEDRAG_GECONTINUEERD)
        if colour is Colour.ROOD
        else (Criterion.POLITIECONTACTEN,),
        colour=colour,
        informed_on=dt.date.today() - dt.timedelta(days=3),
    )


def _stack(kafka: ApacheKafka, workdir: Path, database_url: str) -> EmbeddedStack:
    passwords = {user: kafka.password(user) for user in kafka.users}
    options = StackOptions(workdir=workdir, database_url=database_url, kafka_passwords=passwords)
    return EmbeddedStack(options, kafka_bootstrap=kafka.bootstrap)


async def _open(stack: EmbeddedStack, number: int, colour: Colour) -> str:
    service = stack.service
    assert service is not None
    async with UnitOfWork(service.sessions) as uow:
        case_id = await register_case(
            uow, _youth(number, colour), actor="test", today=dt.date.today(), policy=service.policy
        )
        await uow.commit()
    return await service.open_round(OpenRound(case_id=case_id, colour=colour, actor="test"))


async def _wait_until_complete(stack: EmbeddedStack, round_ids: set[str], within: float) -> None:
    service = stack.service
    assert service is not None
    async with asyncio.timeout(within):
        while True:
            async with service.sessions() as session:
                states = set(
                    await session.scalars(select(RoundRow.state).where(RoundRow.id.in_(round_ids)))
                )
            if states == {"complete"}:
                return
            await asyncio.sleep(0.25)


async def _wait_for_answers(stack: EmbeddedStack) -> None:
    service = stack.service
    assert service is not None
    async with asyncio.timeout(120):
        while True:
            async with service.sessions() as session:
                if await session.scalar(select(func.count()).select_from(AnswerRow)):
                    return
            await asyncio.sleep(0.05)


async def _results_by_round(kafka: ApacheKafka) -> dict[uuid.UUID, list[RoundResult]]:
    results: dict[uuid.UUID, list[RoundResult]] = defaultdict(list)
    for record in await read_all(kafka, RESULTS):
        result = decode(record.value)
        assert isinstance(result, RoundResult)
        results[result.round_id].append(result)
    return results


async def _client_ids(kafka: ApacheKafka, groups: list[str]) -> dict[str, set[str]]:
    """group -> the client ids of its members, as the broker describes them (as `admin`)."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs(ADMIN))
    await admin.start()
    try:
        found = {}
        for group in groups:
            [response] = await admin.describe_consumer_groups([group])
            [(_, _, _, _, _, members, *_)] = response.groups
            found[group] = {member[1] for member in members}
        return found
    finally:
        await admin.close()


async def test_a_round_with_every_client_logged_in_as_its_own_user(
    apache_kafka_jars: KafkaJars,
    tmp_path: Path,
    postgresql_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with (
        ApacheKafka(apache_kafka_jars, tmp_path / "kafka") as kafka,
        _stack(kafka, tmp_path / "stack", postgresql_url) as stack,
    ):
        # Only where this machine differs from the compose network is the configuration
        # changed: deploy/kafka/server.properties decides security, authorisation, topics.
        local = (tmp_path / "kafka" / "local.properties").read_text().splitlines()
        overridden = {line.split("=", 1)[0] for line in local if not line.startswith("#")}
        assert overridden == {
            "listeners",
            "advertised.listeners",
            "controller.quorum.voters",
            "log.dirs",
        }
        assert stack.service is not None
        policy = stack.service.policy
        round_id = await _open(stack, 0, Colour.ROOD)
        await _wait_until_complete(stack, {round_id}, within=120)
        results = await _results_by_round(kafka)
        # Every client names itself in Kafka's view of the groups (not faststream-<uuid>).
        groups = [MUNICIPAL_GROUP, *(partner_group(p) for p in Partner)]
        client_ids = await _client_ids(kafka, groups)
        # `iaj status`'s lag, read as the read-only monitoring user: the adapters are
        # connected and none has left a question unconsumed.
        login: dict[str, Any] = dict(kafka.client_kwargs(MONITOR))
        lag = await read_lag(
            login.pop("bootstrap_servers"),
            silent_after=dt.timedelta(minutes=1),
            now=dt.datetime.now(dt.UTC),
            **login,
        )

    assert client_ids == {
        MUNICIPAL_GROUP: {MUNICIPAL_CLIENT},
        **{partner_group(p): {partner_client(p)} for p in Partner},
    }
    assert [a.members for a in lag.adapters] == [1] * len(Partner)
    assert lag.silent() == []

    (result,) = results[uuid.UUID(round_id)]
    assert result.completion is Completion.COMPLETE
    asked = set(policy.partners(Colour.ROOD))
    assert asked == set(Partner), "rood asks every partner: all 14 logins are exercised"
    assert {p.partner for p in result.partners} == asked
    statuses = {p.partner: {o.status for o in p.questions} for p in result.partners}
    # An unknown youth: 'nee' everywhere, so questions that depend on a 'ja' do not apply.
    assert all(OutcomeStatus.ANSWERED in s for s in statuses.values()), statuses
    assert all(
        s <= {OutcomeStatus.ANSWERED, OutcomeStatus.NOT_APPLICABLE} for s in statuses.values()
    )


async def test_rounds_survive_kill_9_of_kafka_with_exactly_one_result_each(
    apache_kafka_jars: KafkaJars, tmp_path: Path, postgresql_url: str
) -> None:
    """A stream of rounds; Kafka is killed (no shutdown, no flush) while questions, answers
    and results are in flight, and restarted on the same data folder."""
    rounds: set[str] = set()
    async with ApacheKafka(apache_kafka_jars, tmp_path / "kafka") as kafka:
        async with _stack(kafka, tmp_path / "stack", postgresql_url) as stack:
            for number in range(6):
                rounds.add(await _open(stack, number, Colour.ORANJE))
            await _wait_for_answers(stack)  # answers flow: now the broker dies
            await kafka.kill()
            # Opened while Kafka is down: the questions wait in the outbox.
            for number in range(6, 12):
                rounds.add(await _open(stack, number, Colour.ORANJE))
            await kafka.start()
            for number in range(12, 18):
                rounds.add(await _open(stack, number, Colour.ORANJE))
            await _wait_until_complete(stack, rounds, within=300)
            service = stack.service
            assert service is not None
            async with service.sessions() as session:
                rows = await session.execute(
                    select(QuestionRow.status, func.count().label("n")).group_by(QuestionRow.status)
                )
                statuses: dict[str, int] = {row.status: row.n for row in rows}
                answers = await session.scalar(select(func.count()).select_from(AnswerRow))
        results = await _results_by_round(kafka)

    # Questions whose condition ('after a ja of ...') was not met are not asked.
    assert set(statuses) <= {"answered", "not_applicable"}, statuses
    assert answers == statuses["answered"], "one stored answer per answered question"
    assert set(results) == {uuid.UUID(r) for r in rounds}, "every round has its result"
    for round_id, published in results.items():
        # At-least-once may repeat the one result message, never publish a second one.
        assert len({r.message_id for r in published}) == 1, f"round {round_id}: two results"
        assert published[0].completion is Completion.COMPLETE
