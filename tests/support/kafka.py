"""Choose and run the Kafka-compatible broker the tests talk to.

Order: an address in `IAJ_TEST_KAFKA_BOOTSTRAP`; Apache Kafka in a container when a Docker
engine answers; otherwise Tansu started from `devtools.embedded_kafka`.
"""

from __future__ import annotations

import asyncio
import importlib
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

from devtools.embedded_kafka import EmbeddedKafka

__all__ = [
    "BOOTSTRAP_ENV",
    "KafkaChoice",
    "RunningKafka",
    "choose_kafka",
    "docker_engine_problem",
    "running_kafka",
]

BOOTSTRAP_ENV = "IAJ_TEST_KAFKA_BOOTSTRAP"
_DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class KafkaChoice:
    """Which broker the session will use, and why."""

    kind: Literal["env", "testcontainers", "tansu"]
    reason: str
    bootstrap: str | None = None

    def describe(self) -> str:
        if self.kind == "env":
            return f"{self.bootstrap} (from {BOOTSTRAP_ENV})"
        if self.kind == "testcontainers":
            return f"Kafka in a container (testcontainers), started on first use; {self.reason}"
        return f"tansu (embedded), started on first use; {self.reason}"

    def consumer_group_options(self) -> dict[str, int]:
        """aiokafka consumer settings that keep group joins quick on this broker.

        Tansu numbers the first generation 0 and aiokafka sends LeaveGroup only for
        generations > 0, so a consumer that stops leaves a ghost member behind until its
        session times out: the next consumer in that group waits 10-20 s with the defaults.
        Real Kafka refuses sessions under 6 s (group.min.session.timeout.ms), so only Tansu
        gets the short ones.
        """
        if self.kind == "tansu":
            return {"session_timeout_ms": 1000, "heartbeat_interval_ms": 250}
        return {}


@dataclass(frozen=True)
class RunningKafka:
    """A broker that is up: its address and a line for the test report."""

    bootstrap: str
    description: str


def docker_engine_problem(environ: Mapping[str, str], timeout: float = 2.0) -> str | None:
    """None when a Docker engine answers a ping, else why not (without waiting long)."""
    host = environ.get("DOCKER_HOST") or _DEFAULT_DOCKER_HOST
    if host.startswith("unix://"):
        # Knock first: the docker SDK leaks its socket when the engine is absent, which
        # surfaces later as an "unclosed socket" warning in some unrelated test.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            try:
                sock.connect(host.removeprefix("unix://"))
            except OSError as exc:
                return f"no Docker engine at {host} ({exc.strerror or exc})"
    try:
        import docker
    except ImportError:
        return "the docker SDK is not installed"
    try:
        client = docker.from_env(timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # any failure means: no usable engine, fall through
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        return f"no Docker engine at {host} ({first_line[:120]})"
    return None


def choose_kafka(environ: Mapping[str, str]) -> KafkaChoice:
    """Decide without starting anything; cheap enough for the report header."""
    bootstrap = environ.get(BOOTSTRAP_ENV, "").strip()
    if bootstrap:
        return KafkaChoice("env", "given by the environment", bootstrap)
    problem = docker_engine_problem(environ)
    if problem is None:
        return KafkaChoice("testcontainers", "a Docker engine answers")
    return KafkaChoice("tansu", problem)


@asynccontextmanager
async def running_kafka(choice: KafkaChoice) -> AsyncIterator[RunningKafka]:
    """Start (or just point at) the chosen broker for as long as the context lasts."""
    if choice.kind == "env":
        assert choice.bootstrap is not None
        yield RunningKafka(choice.bootstrap, f"{choice.bootstrap} (from {BOOTSTRAP_ENV})")
    elif choice.kind == "testcontainers":
        async with _kafka_container() as running:
            yield running
    else:
        async with EmbeddedKafka() as kafka:
            yield RunningKafka(kafka.bootstrap, f"tansu {kafka.bootstrap} (embedded)")


@asynccontextmanager
async def _kafka_container() -> AsyncIterator[RunningKafka]:
    # testcontainers moved the module in 4.x; accept both places.
    try:
        module = importlib.import_module("testcontainers.community.kafka")
    except ImportError:
        module = importlib.import_module("testcontainers.kafka")
    container: Any = module.KafkaContainer().with_kraft()
    await asyncio.to_thread(container.start)
    try:
        bootstrap = str(container.get_bootstrap_server())
        yield RunningKafka(bootstrap, f"{container.image} {bootstrap} (testcontainers)")
    finally:
        await asyncio.to_thread(container.stop)
