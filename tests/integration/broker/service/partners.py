"""Partners played by plain aiokafka clients, as the municipal service's tests need them."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from contracts.enums import AnswerShape, LifeDomain, Partner, YesNo
from contracts.messages import AnswerItem, PartnerAnswer, Question, QuestionSet, RoundResult
from contracts.policy.model import DetailFieldKind
from contracts.topics import RESULTS, answer_topic, message_key, question_topic
from contracts.wire import decode, encode
from tests.support.signing import sign


def permitted_answer(question: Question, antwoord: YesNo = YesNo.JA) -> AnswerItem:
    """The richest answer the question's shape permits (a plain nee for 'nee')."""
    content: dict[str, Any] = {}
    if antwoord is YesNo.JA:
        if question.shape is AnswerShape.JA_NEE_MET_WIE:
            content["met_wie"] = (Partner.CJG, Partner.SWT)
        elif question.shape is AnswerShape.JA_NEE_DOMEINEN:
            content["domeinen"] = (LifeDomain.HUISVESTING, LifeDomain.FINANCIEN)
        elif question.shape is AnswerShape.JA_NEE_TOELICHTING:
            content["toelichting"] = "Bekend sinds vorig schooljaar."
        elif question.shape is AnswerShape.DETAIL:
            content["detail"] = {
                f.name: {
                    DetailFieldKind.JA_NEE: True,
                    DetailFieldKind.AANTAL: 2,
                    DetailFieldKind.TEKST: "geldig",
                }[f.kind]
                for f in question.detail_fields
            }
    return AnswerItem(question_id=question.question_id, antwoord=antwoord, **content)


async def _assign_from_start(consumer: AIOKafkaConsumer, topics: list[str]) -> None:
    await consumer.topics()  # refreshes the metadata that partitions_for_topic reads
    partitions = [
        TopicPartition(topic, p)
        for topic in topics
        for p in sorted(consumer.partitions_for_topic(topic) or {0})
    ]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)


class FakePartners:
    """Reads every partner's question topic and answers on its answer topic."""

    def __init__(self, bootstrap: str, partners: Iterable[Partner] = tuple(Partner)) -> None:
        self.bootstrap = bootstrap
        self.partners = list(partners)
        self.received: list[QuestionSet] = []
        # No consumer group: partitions are assigned by hand, read from the beginning, and no
        # group join slows the tests down.
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self._results = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap)

    async def __aenter__(self) -> FakePartners:
        await asyncio.gather(self._consumer.start(), self._results.start(), self.producer.start())
        await _assign_from_start(self._consumer, [question_topic(p) for p in self.partners])
        await _assign_from_start(self._results, [RESULTS])
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(self._consumer.stop(), self._results.stop(), self.producer.stop())

    async def question_sets(
        self, until: Callable[[list[QuestionSet]], bool], within: float = 20.0
    ) -> list[QuestionSet]:
        async def collect() -> list[QuestionSet]:
            while not until(self.received):
                await self.poll(wait=0.2)
            return self.received

        return await asyncio.wait_for(collect(), within)

    async def poll(self, wait: float) -> list[QuestionSet]:
        """Read what arrived on the question topics within `wait` seconds; returns it."""
        new: list[QuestionSet] = []
        batch = await self._consumer.getmany(timeout_ms=int(wait * 1000))
        for records in batch.values():
            for record in records:
                message = decode(record.value)
                assert isinstance(message, QuestionSet)
                new.append(message)
        self.received += new
        return new

    async def send(self, partner: Partner, payload: bytes, round_id: uuid.UUID) -> None:
        await self.producer.send_and_wait(answer_topic(partner), payload, key=message_key(round_id))

    async def answer(
        self, qs: QuestionSet, choose: Callable[[Question], AnswerItem] = permitted_answer
    ) -> PartnerAnswer:
        message = PartnerAnswer(
            round_id=qs.round_id,
            correlation_id=qs.correlation_id,
            policy=qs.policy,
            partner=qs.partner,
            in_reply_to=qs.message_id,
            answers=tuple(choose(q) for q in qs.questions),
        )
        await self.send(qs.partner, sign(qs.partner, encode(message)), qs.round_id)
        return message

    async def send_items(
        self, qs: QuestionSet, items: list[dict[str, Any]], via: Partner | None = None
    ) -> uuid.UUID:
        """Answer with hand-made items, as a partner that skipped the contracts' checks would."""
        message_id = uuid.uuid4()
        envelope = PartnerAnswer(
            message_id=message_id,
            round_id=qs.round_id,
            correlation_id=qs.correlation_id,
            policy=qs.policy,
            partner=qs.partner,
            in_reply_to=qs.message_id,
            answers=(AnswerItem(question_id=qs.questions[0].question_id, antwoord=YesNo.NEE),),
        ).model_dump(mode="json")
        envelope["answers"] = items
        # Signed by the partner named in the message, as that partner's adapter would.
        signed = sign(qs.partner, json.dumps(envelope).encode())
        await self.send(via or qs.partner, signed, qs.round_id)
        return message_id

    async def results(self, count: int = 1, within: float = 20.0) -> list[RoundResult]:
        found: list[RoundResult] = []

        async def collect() -> list[RoundResult]:
            while len(found) < count:
                batch = await self._results.getmany(timeout_ms=200)
                for records in batch.values():
                    for record in records:
                        message = decode(record.value)
                        assert isinstance(message, RoundResult)
                        found.append(message)
            return found

        return await asyncio.wait_for(collect(), within)

    async def no_more_results(self, wait: float = 1.5) -> list[RoundResult]:
        batch = await self._results.getmany(timeout_ms=int(wait * 1000))
        return [
            m for rs in batch.values() for r in rs if isinstance(m := decode(r.value), RoundResult)
        ]


async def read_topic(
    bootstrap: str, topic: str, count: int, within: float = 20.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """The first `count` records of `topic`, read from the beginning without a group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await _assign_from_start(consumer, [topic])
        found: list[ConsumerRecord[bytes, bytes]] = []

        async def collect() -> None:
            while len(found) < count:
                batch = await consumer.getmany(timeout_ms=200)
                found.extend(r for rs in batch.values() for r in rs)

        await asyncio.wait_for(collect(), within)
        extra = await consumer.getmany(timeout_ms=500)
        found.extend(r for rs in extra.values() for r in rs)
        return found
    finally:
        await consumer.stop()
