"""The municipal backend kit (examples/backend/) against the running service on the session's
Kafka: a command it sends is carried out and answered on iaj.command-replies, a rejected one
is answered with why (never naming an official), the result consumer keeps one result per
round and drops a re-published one by its message id; and `iaj status`'s lag reader sees the
adapters' groups. (The client ids the running clients
register are checked on Apache Kafka, tests/integration/apache_kafka/test_deployment.py: the
embedded broker does not keep them.)"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from broker.service.consumer_lag import KafkaLag, read_lag
from broker.service.municipal import MunicipalService
from contracts.enums import Colour, Partner
from contracts.messages import (
    CancelRoundCommand,
    CommandOutcome,
    Completion,
    OpenRoundCommand,
    RoundResult,
)
from contracts.topics import question_topic
from examples.backend.kit import (
    Connection,
    ResultBook,
    Taken,
    consume_results,
    send_command,
    wait_for_reply,
)
from handlers.db.uow import UnitOfWork
from handlers.republish import republish_result
from handlers.rounds import OpenRound
from kafka_access.principals import partner_group
from tests.conftest import OFFICIALS_FILE
from tests.integration.broker.service.conftest import add_case

pytestmark = pytest.mark.integration

WITHIN = 60.0
REGISSEUR = "regisseur-test"  # an official of tests/support/officials.toml


async def until(condition: Callable[[], bool], within: float = WITHIN) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polls what the consumer task appends to
            await asyncio.sleep(0.05)


class Backend:
    """The example result consumer, running in the background, with what it saw."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.book = ResultBook()
        self.seen: list[tuple[RoundResult, Taken]] = []

    def took(self, result: RoundResult, taken: Taken) -> None:
        self.seen.append((result, taken))


@pytest.fixture
async def backend(
    service: MunicipalService, unique_suffix: str, kafka_group_options: dict[str, int]
) -> AsyncIterator[Backend]:
    connection = Connection(
        bootstrap=service.settings.kafka_bootstrap,
        group=f"iaj-backend-{unique_suffix}",
        idempotence=False,  # the embedded broker has no idempotent producer
    )
    running = Backend(connection)
    stop = asyncio.Event()
    task = asyncio.create_task(
        consume_results(connection, running.book, stop, running.took, **kafka_group_options)
    )
    yield running
    stop.set()
    await asyncio.wait_for(task, WITHIN)


async def test_the_backend_kit_opens_and_cancels_a_round_and_keeps_one_result(
    service: MunicipalService, backend: Backend
) -> None:
    assert service.settings.officials_file == OFFICIALS_FILE
    case_id = await add_case(service, colour=Colour.GROEN)
    opened = OpenRoundCommand(
        round_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        policy=service.policy.ref,
        case_id=uuid.UUID(case_id),
        colour=Colour.GROEN,
        requested_by=REGISSEUR,
    )
    await send_command(backend.connection, opened)
    reply = await wait_for_reply(backend.connection, opened.message_id, within=WITHIN)
    assert (reply.outcome, reply.round_id) == (CommandOutcome.ACCEPTED, opened.round_id)
    assert (reply.command_type, reply.correlation_id) == ("open_round", opened.correlation_id)

    # Nobody on the officials list: rejected, with why, and no official named.
    stranger = CancelRoundCommand(
        correlation_id=uuid.uuid4(),
        round_id=opened.round_id,
        requested_by="iemand.anders",
        reason="De jongere is verhuisd naar een andere gemeente.",
    )
    await send_command(backend.connection, stranger)
    refused = await wait_for_reply(backend.connection, stranger.message_id, within=WITHIN)
    assert refused.outcome is CommandOutcome.REJECTED
    assert refused.reason is not None
    assert "not an official" in refused.reason
    assert "iemand.anders" not in refused.model_dump_json()
    assert "functionaris.iaj" not in refused.model_dump_json()

    cancel = stranger.model_copy(update={"message_id": uuid.uuid4(), "requested_by": REGISSEUR})
    await send_command(backend.connection, cancel)
    cancelled = await wait_for_reply(backend.connection, cancel.message_id, within=WITHIN)
    assert (cancelled.outcome, cancelled.round_id) == (CommandOutcome.ACCEPTED, opened.round_id)

    # The cancelled round's result reaches the consumer once.
    await until(lambda: opened.round_id in backend.book.rounds)
    result = backend.book.rounds[opened.round_id]
    assert result.completion is Completion.CANCELLED
    assert backend.book.cancelled() == [result]

    # `iaj round republish`: the same message again; the consumer recognises it.
    async with UnitOfWork(service.sessions) as uow:
        await republish_result(
            uow, service.policy, str(opened.round_id), actor=REGISSEUR, now=result.completed_at
        )
        await uow.commit()
    if service.relay is not None:
        service.relay.wake()
    await until(lambda: len(backend.seen) == 2)
    assert [taken for _, taken in backend.seen] == [Taken.NEW, Taken.DUPLICATE]
    assert backend.seen[1][0] == result


async def test_lag_is_read_per_group_and_an_adapter_that_leaves_a_question_is_silent(
    service: MunicipalService,
) -> None:
    settings = service.settings
    # A round's question sets wait on the question topics; no adapter runs, so each group
    # asked has committed nothing: lag, and silent once the threshold is behind them.
    case_id = await add_case(service, colour=Colour.GROEN)
    await service.open_round(OpenRound(case_id=case_id, colour=Colour.GROEN, actor=REGISSEUR))

    async def lag_after(silent_after: dt.timedelta) -> KafkaLag:
        return await read_lag(
            settings.kafka_bootstrap,
            silent_after=silent_after,
            now=dt.datetime.now(dt.UTC),
            municipal_group=settings.consumer_group,
        )

    async with asyncio.timeout(WITHIN):
        lag = await lag_after(dt.timedelta(hours=6))
        while not any(a.lag for a in lag.adapters):
            await asyncio.sleep(0.1)
            lag = await lag_after(dt.timedelta(hours=6))
    assert [a.group for a in lag.adapters] == [partner_group(p) for p in Partner]
    assert [a.topic for a in lag.adapters] == [question_topic(p) for p in Partner]
    assert {a.group for a in lag.answers} == {settings.consumer_group}
    asked = {a.partner for a in lag.adapters if a.lag}
    assert Partner.VERWIJSINDEX in asked
    assert all(a.committed is None and not a.members for a in lag.adapters if a.lag)
    assert lag.silent() == []  # nothing has waited six hours
    # Every question waiting is older than "now - 0": each adapter asked is silent.
    assert {a.partner for a in (await lag_after(dt.timedelta(0))).silent()} == asked
