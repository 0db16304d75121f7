"""The service's log lines, through the handler `iaj serve` configures: one JSON object per
line, with the ids an operator searches for, and no content.

The real code paths: a command and a batch of answers handed to the service's subscriber on
FastStream's in-memory broker (as in test_consumer_in_memory.py), and the outbox relay over a
stand-in producer.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from broker.service.municipal import MunicipalService
from broker.service.relay import OutboxRelay
from contracts.content_free_logs import LogFormat, configure_logging
from contracts.enums import Colour, Partner, YesNo
from contracts.messages import OpenRoundCommand
from contracts.topics import COMMANDS, answer_topic, message_key, question_topic
from contracts.wire import encode
from tests.support.clock import today
from tests.unit.broker.service.in_memory import Log, consume, youth
from tests.unit.handlers.builders import (
    ACTOR,
    POLICY,
    answer_to,
    question_set_of,
    question_sets,
    register,
    signed,
)

NAME = "Ravi Verzonnenhuis"  # the synthetic youth's name (tests.unit.handlers.builders)
MARKER = "GEHEIM-MARKER-7731"  # in a poison message's body: must never reach the log


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The root logger as `iaj serve` configures it (JSON), into a buffer; restored after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    out = io.StringIO()
    configure_logging(logging.INFO, LogFormat.JSON, stream=out)
    try:
        yield out
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def _parsed(out: io.StringIO) -> list[dict[str, Any]]:
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert lines, "nothing was logged"
    return [json.loads(line) for line in lines]  # every line is one JSON object


def _events(lines: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("event") == event]


async def test_a_round_logs_one_json_line_per_step_with_its_ids_and_no_content(
    service: MunicipalService, log_lines: io.StringIO
) -> None:
    assert youth().naam == NAME
    case_id = await register(service.sessions, youth(), today=today())
    command = OpenRoundCommand(
        round_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        policy=POLICY.ref,
        case_id=uuid.UUID(case_id),
        colour=Colour.GROEN,
        requested_by=ACTOR,
    )
    round_id, correlation_id = str(command.round_id), str(command.correlation_id)
    kafka = Log()

    # The backend's command: the round is opened ...
    await consume(
        service,
        [
            kafka.record(
                COMMANDS,
                encode(command),
                message_key(command.round_id),
                {"message_id": str(command.message_id), "correlation_id": correlation_id},
            )
        ],
    )
    sets = await question_sets(service.sessions, round_id)  # read before the relay empties them
    # ... the relay publishes its question sets ...
    relay = OutboxRelay(
        service.sessions,
        service.producer,
        batch_size=100,
        interval_seconds=60,
    )
    assert await relay.publish_pending() > 0
    # ... and the partners answer: nee from every one, one unsigned (refused), one poison.
    swt = question_set_of(sets, Partner.SWT)
    batch = [
        kafka.record(answer_topic(qs.partner), signed(encode(answer_to(qs, YesNo.NEE))))
        for qs in sets
        if qs.partner is not Partner.SWT
    ]
    batch.append(kafka.record(answer_topic(Partner.SWT), encode(answer_to(swt, YesNo.NEE))))
    poison = f'{{"type": "answer", "naam": "{NAME}", "x": "{MARKER}"}}'.encode()
    batch.append(kafka.record(answer_topic(Partner.RN), poison))
    await consume(service, batch)

    text = log_lines.getvalue()
    lines = _parsed(log_lines)
    assert "\x1b[" not in text  # no ANSI codes
    assert NAME not in text
    assert MARKER not in text
    assert "Verzonnenhuis" not in text

    (opened,) = _events(lines, "round_opened")
    assert (opened["round_id"], opened["correlation_id"]) == (round_id, correlation_id)
    assert (opened["level"], opened["logger"]) == ("INFO", "handlers.rounds")
    (outcome,) = _events(lines, "command")
    assert (outcome["outcome"], outcome["round_id"]) == ("opened", round_id)
    assert outcome["correlation_id"] == correlation_id

    published = [p for p in _events(lines, "published") if p["message_type"] == "question_set"]
    assert {p["partner"] for p in published} == {qs.partner.value for qs in sets}
    for line in published:
        assert line["topic"] == question_topic(Partner(line["partner"]))
        assert (line["round_id"], line["correlation_id"]) == (round_id, correlation_id)

    (batch_line,) = _events(lines, "answer_batch")
    answered = sum(len(qs.questions) for qs in sets if qs.partner is not Partner.SWT)
    assert batch_line["messages"] == len(batch)
    assert (batch_line["accepted"], batch_line["dead_lettered"]) == (answered, 1)
    assert batch_line["refused"] == 1
    assert batch_line["round_ids"] == [round_id]

    received = _events(lines, "answer_received")
    assert {r["partner"] for r in received} == {qs.partner.value for qs in sets}
    assert all(r["correlation_id"] == correlation_id for r in received)

    (refused,) = _events(lines, "answer_refused")
    assert (refused["partner"], refused["round_id"]) == (Partner.SWT.value, round_id)
    assert refused["correlation_id"] == correlation_id
    assert (refused["reasons"], refused["whole"]) == (["bad_signature"], True)

    (dead,) = _events(lines, "dead_letter")
    assert (dead["reason"], dead["partner"]) == ("schema_violation", Partner.RN.value)
    assert (dead["source_topic"], dead["source_offset"]) == (answer_topic(Partner.RN), 0)
    assert (dead["size_bytes"], dead["level"]) == (len(poison), "WARNING")


async def test_a_rejected_command_is_logged_by_reason_without_the_requester(
    service: MunicipalService, log_lines: io.StringIO
) -> None:
    case_id = await register(service.sessions, youth(), today=today())
    stranger = "onbekende.ambtenaar"
    command = OpenRoundCommand(
        round_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        policy=POLICY.ref,
        case_id=uuid.UUID(case_id),
        colour=Colour.GROEN,
        requested_by=stranger,
    )

    await consume(service, [Log().record(COMMANDS, encode(command))])

    text = log_lines.getvalue()
    lines = _parsed(log_lines)
    assert stranger not in text
    assert NAME not in text
    (dead,) = _events(lines, "dead_letter")
    assert (dead["reason"], dead["source_topic"], dead["partner"]) == (
        "command_rejected",
        COMMANDS,
        None,
    )
    assert "detail" not in dead  # the detail may name the responsible official
    assert not _events(lines, "round_opened")


def test_auto_is_text_on_a_terminal_and_json_elsewhere() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        for stream, looks_like_json in ((Terminal(), False), (io.StringIO(), True)):
            configure_logging(logging.INFO, LogFormat.AUTO, stream=stream)
            logging.getLogger("t").info("round %s opened", "r-1", extra={"round_id": "r-1"})
            line = stream.getvalue().strip()
            assert line.startswith("{") is looks_like_json
            assert "\x1b[" not in line
        # FastStream's own coloured handler is replaced: its lines go through ours.
        assert not logging.getLogger("faststream").handlers
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_an_exception_is_logged_by_type_and_frames_never_its_message() -> None:
    out = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging(logging.INFO, LogFormat.JSON, stream=out)
        try:
            raise ValueError(f"cannot parse {NAME}")
        except ValueError:
            logging.getLogger("t").exception("processing failed", extra={"partner": "swt"})
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    (line,) = _parsed(out)
    assert NAME not in out.getvalue()
    assert line["partner"] == "swt"
    assert "builtins.ValueError" in line["exc_info"]
