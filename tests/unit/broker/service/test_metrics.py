"""The service's metrics: the collector of database gauges reads a snapshot, never the
database, and says how fresh it is; the relay counts question sets per partner."""

from __future__ import annotations

import datetime as dt

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from broker.service.metrics import QUESTION_SETS_PUBLISHED, SnapshotCollector, count_published
from contracts.enums import Partner
from handlers.ops_snapshot import OpsSnapshot
from handlers.states import RoundState
from handlers.status import OutboxStatus, PartnerStatus, RetentionStatus, ServiceStatus

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def snapshot() -> OpsSnapshot:
    partners = tuple(
        PartnerStatus(
            partner=p,
            outstanding=3 if p is Partner.CJG else 0,
            oldest_outstanding=dt.timedelta(hours=5) if p is Partner.CJG else None,
            answered=0,
            refused=0,
            late=0,
            dead_lettered=0,
        )
        for p in Partner
    )
    status = ServiceStatus(
        at=NOW,
        partners=partners,
        rounds={RoundState.OPEN: 2, RoundState.COMPLETE: 7},
        outbox=OutboxStatus(unsent=4, oldest_unsent=dt.timedelta(seconds=90)),
        dead_letters={"not_json": 1},
        retention=RetentionStatus(
            last_at=NOW - dt.timedelta(hours=1), last_detail="0 case(s) deleted", next_at=None
        ),
        left_without_uitstroombrief=0,
    )
    return OpsSnapshot(
        status=status,
        last_answer_at={Partner.SWT: NOW - dt.timedelta(minutes=10)},
        dead_letters={("swt", "not_json"): 1, ("", "command_rejected"): 2},
        rounds_overdue=1,
    )


def test_before_the_first_snapshot_only_its_timestamp_is_there() -> None:
    registry = CollectorRegistry()
    registry.register(SnapshotCollector())
    assert samples(registry) == {("iaj_metrics_snapshot_timestamp_seconds", ()): 0.0}


def test_the_gauges_are_the_snapshots() -> None:
    registry = CollectorRegistry()
    collector = SnapshotCollector()
    registry.register(collector)
    collector.update(snapshot())
    collector.update_lag({"iaj.answers.cjg": 4, "iaj.commands": 0})
    got = samples(registry)
    assert got[("iaj_consumer_lag_messages", (("topic", "iaj.answers.cjg"),))] == 4
    assert got[("iaj_consumer_lag_messages", (("topic", "iaj.commands"),))] == 0
    assert got[("iaj_outstanding_questions", (("partner", "cjg"),))] == 3
    assert got[("iaj_outstanding_questions", (("partner", "swt"),))] == 0
    assert got[("iaj_oldest_outstanding_question_age_seconds", (("partner", "cjg"),))] == 5 * 3600
    assert got[("iaj_oldest_outstanding_question_age_seconds", (("partner", "brp"),))] == 0
    assert got[("iaj_partner_last_answer_age_seconds", (("partner", "swt"),))] == 600
    assert ("iaj_partner_last_answer_age_seconds", (("partner", "cjg"),)) not in got
    assert got[("iaj_dead_letters", (("partner", "swt"), ("reason", "not_json")))] == 1
    assert got[("iaj_dead_letters", (("partner", ""), ("reason", "command_rejected")))] == 2
    assert got[("iaj_rounds", (("state", "open"),))] == 2
    assert got[("iaj_rounds", (("state", "complete"),))] == 7
    assert all(got[("iaj_rounds", (("state", s.value),))] >= 0 for s in RoundState)
    assert got[("iaj_rounds_overdue", ())] == 1
    assert got[("iaj_outbox_unsent", ())] == 4
    assert got[("iaj_outbox_oldest_unsent_age_seconds", ())] == 90
    last_pass = (NOW - dt.timedelta(hours=1)).timestamp()
    assert got[("iaj_retention_last_pass_timestamp_seconds", ())] == last_pass
    assert got[("iaj_metrics_snapshot_timestamp_seconds", ())] > 0


def test_the_labels_hold_no_person_and_no_id() -> None:
    registry = CollectorRegistry()
    collector = SnapshotCollector()
    registry.register(collector)
    collector.update(snapshot())
    collector.update_lag({"iaj.answers.cjg": 4})
    values = {value for _, labels in samples(registry) for _, value in labels}
    partners = {p.value for p in Partner}
    states = {s.value for s in RoundState}
    assert values <= partners | states | {"", "not_json", "command_rejected", "iaj.answers.cjg"}


def test_the_service_registers_its_collector_in_the_default_registry() -> None:
    names = {m.name for m in REGISTRY.collect()}
    assert {"iaj_outstanding_questions", "iaj_outbox_unsent", "iaj_rounds"} <= names


def test_question_sets_are_counted_per_partner_from_the_topic() -> None:
    before = QUESTION_SETS_PUBLISHED.labels("riec")._value.get()
    count_published("iaj.questions.riec", "question_set", 2)
    count_published("iaj.questions.riec", "withdrawal")
    count_published("iaj.results", "round_result")
    assert QUESTION_SETS_PUBLISHED.labels("riec")._value.get() == before + 2
