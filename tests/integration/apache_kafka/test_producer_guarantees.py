"""The producers of the adapter and of the municipal service keep their guarantees on Apache Kafka.

Against Apache Kafka configured as deployed (SASL/SCRAM users, ACLs), with every client
connection routed through `tests.support.kafka_proxy.KafkaProxy`, this proves:

- the idempotent producers start as their own users: the adapter's (built by
  `partner_adapters.kafka_io.make_kafka_broker`) as `partner-cjg`, the service's (built by
  `MunicipalService.start`) as `iaj-municipal`; each gets a producer id from InitProducerId,
  which these users may ask for only through WRITE on a topic (KIP-679, no cluster ACL);
- the test can see a duplicate: when the broker's response to a Produce is lost and the
  connection breaks, a non-idempotent producer (acks=all) retries the batch and the topic holds
  the message twice;
- the producers the project uses do not duplicate: through the same lost response, an answer
  sent by the adapter's `sender` and a message published by the service's outbox relay land
  exactly once, and the send succeeds (the relay marks the row sent).

Every scenario asserts that the proxy really dropped a response saying the batch was written
(a refusal, e.g. NOT_LEADER_OR_FOLLOWER right after start-up, is passed on and the proxy waits
for the next attempt), so none can pass without a retry of a written batch having happened.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faststream.kafka import KafkaBroker
from pydantic import SecretStr
from sqlalchemy import select

from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings
from contracts import AnswerItem, PartnerAnswer, YesNo, haarlem_policy
from contracts.enums import Partner
from contracts.topics import answer_topic, question_topic
from contracts.wire import encode
from devtools.apache_kafka import ApacheKafka
from devtools.kafka_jars import KafkaJars
from devtools.kafka_node import ADMIN
from handlers.db.tables import OutboxRow
from handlers.db.uow import UnitOfWork
from handlers.outbox import enqueue_raw
from kafka_access.principals import MUNICIPAL, partner_user
from kafka_access.security import SecurityProtocol
from partner_adapters.kafka_io import make_kafka_broker, sender
from partner_adapters.settings import AdapterSettings
from partner_adapters.state import OutboxEntry
from tests.support.kafka_proxy import KafkaProxy
from tests.support.signing import partner_keys_dir, private_key_path

pytestmark = pytest.mark.integration

PARTNER = Partner.CJG
# Generous: CPU is shared with other test runs; nothing here waits this long when it works.
WITHIN = 120.0


@dataclass(frozen=True)
class ProxiedKafka:
    kafka: ApacheKafka
    proxy: KafkaProxy


@pytest.fixture(scope="module")
async def proxied_kafka(
    apache_kafka_jars: KafkaJars, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ProxiedKafka]:
    """Our own node (the session's is not behind a proxy), advertising the proxy's port."""
    started: list[ApacheKafka] = []
    # The proxy listens first: the broker's readiness probe already goes through it.
    async with KafkaProxy(lambda: started[0].listener_port) as proxy:
        kafka = ApacheKafka(
            apache_kafka_jars,
            tmp_path_factory.mktemp("kafka-behind-proxy"),
            advertised_port=proxy.port,
        )
        started.append(kafka)
        async with kafka:
            yield ProxiedKafka(kafka, proxy)


@pytest.fixture
def routed(proxied_kafka: ProxiedKafka) -> Iterator[ProxiedKafka]:
    yield proxied_kafka
    proxied_kafka.proxy.disarm()  # a failed test must not leave a trap for the next one


def assert_one_response_lost(proxy: KafkaProxy, lost_before: int) -> None:
    """The scenario happened: the broker wrote the batch and the client never heard of it."""
    assert not proxy.problems
    assert not proxy.armed, "no Produce with the marker was written by the broker"
    assert proxy.lost_responses == lost_before + 1


def unique_marker() -> bytes:
    return f"producer-guarantee-{uuid.uuid4()}".encode()


# --- the producers start as their own users ----------------------------------------------------


async def test_the_adapter_producer_starts_idempotent_as_the_partner(routed: ProxiedKafka) -> None:
    async with asyncio.timeout(WITHIN), make_kafka_broker(adapter_settings(routed.kafka)) as broker:
        assert producer_id(faststream_producer(broker)) >= 0


async def test_the_service_producer_starts_idempotent_as_municipal(
    routed: ProxiedKafka, tmp_path: Path
) -> None:
    async with (
        asyncio.timeout(WITHIN),
        MunicipalService(service_settings(routed.kafka, tmp_path)) as service,
    ):
        assert service.producer is not None
        assert producer_id(service.producer) >= 0


# --- a lost Produce response -------------------------------------------------------------------


async def test_a_lost_produce_response_makes_a_non_idempotent_producer_write_twice(
    routed: ProxiedKafka,
) -> None:
    # The control: without it, "exactly once" below could mean the test cannot see duplicates.
    kafka, proxy = routed.kafka, routed.proxy
    topic, marker = answer_topic(PARTNER), unique_marker()
    producer = AIOKafkaProducer(
        **kafka.client_kwargs(partner_user(PARTNER)), enable_idempotence=False, acks="all"
    )
    lost_before = proxy.lost_responses
    async with asyncio.timeout(WITHIN):
        await producer.start()
        try:
            proxy.lose_produce_response(marker)
            # aiokafka retries a batch after a broken connection, idempotent or not.
            await producer.send_and_wait(topic, marker)
        finally:
            await producer.stop()
    assert_one_response_lost(proxy, lost_before)
    assert await copies_in(kafka, topic, marker) == 2


async def test_an_answer_from_the_adapter_lands_once_despite_a_lost_produce_response(
    routed: ProxiedKafka,
) -> None:
    kafka, proxy = routed.kafka, routed.proxy
    settings = adapter_settings(kafka)
    marker = unique_marker()
    answer = PartnerAnswer(
        round_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        policy=haarlem_policy().ref,
        partner=PARTNER,
        in_reply_to=uuid.uuid4(),
        answers=(
            AnswerItem(question_id=uuid.uuid4(), antwoord=YesNo.JA, toelichting=marker.decode()),
        ),
    )
    entry = OutboxEntry(
        message_id=answer.message_id,
        question_set_id=answer.in_reply_to,
        round_id=answer.round_id,
        correlation_id=answer.correlation_id,
        payload=encode(answer),  # the adapter signs it as it sends it
    )
    lost_before = proxy.lost_responses
    async with asyncio.timeout(WITHIN), make_kafka_broker(settings) as broker:
        proxy.lose_produce_response(marker)
        ack = await sender(broker, settings)(entry)  # handed to the producer
        if ack is not None:
            await ack  # the broker confirmed it
    assert_one_response_lost(proxy, lost_before)
    assert await copies_in(kafka, answer_topic(PARTNER), marker) == 1


async def test_a_message_from_the_service_relay_lands_once_despite_a_lost_produce_response(
    routed: ProxiedKafka, tmp_path: Path
) -> None:
    kafka, proxy = routed.kafka, routed.proxy
    topic, marker = question_topic(PARTNER), unique_marker()
    message_id = str(uuid.uuid4())
    lost_before = proxy.lost_responses
    async with (
        asyncio.timeout(WITHIN),
        MunicipalService(service_settings(kafka, tmp_path)) as service,
    ):
        proxy.lose_produce_response(marker)
        # As a transaction of the service writes it; the running relay publishes it.
        async with UnitOfWork(service.sessions) as uow:
            enqueue_raw(uow.session, topic, marker, message_id=message_id, key=b"k", headers={})
            await uow.commit()
        assert service.relay is not None
        service.relay.wake()
        # The relay marks a row sent only after the broker acknowledged it.
        while not await marked_sent(service, message_id):  # noqa: ASYNC110 (a database row)
            await asyncio.sleep(0.05)
    assert_one_response_lost(proxy, lost_before)
    # Once: no duplicate from the producer's retry, and no second pass of the relay either.
    assert await copies_in(kafka, topic, marker) == 1


# --- the project's settings, as deployed (docker-compose.yml) ----------------------------------


def adapter_settings(kafka: ApacheKafka) -> AdapterSettings:
    user = partner_user(PARTNER)
    return AdapterSettings(
        _env_file=None,
        signing_key=private_key_path(PARTNER),
        partner=PARTNER,
        kafka_bootstrap=kafka.bootstrap,
        enable_idempotence=True,  # acks="all" is fixed in make_kafka_broker
        security_protocol=SecurityProtocol.SASL_PLAINTEXT,
        sasl_username=user,
        sasl_password=SecretStr(kafka.password(user)),
    )


def service_settings(kafka: ApacheKafka, tmp_path: Path) -> ServiceSettings:
    return ServiceSettings(
        partner_keys_dir=partner_keys_dir(),
        _env_file=None,
        kafka_bootstrap=kafka.bootstrap,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'iaj.db'}",
        producer_idempotence=True,
        producer_acks="all",
        kafka_security_protocol=SecurityProtocol.SASL_PLAINTEXT,
        kafka_sasl_username=MUNICIPAL,
        kafka_sasl_password=SecretStr(kafka.password(MUNICIPAL)),
        topic_partitions=3,
        relay_interval_seconds=0.05,
    )


# --- looking inside ----------------------------------------------------------------------------


def faststream_producer(broker: KafkaBroker) -> Any:
    """The AIOKafkaProducer FastStream built from the broker's settings (private: no API)."""
    fast_producer: Any = broker.config.broker_config.producer
    return fast_producer._producer.producer


def producer_id(producer: Any) -> int:
    """The id InitProducerId gave an idempotent producer; fails for a non-idempotent one."""
    manager = producer._txn_manager  # aiokafka creates it only with enable_idempotence
    assert manager is not None, "the producer is not idempotent"
    return int(manager.producer_id)


async def marked_sent(service: MunicipalService, message_id: str) -> bool:
    async with service.sessions() as session:
        sent_at = await session.scalar(
            select(OutboxRow.sent_at).where(OutboxRow.message_id == message_id)
        )
    return sent_at is not None


async def copies_in(kafka: ApacheKafka, topic: str, marker: bytes) -> int:
    """How many records of `topic` (all of it, read as the super user) contain `marker`."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(ADMIN), enable_auto_commit=False)
    async with asyncio.timeout(WITHIN):
        await consumer.start()
        try:
            while not (numbers := consumer.partitions_for_topic(topic)):
                await consumer._client.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in sorted(numbers)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            copies = 0
            while any([await consumer.position(tp) < end for tp, end in ends.items()]):
                batches = await consumer.getmany(*partitions, timeout_ms=500)
                copies += sum(
                    1 for records in batches.values() for r in records if marker in r.value
                )
            return copies
        finally:
            await consumer.stop()
