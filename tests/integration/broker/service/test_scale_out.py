"""Scaling out: two service instances in one consumer group, on PostgreSQL, with topics of two
partitions. Every round completes exactly once, every question set is published once, and
both instances take a share of the answers."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings
from contracts.enums import Colour, Partner
from contracts.messages import RoundResult
from contracts.topics import answer_topic
from handlers.db.migrate import upgrade
from handlers.db.tables import AnswerRow, QuestionRow, RoundRow
from handlers.rounds import OpenRound
from tests.integration.broker.service.conftest import add_case, recreate_topics
from tests.integration.broker.service.partners import FakePartners
from tests.support.signing import partner_keys_dir

pytestmark = pytest.mark.integration

ROUNDS = 12
PARTITIONS = 2


async def _answer_until_done(partners: FakePartners, rounds: int) -> list[RoundResult]:
    """Answer every question set as it comes (CJG's follow-ups included) until every round's
    result is in."""
    results: list[RoundResult] = []
    while len({r.round_id for r in results}) < rounds:
        for qs in await partners.poll(wait=0.2):
            await partners.answer(qs)
        results += await partners.no_more_results(wait=0.1)
    return results


async def test_two_instances_in_one_group_complete_every_round_exactly_once(
    postgresql_url: str,
    kafka_bootstrap: str,
    unique_suffix: str,
    kafka_group_options: dict[str, int],
) -> None:
    await recreate_topics(kafka_bootstrap, partitions=PARTITIONS)
    settings = ServiceSettings(
        partner_keys_dir=partner_keys_dir(),
        kafka_bootstrap=kafka_bootstrap,
        database_url=postgresql_url,
        consumer_group=f"iaj-municipal-{unique_suffix}",
        # Four group members in one process: the tests' 1 s sessions would keep rebalancing.
        consumer_session_timeout_ms=max(3000, kafka_group_options.get("session_timeout_ms", 0)),
        consumer_heartbeat_interval_ms=500,
        relay_interval_seconds=0.05,
        create_topics=False,
    )
    first, second = MunicipalService(settings), MunicipalService(settings)
    await upgrade(first.engine)
    async with first, second:
        for i in range(ROUNDS):
            colour = Colour.ORANJE if i % 3 == 0 else Colour.GROEN
            case_id = await add_case(first, colour=colour)
            # Opened on both: both relays publish, side by side.
            await (first, second)[i % 2].open_round(
                OpenRound(case_id=case_id, colour=colour, actor="test")
            )
        async with FakePartners(kafka_bootstrap) as partners:
            results = await asyncio.wait_for(_answer_until_done(partners, ROUNDS), 90)
            results += await partners.no_more_results(wait=2.0)
            published = Counter(qs.message_id for qs in partners.received)
        assignments = [
            answers
            for service in (first, second)
            for subscriber in service.broker.subscribers
            if (answers := _answer_partitions(subscriber))
        ]

    assert sorted(Counter(r.round_id for r in results).values()) == [1] * ROUNDS, (
        "exactly one result per round"
    )
    assert set(published.values()) == {1}, "no question set published by both relays"
    assert len(assignments) == 2, "both instances hold answer partitions"
    mine, theirs = assignments
    assert not mine & theirs, "no answer partition is read by both"
    assert {(tp.topic, tp.partition) for tp in mine | theirs} == {
        (answer_topic(p), n) for p in Partner for n in range(PARTITIONS)
    }, "between them they read every answer partition"
    async with first.sessions() as session:
        states = dict(
            (
                await session.execute(select(RoundRow.state, func.count()).group_by(RoundRow.state))
            ).all()
        )
        answers = await session.scalar(select(func.count()).select_from(AnswerRow))
        answered_questions = await session.scalar(
            select(func.count()).select_from(QuestionRow).where(QuestionRow.status == "answered")
        )
    await first.engine.dispose()
    await second.engine.dispose()
    assert states == {"complete": ROUNDS}
    assert answers == answered_questions, "each question answered once"


def _answer_partitions(subscriber: object) -> set[Any]:
    """The answer partitions a subscriber's consumer is assigned (FastStream keeps the
    aiokafka consumer in a private attribute: no API)."""
    consumer: Any = getattr(subscriber, "consumer", None)
    if consumer is None:
        return set()
    return {tp for tp in consumer.assignment() if tp.topic.startswith("iaj.answers.")}
