"""What a municipal backend needs to talk to iaj-broker, in plain aiokafka.

- `Connection`: where Kafka is and who logs in (the `iaj-backend` user), from `BACKEND_*`
  environment variables.
- `ResultBook` and `consume_results`: read `iaj.results` in the group `iaj-backend`, keep per
  round the result of the highest `revision` (a higher one, after afschalen, replaces a lower
  one and holds less), ignore a message id seen before (the broker publishes at least once, and
  `iaj round republish` sends a result again under its old id), and treat a `cancelled`
  completion as the round's end. Offsets are committed only after the book took the batch.
- `send_command` and `wait_for_reply`: publish an `open_round`, `relabel_case` or
  `cancel_round` command and read its `CommandReply` on `iaj.command-replies` (keyed by the
  command id): accepted, duplicate or rejected with the reason.

The wire models and `decode` come from `contracts` (in both of the project's distributions);
a backend in another language uses the JSON Schemas in contracts/schemas/ instead.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.errors import MalformedMessage
from contracts.messages import (
    CancelRoundCommand,
    CommandReply,
    Completion,
    OpenRoundCommand,
    RelabelCommand,
    RoundResult,
)
from contracts.topics import COMMAND_REPLIES, COMMANDS, RESULTS
from contracts.wire import decode, encode
from kafka_access.principals import BACKEND, BACKEND_GROUP
from kafka_access.security import kafka_security

__all__ = [
    "Command",
    "Connection",
    "ResultBook",
    "Taken",
    "consume_results",
    "send_command",
    "wait_for_reply",
]

Command = OpenRoundCommand | RelabelCommand | CancelRoundCommand
CLIENT_ID = "iaj-backend-example"


@dataclass(frozen=True)
class Connection:
    """How the backend reaches Kafka. Compose: `127.0.0.1:29092`, `SASL_PLAINTEXT`, user
    `iaj-backend` with KAFKA_PASSWORD_IAJ_BACKEND from `.env`; production: `SASL_SSL`."""

    bootstrap: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = None
    cafile: str | None = None
    group: str = BACKEND_GROUP
    # Apache Kafka: on (a retried send is never doubled); the embedded test broker has none.
    idempotence: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Connection:
        protocol = environ.get("BACKEND_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
        return cls(
            bootstrap=environ.get("BACKEND_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
            security_protocol=protocol,
            sasl_mechanism=environ.get("BACKEND_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
            username=environ.get(
                "BACKEND_KAFKA_SASL_USERNAME", None if protocol == "PLAINTEXT" else BACKEND
            ),
            password=environ.get("BACKEND_KAFKA_SASL_PASSWORD"),
            cafile=environ.get("BACKEND_KAFKA_SSL_CAFILE"),
            group=environ.get("BACKEND_GROUP", BACKEND_GROUP),
            idempotence=environ.get("BACKEND_KAFKA_IDEMPOTENCE", "true").lower() != "false",
        )

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's clients: the address, the login, the client id."""
        security = kafka_security(
            self.security_protocol, self.sasl_mechanism, self.username, self.password, self.cafile
        )
        return {
            "bootstrap_servers": self.bootstrap,
            "client_id": CLIENT_ID,
            **security.client_kwargs,
        }


# --- results -----------------------------------------------------------------------------------


class Taken(StrEnum):
    NEW = "new"  # the first result of this round
    REPLACED = "replaced"  # a higher revision: it replaces what was kept
    DUPLICATE = "duplicate"  # this message id was taken before (a redelivery, a republish)
    OUTDATED = "outdated"  # a lower revision than the one kept (arrived late): ignored


@dataclass
class ResultBook:
    """The backend's view: per round the result of the highest revision.

    A real backend keeps `seen` and `rounds` in its own database, written in the transaction
    that stores the result, before the offset is committed (so a crash re-reads, and the
    message id check drops the repeat)."""

    seen: set[uuid.UUID] = field(default_factory=set)
    rounds: dict[uuid.UUID, RoundResult] = field(default_factory=dict)

    def take(self, result: RoundResult) -> Taken:
        if result.message_id in self.seen:
            return Taken.DUPLICATE
        self.seen.add(result.message_id)
        kept = self.rounds.get(result.round_id)
        if kept is not None and kept.revision >= result.revision:
            return Taken.OUTDATED
        self.rounds[result.round_id] = result
        return Taken.NEW if kept is None else Taken.REPLACED

    def cancelled(self) -> list[RoundResult]:
        """Rounds stopped before they completed: what was answered until then is in them."""
        return [r for r in self.rounds.values() if r.completion is Completion.CANCELLED]


OnResult = Callable[[RoundResult, Taken], Awaitable[None] | None]


async def consume_results(
    connection: Connection,
    book: ResultBook,
    stop: asyncio.Event,
    on_result: OnResult | None = None,
    **consumer_options: Any,
) -> None:
    """Read `iaj.results` into `book` until `stop` is set; offsets committed after each batch.

    A record that is not a round result (it cannot be read) is skipped and counted: the
    contract says the topic carries only round results."""
    consumer = AIOKafkaConsumer(
        RESULTS,
        group_id=connection.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # a new backend reads what is still on the topic
        **connection.client_kwargs(),
        **consumer_options,
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    result = _round_result(record.value)
                    if result is None:
                        continue
                    taken = book.take(result)
                    if on_result is not None:
                        done = on_result(result, taken)
                        if done is not None:
                            await done
            if batch:
                await consumer.commit()
    finally:
        await consumer.stop()


def _round_result(raw: bytes | None) -> RoundResult | None:
    try:
        message = decode(raw or b"")
    except MalformedMessage:
        return None
    return message if isinstance(message, RoundResult) else None


# --- commands ----------------------------------------------------------------------------------


def command_key(command: Command) -> bytes:
    """The record key the schemas name: the round id (open, cancel) or the case id (relabel)."""
    if isinstance(command, RelabelCommand):
        return str(command.case_id).encode()
    return str(command.round_id).encode()


async def send_command(connection: Connection, command: Command) -> None:
    """Publish `command` on `iaj.commands` and wait until Kafka has it (acks=all, idempotent:
    a retry never doubles it, and a command sent twice with the same message id is carried
    out once)."""
    producer = AIOKafkaProducer(
        acks="all",
        enable_idempotence=connection.idempotence,
        **connection.client_kwargs(),
    )
    await producer.start()
    try:
        await producer.send_and_wait(
            COMMANDS,
            encode(command),
            key=command_key(command),
            headers=[("message_type", command.type.encode())],
        )
    finally:
        await producer.stop()


async def wait_for_reply(
    connection: Connection,
    command_id: uuid.UUID,
    *,
    within: float = 30.0,
    **consumer_options: Any,
) -> CommandReply:
    """The first reply to `command_id` on `iaj.command-replies`, read from the start of the
    topic without a consumer group (so nothing is committed, and several may wait at once).

    Start waiting before or after sending: the reply stays on the topic. A backend that sends
    many commands reads the topic once, in its group, and matches `in_reply_to` instead."""
    consumer = AIOKafkaConsumer(
        COMMAND_REPLIES,
        group_id=None,  # every partition, from the start; commits nothing
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **connection.client_kwargs(),
        **consumer_options,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(within):
            while True:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for record in records:
                        if record.key != str(command_id).encode():
                            continue  # keyed by the command id: another command's reply
                        reply = decode(record.value or b"")
                        if isinstance(reply, CommandReply) and reply.in_reply_to == command_id:
                            return reply
    finally:
        await consumer.stop()
