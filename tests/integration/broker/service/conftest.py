"""Fixtures for the municipal service: a clean set of topics, a running service, a case."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from broker.service.kafka_admin import create_topics
from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings
from contracts.enums import Colour, District, Track
from contracts.topics import all_topics
from handlers.cases import Criterion, FamilyMember, NewCase, register_case
from handlers.db.uow import UnitOfWork
from tests.support.clock import today
from tests.support.signing import partner_keys_dir


async def recreate_topics(bootstrap: str, partitions: int = 1) -> None:
    """Delete every iaj topic and create it anew: no earlier test's messages are seen."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        stale = [t for t in all_topics() if t in existing]
        if stale:
            await admin.delete_topics(stale)
    finally:
        await admin.close()
    await create_topics(bootstrap, all_topics(), partitions=partitions)


@pytest.fixture
async def clean_kafka(kafka_bootstrap: str) -> str:
    """The session's broker with every iaj topic deleted and created anew."""
    await recreate_topics(kafka_bootstrap)
    return kafka_bootstrap


@pytest.fixture
def settings(
    clean_kafka: str, database_url: str, unique_suffix: str, kafka_group_options: dict[str, int]
) -> ServiceSettings:
    return ServiceSettings(
        partner_keys_dir=partner_keys_dir(),
        consumer_session_timeout_ms=kafka_group_options.get("session_timeout_ms", 10_000),
        consumer_heartbeat_interval_ms=kafka_group_options.get("heartbeat_interval_ms", 3_000),
        kafka_bootstrap=clean_kafka,
        database_url=database_url,
        consumer_group=f"iaj-municipal-{unique_suffix}",
        relay_interval_seconds=0.05,
        deadline_check_interval_seconds=0.2,
    )


@pytest.fixture
async def service(settings: ServiceSettings) -> AsyncIterator[MunicipalService]:
    async with MunicipalService(settings) as svc:
        yield svc


def synthetic_case(
    family: int | None = None, informed: bool = True, colour: Colour = Colour.GROEN
) -> NewCase:
    """An invented youth labelled `colour`, with the criteria the label needs; two family
    members unless groen (which has none) or `family` says otherwise."""
    if family is None:
        family = 0 if colour is Colour.GROEN else 2
    criteria = [Criterion.POLITIECONTACTEN, Criterion.NETWERK_IMPACT_WIJK]
    if colour is Colour.ROOD:
        criteria.append(Criterion.GEDRAG_GECONTINUEERD)
    return NewCase(
        naam="Sem Testbeek",
        geboortedatum=dt.date(today().year - 17, 3, 14),
        district=District.SCHALKWIJK,
        track=Track.IAJ,
        criteria=tuple(criteria),
        colour=colour,
        family=tuple(
            FamilyMember(naam=f"Gezinslid Testbeek {i}", geboortedatum=dt.date(1980 + i, 1, 1))
            for i in range(1, family + 1)
        ),
        informed_on=today() - dt.timedelta(days=7) if informed else None,
    )


async def add_case(
    service: MunicipalService, case: NewCase | None = None, *, colour: Colour = Colour.GROEN
) -> str:
    async with UnitOfWork(service.sessions) as uow:
        case_id = await register_case(
            uow,
            case or synthetic_case(colour=colour),
            actor="test",
            today=today(),
            policy=service.policy,
        )
        await uow.commit()
    return case_id
