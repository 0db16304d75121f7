"""Prometheus metrics of the partner adapter (served on /metrics by `iaj-adapter run`).

Counters count what this process did; the gauges come from the adapter's local state
(`AdapterStore.status`), refreshed with every pass of the outbox flush, so a scrape never
touches the state file. Labels are the partner code, statuses, reasons and error class
names: never a person, an id or answer content. Documented in README.md ("Metrics").
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from partner_adapters.answering import AnsweringOutcome, AnsweringStatus
from partner_adapters.state.records import AdapterStatus

__all__ = [
    "ANSWERS_SENT",
    "REFUSAL_NOTICES",
    "STATE",
    "AdapterStateCollector",
    "count_outcome",
]

QUESTION_SETS = Counter(
    "iaj_adapter_question_sets_total",
    "Messages on the question topic, by what became of them (answered, partly_answered, "
    "unanswered, duplicate, rejected, withdrawn, corrected)",
    ["partner", "status"],
)
QUESTION_SETS_RECEIVED = Counter(
    "iaj_adapter_question_sets_received_total",
    "New question sets received and kept for answering",
    ["partner"],
)
QUESTIONS_ANSWERED = Counter(
    "iaj_adapter_questions_answered_total",
    "Questions answered by the lookup (answers recorded for sending)",
    ["partner"],
)
REFUSED_AT_SOURCE = Counter(
    "iaj_adapter_refused_at_source_total",
    "Answers the adapter's policy guard refused before sending (richer than permitted)",
    ["partner"],
)
LOOKUP_FAILURES = Counter(
    "iaj_adapter_lookup_failures_total",
    "Question sets the lookup could not answer, by error class",
    ["partner", "kind"],
)
REJECTED = Counter(
    "iaj_adapter_rejected_messages_total",
    "Messages not answered at all (malformed, another partner's, too late), by reason",
    ["partner", "reason"],
)
ANSWERS_SENT = Counter(
    "iaj_adapter_answers_sent_total",
    "Answer messages published to the answer topic (acknowledged by Kafka)",
    ["partner"],
)
REFUSAL_NOTICES = Counter(
    "iaj_adapter_refusal_notices_total",
    "Refusal notices received from the municipality",
    ["partner"],
)

_NEW_SETS = {
    AnsweringStatus.ANSWERED,
    AnsweringStatus.PARTLY_ANSWERED,
    AnsweringStatus.UNANSWERED,
}


def count_outcome(partner: str, outcome: AnsweringOutcome) -> None:
    QUESTION_SETS.labels(partner, outcome.status.value).inc()
    if outcome.status in _NEW_SETS:
        QUESTION_SETS_RECEIVED.labels(partner).inc()
    if outcome.message is not None:
        QUESTIONS_ANSWERED.labels(partner).inc(len(outcome.message.answers))
    if outcome.refusals:
        REFUSED_AT_SOURCE.labels(partner).inc(len(outcome.refusals))
    if outcome.lookup_failure is not None:
        LOOKUP_FAILURES.labels(partner, outcome.lookup_failure.kind).inc()
    if outcome.rejection is not None:
        REJECTED.labels(partner, outcome.rejection.reason).inc()


class AdapterStateCollector(Collector):
    """Gauges from the latest `AdapterStatus` of the local state; nothing until the first."""

    def __init__(self) -> None:
        self._status: AdapterStatus | None = None
        self._taken_at: float | None = None
        self._lag: dict[str, int] = {}

    def update(self, status: AdapterStatus) -> None:
        self._status = status
        self._taken_at = time.time()

    def update_lag(self, lag: dict[str, int]) -> None:
        """Per topic, what the adapter has not consumed yet (kafka_access.ops.consumer_lag)."""
        self._lag = dict(lag)

    def describe(self) -> Iterable[Metric]:
        return list(self._families(None, None, {}))

    def collect(self) -> Iterable[Metric]:
        return list(self._families(self._status, self._taken_at, self._lag))

    @staticmethod
    def _families(
        status: AdapterStatus | None, taken_at: float | None, lag: dict[str, int]
    ) -> Iterator[Metric]:
        consumer_lag = GaugeMetricFamily(
            "iaj_adapter_consumer_lag_messages",
            "Messages on the question and refusal topics the adapter has not consumed yet",
            labels=["topic"],
        )
        for topic, n in sorted(lag.items()):
            consumer_lag.add_metric([topic], n)
        yield consumer_lag
        taken = GaugeMetricFamily(
            "iaj_adapter_state_snapshot_timestamp_seconds",
            "When the gauges below were last read from the local state (0: not yet)",
        )
        taken.add_metric([], taken_at or 0.0)
        yield taken
        gauges = {
            "iaj_adapter_pending_manual_answers": (
                "Open questions waiting for an answer (`iaj-adapter pending`, answered by hand "
                "with `iaj-adapter answer`)",
                None if status is None else status.questions_open,
            ),
            "iaj_adapter_pending_question_sets": (
                "Question sets with at least one open question",
                None if status is None else status.question_sets_pending,
            ),
            "iaj_adapter_undelivered_answers": (
                "Answer messages recorded but not yet acknowledged by Kafka",
                None if status is None else status.undelivered,
            ),
        }
        for name, (help_text, value) in gauges.items():
            family = GaugeMetricFamily(name, help_text, labels=["partner"])
            if status is not None and value is not None:
                family.add_metric([status.partner.value], value)
            yield family


STATE = AdapterStateCollector()
REGISTRY.register(STATE)
