"""Kafka for the adapter: one producer/consumer factory, and how an answer is published.

The adapter reads only `iaj.questions.<partner>` and writes only `iaj.answers.<partner>`, which
is exactly what the ACLs of the production cluster allow a partner. It never creates topics:
the municipality owns them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from faststream.kafka import KafkaBroker

from contracts.signing import Signer, sign_answer
from contracts.topics import answer_topic, message_key
from kafka_access.principals import partner_client, partner_group
from kafka_access.tracing import current_trace_headers, telemetry_middlewares
from partner_adapters.delivery import Send, deliver_outbox
from partner_adapters.settings import AdapterSettings
from partner_adapters.signing_key import load_signer
from partner_adapters.state import AdapterStore, OutboxEntry

__all__ = ["consumer_group", "deliver_once", "make_kafka_broker", "sender"]

_log = logging.getLogger("partner_adapters")


def consumer_group(settings: AdapterSettings) -> str:
    return partner_group(settings.require_partner())


def make_kafka_broker(settings: AdapterSettings) -> KafkaBroker:
    """A broker object; it connects only when started."""
    return KafkaBroker(
        settings.kafka_bootstrap,
        # Names the partner in Kafka's tools and broker logs (`iaj-adapter-<code>`).
        client_id=partner_client(settings.require_partner()),
        # Idempotence is a setting: Apache Kafka supports it, the embedded Tansu does not.
        enable_idempotence=settings.enable_idempotence,
        acks="all",
        security=settings.kafka_security().faststream,
        # Our logger, not FastStream's stdout default; per-message lines only at DEBUG.
        logger=logging.getLogger("partner_adapters.kafka"),
        log_level=logging.DEBUG,
        # Tracing, when on (OTEL_*): the consume span continues the question set's trace and
        # an answer published from it carries that trace's `traceparent` on.
        middlewares=telemetry_middlewares(),
    )


def sender(broker: KafkaBroker, settings: AdapterSettings) -> Send:
    """A Send that hands an outbox entry to the producer and returns the broker's
    confirmation to await (several answers are in flight at once)."""
    topic = answer_topic(settings.require_partner())
    signers: list[Signer] = []  # loaded at the first send: `iaj-adapter run` checks it first

    async def send(entry: OutboxEntry) -> Awaitable[object] | None:
        if not signers:
            signers.append(load_signer(settings.signing_key))
        key = message_key(entry.round_id)  # every message of a round in one partition, in order
        correlation_id = str(entry.correlation_id)
        # Signed now, from the bytes recorded (`contracts.wire.encode`): the automatic and the
        # manual path alike. Ed25519 is deterministic, so a resend sends the same bytes.
        # Readers decode them with `contracts.wire.decode` (a FastStream reader: from the raw
        # message, since FastStream json-parses a body it can, whatever its annotation).
        payload = sign_answer(signers[0], entry.payload)
        ack: object = await broker.publish(
            payload,
            topic,
            key=key,
            correlation_id=correlation_id,
            # The question set's trace (when sent while handling it): the middleware replaces
            # it with its own span's when tracing is on, else it is passed on as it came.
            headers=current_trace_headers(),
            no_confirm=True,  # the caller awaits the acks of a whole batch together
        )
        if not isinstance(ack, asyncio.Future):  # FastStream's in-memory test broker
            _log_sent(entry)
            return None

        def confirmed(done: asyncio.Future[object]) -> None:
            if not done.cancelled() and done.exception() is None:
                _log_sent(entry)

        ack.add_done_callback(confirmed)
        return ack

    def _log_sent(entry: OutboxEntry) -> None:
        _log.info(
            "answer %s to question set %s sent",
            entry.message_id,
            entry.question_set_id,
            extra={
                "event": "answer_sent",
                "partner": settings.require_partner().value,
                "round_id": str(entry.round_id),
                "correlation_id": str(entry.correlation_id),
                "message_id": str(entry.message_id),
                "question_set_id": str(entry.question_set_id),
            },
        )

    return send


async def deliver_once(settings: AdapterSettings, store: AdapterStore) -> int:
    """Connect, send every recorded and unsent answer, disconnect (for the CLI)."""
    if not await store.unsent():
        return 0
    async with make_kafka_broker(settings) as broker:
        return await deliver_outbox(store, sender(broker, settings))
