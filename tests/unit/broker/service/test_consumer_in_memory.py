"""The municipal service's Kafka consumer, driven through FastStream's in-memory test broker: no
Kafka, SQLite in a temporary file.

`TestKafkaBroker` replaces the consumer's connection; the batches are handed to the service's
subscriber as the real consumer hands them over (a tuple of records, each with its own log
position). `MunicipalService.start()` is not called: it creates topics and starts the relay's
own producer, which need a real Kafka. So the relay does not run here, and what the service
would publish is read from the outbox; what it publishes directly (dead letters) goes to a
stand-in producer.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from broker.service.municipal import MunicipalService
from contracts.enums import Colour, Partner, YesNo
from contracts.messages import CancelRoundCommand, OpenRoundCommand
from contracts.topics import COMMANDS, DEADLETTER, answer_topic, message_key
from contracts.wire import encode
from handlers.db.tables import AnswerRow, DeadLetterRow, QuestionRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.rounds import OpenRound
from handlers.states import RoundState
from tests.support.clock import today
from tests.unit.broker.service.in_memory import Log, consume, youth
from tests.unit.handlers.builders import (
    ACTOR,
    POLICY,
    all_rows,
    answer_to,
    question_set_of,
    question_sets,
    register,
    results,
    signed,
    snapshot,
)

# The service reads the wall clock: the youth's dates are relative to the real today.


async def _open_round(service: MunicipalService) -> str:
    case_id = await register(service.sessions, youth(), today=today())
    return await service.open_round(OpenRound(case_id=case_id, colour=Colour.GROEN, actor=ACTOR))


async def test_an_open_round_command_opens_the_round_once(service: MunicipalService) -> None:
    case_id = await register(service.sessions, youth(), today=today())
    command = OpenRoundCommand(
        round_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        policy=POLICY.ref,
        case_id=uuid.UUID(case_id),
        colour=Colour.GROEN,
        requested_by=ACTOR,
    )
    log = Log()

    await consume(service, [log.record(COMMANDS, encode(command), message_key(command.round_id))])

    (round_row,) = await all_rows(service.sessions, RoundRow)
    assert (round_row.id, round_row.case_id) == (str(command.round_id), case_id)
    assert (round_row.command_id, round_row.opened_by) == (str(command.message_id), ACTOR)
    assert (round_row.correlation_id, round_row.state) == (
        str(command.correlation_id),
        RoundState.OPEN,
    )
    sets = await question_sets(service.sessions, round_row.id)
    assert {qs.partner for qs in sets} == {
        a.partner for a in POLICY.asked(Colour.GROEN) if a.after is None
    }

    # Sent twice (a producer retry: same command, next offset): still one round; the only
    # new rows are the repeat's inbox entry and its reply (`duplicate`) in the outbox.
    before = await snapshot(service.sessions)
    await consume(service, [log.record(COMMANDS, encode(command), message_key(command.round_id))])
    after = await snapshot(service.sessions)
    assert (after["rounds"], after["questions"]) == (before["rounds"], before["questions"])
    grown = {
        table: n - before["counts"][table]  # type: ignore[index]
        for table, n in after["counts"].items()  # type: ignore[attr-defined]
        if n != before["counts"][table]  # type: ignore[index]
    }
    assert grown == {"inbox": 1, "outbox": 1}


async def test_a_batch_from_several_topics_completes_a_round_and_dead_letters_the_poison(
    service: MunicipalService,
) -> None:
    round_id = await _open_round(service)
    sets = await question_sets(service.sessions, round_id)
    log = Log()
    batch = [
        # Nee from every partner: the question that waits on a match is not asked.
        log.record(answer_topic(qs.partner), signed(encode(answer_to(qs, YesNo.NEE))))
        for qs in sets
    ]
    poison = log.record(answer_topic(Partner.RN), b"\x00 geen JSON")
    batch.insert(1, poison)

    await consume(service, batch)

    (result,) = await results(service.sessions, round_id)
    assert str(result.round_id) == round_id
    assert len(await all_rows(service.sessions, AnswerRow)) == sum(len(qs.questions) for qs in sets)
    (letter,) = await all_rows(service.sessions, DeadLetterRow)
    assert (letter.topic, letter.reason) == (poison.topic, "not_json")
    assert service.producer.sent == [(DEADLETTER, poison.value, {})]  # type: ignore[union-attr]


async def test_a_failing_batch_is_retried_one_by_one_and_only_the_failing_message_is_kept_aside(
    service: MunicipalService,
) -> None:
    round_id = await _open_round(service)
    sets = await question_sets(service.sessions, round_id)
    leerplicht = question_set_of(sets, Partner.LEERPLICHT)
    swt = question_set_of(sets, Partner.SWT)
    # A fault no check foresees: a stored question the code cannot read any more.
    async with UnitOfWork(service.sessions) as uow:
        await uow.session.execute(
            update(QuestionRow)
            .where(QuestionRow.id == str(swt.questions[0].question_id))
            .values(shape="onleesbaar")
        )
        await uow.commit()
    log = Log()
    good = log.record(answer_topic(Partner.LEERPLICHT), signed(encode(answer_to(leerplicht))))
    failing = log.record(answer_topic(Partner.SWT), signed(encode(answer_to(swt))))

    await consume(service, [failing, good])

    # The batch as a whole failed and kept nothing; one by one, the good message was kept ...
    stored = {a.question_id for a in await all_rows(service.sessions, AnswerRow)}
    assert stored == {str(q.question_id) for q in leerplicht.questions}
    # ... and the failing one was dead-lettered at its position, so it cannot stall the consumer.
    (letter,) = await all_rows(service.sessions, DeadLetterRow)
    assert (letter.topic, letter.reason) == (failing.topic, "processing_error")
    assert "ValueError" in letter.detail


async def test_an_answer_published_through_the_test_broker_is_taken(
    service: MunicipalService,
) -> None:
    round_id = await _open_round(service)
    swt = question_set_of(await question_sets(service.sessions, round_id), Partner.SWT)

    await service.broker.publish(signed(encode(answer_to(swt))), topic=answer_topic(Partner.SWT))

    assert len(await all_rows(service.sessions, AnswerRow)) == len(swt.questions)


async def test_a_cancel_command_of_an_official_cancels_and_one_of_a_stranger_is_dead_lettered(
    service: MunicipalService,
) -> None:
    round_id = await _open_round(service)
    log = Log()

    def cancel(requested_by: str) -> bytes:
        return encode(
            CancelRoundCommand(
                correlation_id=uuid.uuid4(),
                round_id=uuid.UUID(round_id),
                requested_by=requested_by,
                reason="De jongere blijkt al in een ander traject te zitten.",
            )
        )

    await consume(service, [log.record(COMMANDS, cancel("onbekende.ambtenaar"))])
    (letter,) = await all_rows(service.sessions, DeadLetterRow)
    assert (letter.reason, letter.topic) == ("command_rejected", COMMANDS)
    assert "not an official" in letter.detail
    assert "onbekende.ambtenaar" not in letter.detail
    assert (await all_rows(service.sessions, RoundRow))[0].state == RoundState.OPEN

    await consume(service, [log.record(COMMANDS, cancel(ACTOR))])
    (round_row,) = await all_rows(service.sessions, RoundRow)
    assert round_row.state == RoundState.CANCELLED
    (result,) = await results(service.sessions, round_id)
    assert result.completion.value == "cancelled"


async def test_without_an_officials_file_the_service_carries_out_no_command(
    service: MunicipalService, caplog: pytest.LogCaptureFixture
) -> None:
    settings = service.settings.model_copy(update={"officials_file": None})
    with caplog.at_level("ERROR", logger="broker.service.municipal"):
        bare = MunicipalService(settings, POLICY)
    await bare.engine.dispose()
    assert bare.officials is None
    assert "IAJ_OFFICIALS_FILE" in caplog.text
