"""The adapter's metrics move with what it does (FastStream's in-memory Kafka)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from faststream import TestApp
from faststream.kafka import TestKafkaBroker
from prometheus_client import REGISTRY

from contracts import Colour, Partner, encode
from contracts.topics import question_topic
from partner_adapters import delivery
from partner_adapters import runtime as runtime_module
from partner_adapters.metrics import STATE
from partner_adapters.reference import ReferenceLookup
from partner_adapters.runtime import adapter_readiness, build_adapter
from partner_adapters.settings import AdapterSettings
from partner_adapters.state import AdapterStore
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


async def _calls_when(
    condition: Callable[[], bool], calls: dict[str, int], within: float = 20.0
) -> dict[str, int]:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"not reached: {calls}"
        await asyncio.sleep(0.01)
    return dict(calls)


@pytest.mark.parametrize(("metrics_interval", "recounted"), [(3600.0, False), (0.05, True)])
async def test_state_gauges_are_recounted_at_their_own_interval_not_the_outboxs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    metrics_interval: float,
    recounted: bool,
) -> None:
    """Counting the state's tables costs more as it grows: the outbox flush (every 10 ms
    here) must not recount them; the metrics interval does."""
    calls = {"flush": 0, "recount": 0}
    real_deliver, real_status = delivery.deliver_outbox, AdapterStore.status

    async def counted_deliver(*args: Any, **kwargs: Any) -> int:
        calls["flush"] += 1
        return await real_deliver(*args, **kwargs)

    async def counted_status(self: AdapterStore, *args: Any, **kwargs: Any) -> Any:
        calls["recount"] += 1
        return await real_status(self, *args, **kwargs)

    monkeypatch.setattr(runtime_module, "deliver_outbox", counted_deliver)  # as runtime calls it
    monkeypatch.setattr(AdapterStore, "status", counted_status)
    partner = Partner.OM
    settings = AdapterSettings(
        partner=partner,
        state_db=tmp_path / "om.db",
        outbox_interval_seconds=0.01,
        metrics_interval_seconds=metrics_interval,
        signing_key=private_key_path(partner),
    )
    runtime = build_adapter(settings, lookup=ReferenceLookup())
    async with TestKafkaBroker(runtime.broker), TestApp(runtime.app):
        if recounted:
            seen = await _calls_when(lambda: calls["recount"] >= 3, calls)
        else:
            seen = await _calls_when(lambda: calls["flush"] >= 20, calls)
    assert seen["recount"] >= 3 if recounted else seen["recount"] == 1  # 1: at start-up
