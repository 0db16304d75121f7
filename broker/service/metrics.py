"""Prometheus metrics of the municipal service (served on /metrics by `iaj serve`).

Two kinds. Counters and histograms count what this process did (`*_total`, `*_seconds`):
Prometheus' `increase()`/`rate()` handle restarts, `sum by (partner)` several instances.
Gauges of the state kept in the database (backlog, rounds, outbox, dead letters) come from a
snapshot the service takes every `IAJ_METRICS_REFRESH_SECONDS` (`SnapshotCollector`): a scrape
never queries the database, and `iaj_metrics_snapshot_timestamp_seconds` says how fresh they are.

Labels are partner codes, outcomes, reasons, states and message types: never a person, an id
or content. Every name here is documented in README.md ("Metrics"); the dashboard and the
alert rules in deploy/ use only these names (tests/unit/deploy/test_monitoring.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from contracts.enums import Partner
from handlers.ops_snapshot import OpsSnapshot
from handlers.states import RoundState

__all__ = [
    "ANSWERS",
    "ANSWER_BATCH_SECONDS",
    "ANSWER_BATCH_SIZE",
    "COMMANDS",
    "OUTBOX_PUBLISHED",
    "PURGED_CASES",
    "PURGE_RUNS",
    "QUESTION_SETS_PUBLISHED",
    "REFUSALS",
    "RELAY_PUBLISH_SECONDS",
    "SNAPSHOT",
    "SnapshotCollector",
    "count_published",
]

OUTBOX_PUBLISHED = Counter(
    "iaj_outbox_published_total",
    "Outbox messages published to Kafka (acknowledged by the broker), by message type",
    ["message_type"],
)
QUESTION_SETS_PUBLISHED = Counter(
    "iaj_question_sets_published_total",
    "Question sets published to a partner's question topic",
    ["partner"],
)
RELAY_PUBLISH_SECONDS = Histogram(
    "iaj_relay_publish_seconds",
    "Time from sending one relay batch until the broker acknowledged all of it",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ANSWERS = Counter(
    "iaj_answer_items_total",
    "Answer items received, by outcome (accepted, refused, late, already_answered)",
    ["partner", "outcome"],
)
REFUSALS = Counter("iaj_refusals_total", "Answer items refused, by reason", ["partner", "reason"])
ANSWER_BATCH_SIZE = Histogram(
    "iaj_answer_batch_size",
    "Answer messages handled in one transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
ANSWER_BATCH_SECONDS = Histogram(
    "iaj_answer_batch_seconds",
    "Time to handle one batch of answer messages (one transaction)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
COMMANDS = Counter("iaj_commands_total", "Commands on iaj.commands, by outcome", ["outcome"])
PURGE_RUNS = Counter(
    "iaj_purge_runs_total", "Retention passes of this process, by outcome (ok, failed)", ["outcome"]
)
PURGED_CASES = Counter("iaj_purged_cases_total", "Cases deleted by retention passes")


def count_published(topic: str, message_type: str, n: int = 1) -> None:
    """What the relay published (`message_type` from the outbox row's headers)."""
    OUTBOX_PUBLISHED.labels(message_type or "unknown").inc(n)
    if message_type == "question_set":
        QUESTION_SETS_PUBLISHED.labels(topic.rsplit(".", 1)[-1]).inc(n)


class SnapshotCollector(Collector):
    """Gauges from the latest `OpsSnapshot` of the database; nothing until the first one."""

    def __init__(self) -> None:
        self._snapshot: OpsSnapshot | None = None
        self._taken_at: float | None = None  # wall clock, seconds since the epoch
        self._lag: dict[str, int] = {}

    def update(self, snapshot: OpsSnapshot) -> None:
        self._snapshot = snapshot
        self._taken_at = time.time()

    def update_lag(self, lag: dict[str, int]) -> None:
        """Per topic, what this instance's consumer has not consumed yet
        (kafka_access.ops.consumer_lag)."""
        self._lag = dict(lag)

    def clear(self) -> None:
        self._snapshot = None
        self._taken_at = None
        self._lag = {}

    def describe(self) -> Iterable[Metric]:
        # Names for registration even before the first snapshot (prometheus_client checks
        # for duplicates with these).
        return list(self._families(None, None, {}))

    def collect(self) -> Iterable[Metric]:
        return list(self._families(self._snapshot, self._taken_at, self._lag))

    @staticmethod
    def _families(
        snapshot: OpsSnapshot | None, taken_at: float | None, lag: dict[str, int]
    ) -> Iterator[Metric]:
        consumer_lag = GaugeMetricFamily(
            "iaj_consumer_lag_messages",
            "Messages this instance's consumer has not consumed yet, per topic (high watermark "
            "minus position over its assigned partitions; sum over instances)",
            labels=["topic"],
        )
        for topic, n in sorted(lag.items()):
            consumer_lag.add_metric([topic], n)
        yield consumer_lag
        taken = GaugeMetricFamily(
            "iaj_metrics_snapshot_timestamp_seconds",
            "When the database gauges below were last read (0: not yet)",
        )
        taken.add_metric([], taken_at or 0.0)
        yield taken
        outstanding = GaugeMetricFamily(
            "iaj_outstanding_questions", "Open questions in open rounds", labels=["partner"]
        )
        oldest = GaugeMetricFamily(
            "iaj_oldest_outstanding_question_age_seconds",
            "Age of the oldest open question in an open round (0: none open)",
            labels=["partner"],
        )
        last_answer = GaugeMetricFamily(
            "iaj_partner_last_answer_age_seconds",
            "Time since the partner's last accepted answer (absent: none kept)",
            labels=["partner"],
        )
        dead = GaugeMetricFamily(
            "iaj_dead_letters",
            "Dead letters recorded, by partner (empty: not from a partner) and reason",
            labels=["partner", "reason"],
        )
        rounds = GaugeMetricFamily("iaj_rounds", "Rounds by state", labels=["state"])
        overdue = GaugeMetricFamily(
            "iaj_rounds_overdue", "Open rounds whose deadline has passed (should be 0)"
        )
        unsent = GaugeMetricFamily("iaj_outbox_unsent", "Outbox messages not yet published")
        oldest_unsent = GaugeMetricFamily(
            "iaj_outbox_oldest_unsent_age_seconds",
            "Age of the oldest unpublished outbox message (0: none)",
        )
        retention = GaugeMetricFamily(
            "iaj_retention_last_pass_timestamp_seconds",
            "When the last retention pass finished (job_runs; 0: never)",
        )
        if snapshot is not None:
            status = snapshot.status
            for p in status.partners:
                outstanding.add_metric([p.partner.value], p.outstanding)
                age = p.oldest_outstanding
                oldest.add_metric([p.partner.value], 0.0 if age is None else age.total_seconds())
            for partner in Partner:
                at = snapshot.last_answer_at.get(partner)
                if at is not None:
                    seconds = max((status.at - at).total_seconds(), 0.0)
                    last_answer.add_metric([partner.value], seconds)
            for (partner_code, reason), n in sorted(snapshot.dead_letters.items()):
                dead.add_metric([partner_code, reason], n)
            for state in RoundState:
                rounds.add_metric([state.value], status.rounds.get(state, 0))
            overdue.add_metric([], snapshot.rounds_overdue)
            unsent.add_metric([], status.outbox.unsent)
            age = status.outbox.oldest_unsent
            oldest_unsent.add_metric([], 0.0 if age is None else age.total_seconds())
            last = status.retention.last_at
            retention.add_metric([], 0.0 if last is None else last.timestamp())
        yield from (
            outstanding, oldest, last_answer, dead, rounds, overdue, unsent, oldest_unsent,
            retention,
        )  # fmt: skip


SNAPSHOT = SnapshotCollector()
REGISTRY.register(SNAPSHOT)
