"""The adapter's metrics move with what it does (FastStream's in-memory Kafka)."""

from __future__ import annotations

from pathlib import Path

from faststream import TestApp
from faststream.kafka import TestKafkaBroker
from prometheus_client import REGISTRY

from contracts import Colour, Partner, encode
from contracts.topics import question_topic
from partner_adapters.metrics import STATE
from partner_adapters.reference import ReferenceLookup
from partner_adapters.runtime import adapter_readiness, build_adapter
from partner_adapters.settings import AdapterSettings
from tests.support.signing import private_key_path
from tests.unit.partner_adapters.builders import question_set


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_counters_and_state_gauges_follow_the_question_sets(tmp_path: Path) -> None:
    partner = Partner.RIEC
    settings = AdapterSettings(
        partner=partner,
        state_db=tmp_path / "riec.db",
        outbox_interval_seconds=60,
        signing_key=private_key_path(partner),
    )
    runtime = build_adapter(settings, lookup=ReferenceLookup())
    p = partner.value
    before = {
        "received": value("iaj_adapter_question_sets_received_total", partner=p),
        "answered": value("iaj_adapter_questions_answered_total", partner=p),
        "rejected": value("iaj_adapter_rejected_messages_total", partner=p, reason="not_json"),
        "duplicate": value("iaj_adapter_question_sets_total", partner=p, status="duplicate"),
        "sent": value("iaj_adapter_answers_sent_total", partner=p),
    }
    qs = question_set(partner, Colour.ROOD)
    async with TestKafkaBroker(runtime.broker) as broker, TestApp(runtime.app):
        # Read from the state at start-up.
        assert value("iaj_adapter_pending_manual_answers", partner=p) == 0
        assert value("iaj_adapter_state_snapshot_timestamp_seconds") > 0
        await broker.publish(b"\x00garbage", question_topic(partner))
        await broker.publish(encode(qs), question_topic(partner))
        await broker.publish(encode(qs), question_topic(partner))
        ready = await adapter_readiness(runtime, limit_seconds=0.1)
    assert value("iaj_adapter_question_sets_received_total", partner=p) == before["received"] + 1
    answered = value("iaj_adapter_questions_answered_total", partner=p) - before["answered"]
    assert answered == len(qs.questions)
    rejected = {
        s.labels["reason"]
        for m in REGISTRY.collect()
        if m.name == "iaj_adapter_rejected_messages"
        for s in m.samples
        if s.labels.get("partner") == p and s.name.endswith("_total")
    }
    assert rejected  # the garbage, by its reason
    assert (
        value("iaj_adapter_question_sets_total", partner=p, status="duplicate")
        == before["duplicate"] + 1
    )
    assert value("iaj_adapter_answers_sent_total", partner=p) == before["sent"] + 1
    # The in-memory broker has no cluster to describe: not ready, and it says why.
    assert not ready.ready
    assert ready.checks["state"] == "ok"
    assert ready.checks["kafka"] != "ok"
    assert STATE.collect()
