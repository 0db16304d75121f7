"""On the deployment's Apache Kafka, a partner logged in as itself sends what it should not:
bytes that are no answer, and an answer signed with another partner's key. The municipality
takes neither, tells the partner on its refusal topic, and keeps nothing of either.

(The full hostile-input suite runs against the embedded broker:
tests/integration/broker/service/test_hostile_input.py. This is the same rule where the
clients are real users under ACLs.)
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from contracts.enums import Partner, YesNo
from contracts.errors import RefusalReason
from contracts.messages import AnswerItem, PartnerAnswer, RefusalNotice
from contracts.policy import haarlem_policy
from contracts.signing import sign_answer
from contracts.topics import DEADLETTER, answer_topic, message_key, refusal_topic
from contracts.wire import decode, encode
from devtools.apache_kafka import ApacheKafka
from devtools.embedded_stack import EmbeddedStack, StackOptions
from devtools.kafka_jars import KafkaJars
from devtools.signing_keys import private_key
from handlers.db.tables import AnswerRow, DeadLetterRow
from kafka_access.principals import partner_user
from partner_adapters.signing_key import load_signer
from tests.integration.apache_kafka.reading import read_all

pytestmark = pytest.mark.integration

SENDER, OTHER = Partner.OM, Partner.CJIB
MARKER = "Merkteken-ApacheKafka-Vijandig"


async def _notices(kafka: ApacheKafka, count: int, within: float = 120) -> list[RefusalNotice]:
    async with asyncio.timeout(within):
        while True:
            found = [decode(r.value) for r in await read_all(kafka, refusal_topic(SENDER))]
            notices = [n for n in found if isinstance(n, RefusalNotice)]
            if len(notices) >= count:
                return notices
            await asyncio.sleep(0.5)


async def test_a_partners_garbage_and_a_borrowed_signature_are_refused_and_not_kept(
    apache_kafka_jars: KafkaJars, tmp_path: Path, postgresql_url: str
) -> None:
    async with ApacheKafka(apache_kafka_jars, tmp_path / "kafka") as kafka:
        passwords = {user: kafka.password(user) for user in kafka.users}
        options = StackOptions(
            workdir=tmp_path / "stack",
            database_url=postgresql_url,
            kafka_passwords=passwords,
            adapters=frozenset(),  # the partner here is this test, logged in as OM
        )
        async with EmbeddedStack(options, kafka_bootstrap=kafka.bootstrap) as stack:
            assert stack.service is not None
            borrowed = load_signer(private_key(tmp_path / "stack", OTHER))
            answer = PartnerAnswer(
                round_id=uuid.uuid4(),
                correlation_id=uuid.uuid4(),
                policy=haarlem_policy().ref,
                partner=SENDER,
                in_reply_to=uuid.uuid4(),
                answers=(
                    AnswerItem(question_id=uuid.uuid4(), antwoord=YesNo.JA, toelichting=MARKER),
                ),
            )
            producer = AIOKafkaProducer(
                **kafka.client_kwargs(partner_user(SENDER)), enable_idempotence=True, acks="all"
            )
            await producer.start()
            try:
                topic, key = answer_topic(SENDER), message_key(answer.round_id)
                await producer.send_and_wait(topic, f"geen JSON: {MARKER}".encode(), key=key)
                await producer.send_and_wait(topic, sign_answer(borrowed, encode(answer)), key=key)
            finally:
                await producer.stop()
            notices = await _notices(kafka, 2)
            letters = await read_all(kafka, DEADLETTER)
            async with stack.service.sessions() as session:
                stored = await session.scalar(select(func.count()).select_from(AnswerRow))
                dead = list(await session.scalars(select(DeadLetterRow)))

    # Two notices, one each; not in order: the malformed one has no key (the sender's key is
    # the sender's bytes), so it may land on another partition than the other.
    by_reason = {n.reason: n for n in notices}
    assert len(notices) == 2
    assert set(by_reason) == {RefusalReason.MALFORMED, RefusalReason.BAD_SIGNATURE}
    assert by_reason[RefusalReason.BAD_SIGNATURE].in_reply_to == answer.message_id
    assert by_reason[RefusalReason.MALFORMED].in_reply_to is None
    assert all(MARKER.encode() not in encode(n) for n in notices)
    assert stored == 0
    assert [(d.reason, d.partner) for d in dead] == [("not_json", SENDER.value)]
    assert [dict(r.headers)["dlq_reason"] for r in letters] == [b"not_json"]
