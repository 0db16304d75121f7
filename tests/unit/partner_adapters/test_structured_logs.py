"""The running adapter's log lines, through the handler `iaj-adapter run` configures: one JSON
object per line with the round's ids, no ANSI codes, and nothing of the question set's
content (the names of the youth and the family)."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faststream import TestApp
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from contracts import Colour, Partner, encode
from contracts.content_free_logs import LogFormat, configure_logging
from contracts.topics import answer_topic, message_key, question_topic
from partner_adapters.reference import ReferenceLookup
from partner_adapters.runtime import build_adapter
from partner_adapters.settings import AdapterSettings
from tests.support.signing import private_key_path
from tests.unit.partner_adapters.builders import BRAM, NOOR, SEM, question_set


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    out = io.StringIO()
    configure_logging("INFO", LogFormat.JSON, stream=out)
    try:
        yield out
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def _events(lines: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("event") == event]


async def test_received_answered_and_sent_are_logged_with_the_rounds_ids_and_no_names(
    tmp_path: Path, log_lines: io.StringIO
) -> None:
    partner = Partner.CJIB
    settings = AdapterSettings(
        partner=partner,
        state_db=tmp_path / "cjib.db",
        outbox_interval_seconds=60,
        signing_key=private_key_path(partner),
        log_format=LogFormat.JSON,
    )
    runtime = build_adapter(settings, lookup=ReferenceLookup())
    answers: list[bytes] = []

    @runtime.broker.subscriber(answer_topic(partner))
    async def municipality(raw: KafkaMessage) -> None:
        answers.append(raw.body)

    qs = question_set(partner, Colour.ROOD).model_copy(update={"correlation_id": uuid.uuid4()})
    round_id, correlation_id = str(qs.round_id), str(qs.correlation_id)
    async with TestKafkaBroker(runtime.broker) as broker, TestApp(runtime.app):
        await broker.publish(b"\x00garbage", question_topic(partner))
        await broker.publish(
            encode(qs),
            question_topic(partner),
            key=message_key(qs.round_id),
            correlation_id=correlation_id,
            headers={"message_id": str(qs.message_id)},
        )
    assert len(answers) == 1

    text = log_lines.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert "\x1b[" not in text
    for who in (SEM, NOOR, BRAM):
        assert who.naam not in text
        assert who.naam.split()[-1] not in text

    rejected = _events(lines, "rejected")
    assert [r["level"] for r in rejected] == ["WARNING"]
    received = [r for r in _events(lines, "received") if r["round_id"] == round_id]
    assert len(received) == 1
    assert (received[0]["partner"], received[0]["correlation_id"]) == (
        partner.value,
        correlation_id,
    )
    (handled,) = _events(lines, "question_set_handled")
    assert (handled["status"], handled["question_set_id"]) == ("answered", str(qs.message_id))
    assert (handled["round_id"], handled["correlation_id"]) == (round_id, correlation_id)
    assert handled["answered"] + handled["refused_at_source"] + handled["open"] > 0
    (sent,) = _events(lines, "answer_sent")
    assert (sent["round_id"], sent["correlation_id"], sent["partner"]) == (
        round_id,
        correlation_id,
        partner.value,
    )
    assert sent["question_set_id"] == str(qs.message_id)


async def test_untraced_the_answer_passes_the_question_sets_traceparent_on(
    tmp_path: Path,
) -> None:
    partner = Partner.CJIB
    settings = AdapterSettings(
        partner=partner,
        state_db=tmp_path / "cjib.db",
        outbox_interval_seconds=60,
        signing_key=private_key_path(partner),
    )
    runtime = build_adapter(settings, lookup=ReferenceLookup())
    headers: list[dict[str, Any]] = []

    @runtime.broker.subscriber(answer_topic(partner))
    async def municipality(raw: KafkaMessage) -> None:
        headers.append(dict(raw.headers))

    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    qs = question_set(partner, Colour.ROOD)
    async with TestKafkaBroker(runtime.broker) as broker, TestApp(runtime.app):
        await broker.publish(encode(qs), question_topic(partner), headers={"traceparent": parent})

    assert [h.get("traceparent") for h in headers] == [parent]
