"""The broker a benchmark run uses: the embedded Tansu, or Apache Kafka as deployed.

Tansu does not answer a waiting fetch when data arrives, so every consumer must poll with a
short fetch wait, and that polling costs every process CPU even at rest. Apache Kafka answers
a waiting fetch as soon as data arrives: its consumers keep Kafka's default wait (500 ms) and
rest quietly. Apache Kafka runs here as deployed (SASL/SCRAM, ACLs, each adapter its own user),
so the run measures what production would do.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from devtools.adapter_group import EMBEDDED_FETCH_MAX_WAIT_MS, KAFKA_FETCH_MAX_WAIT_MS
from devtools.bench.measure import process_tree_cpu_seconds

__all__ = ["BenchBroker", "BrokerKind", "bench_broker"]


class BrokerKind(StrEnum):
    EMBEDDED = "embedded"
    APACHE = "apache"

    @property
    def default_fetch_max_wait_ms(self) -> int:
        """Tansu: short, it bounds every hop. Apache Kafka: its own default, woken early."""
        return (
            EMBEDDED_FETCH_MAX_WAIT_MS if self is BrokerKind.EMBEDDED else KAFKA_FETCH_MAX_WAIT_MS
        )

    @property
    def group_options(self) -> dict[str, int]:
        """The baseline's consumer groups: Tansu re-admits a member after its session ends, so
        short; Apache Kafka refuses sessions under its `group.min.session.timeout.ms` (6 s)."""
        if self is BrokerKind.EMBEDDED:
            return {"session_timeout_ms": 1000, "heartbeat_interval_ms": 250}
        return {"session_timeout_ms": 10_000, "heartbeat_interval_ms": 3000}

    @property
    def description(self) -> str:
        if self is BrokerKind.EMBEDDED:
            return "embedded Tansu, one fresh broker per run"
        return "Apache Kafka (KRaft, SASL/SCRAM and ACLs as deployed), one fresh node per run"


@dataclass(frozen=True)
class BenchBroker:
    kind: BrokerKind
    bootstrap: str
    pid: int
    # aiokafka keyword arguments beyond `bootstrap_servers` for the benchmark's own clients
    # (the results watch, reading the topics, the baseline): the super user on Apache Kafka.
    client: Mapping[str, Any] = field(default_factory=dict)
    # Every deployment user's password, for the service and the adapters (None on Tansu).
    passwords: Mapping[str, str] | None = None

    def cpu_seconds(self) -> Callable[[], float]:
        """The broker's CPU so far (the JVM's threads and any child, or Tansu's)."""
        pid = self.pid
        return lambda: process_tree_cpu_seconds(pid)


@contextlib.asynccontextmanager
async def bench_broker(kind: BrokerKind, folder: Path) -> AsyncIterator[BenchBroker]:
    """A fresh broker for one run; Apache Kafka needs `make kafka-jars` (Java and Maven)."""
    if kind is BrokerKind.EMBEDDED:
        from devtools.embedded_kafka import EmbeddedKafka

        async with EmbeddedKafka() as tansu:
            assert tansu.pid is not None
            yield BenchBroker(kind, tansu.bootstrap, tansu.pid)
        return
    from devtools.apache_kafka import ApacheKafka
    from devtools.kafka_jars import kafka_jars
    from devtools.kafka_node import ADMIN

    async with ApacheKafka(kafka_jars(), folder) as kafka:
        assert kafka.pid is not None
        client = {k: v for k, v in kafka.client_kwargs(ADMIN).items() if k != "bootstrap_servers"}
        passwords = {user: kafka.password(user) for user in kafka.users}
        yield BenchBroker(kind, kafka.bootstrap, kafka.pid, client, passwords)
