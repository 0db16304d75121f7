"""Shared fixtures: a Kafka-compatible broker, databases, a browser, unique names.

The broker and the PostgreSQL server are found (or started) once per session, before any
test runs, and the report header says which were used, so a skipped backend is never silent. Under
`CI=true` a missing PostgreSQL (or Apache Kafka's jars, or Chromium) fails the tests that need
it instead of skipping them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Playwright, async_playwright

from devtools.apache_kafka import ApacheKafka
from devtools.kafka_jars import KafkaJars, kafka_jars
from devtools.local_postgres import LocalPostgres
from tests.support.browser import Browser, chromium_path, chromium_problem, saved_artifacts
from tests.support.kafka import KafkaChoice, choose_kafka, running_kafka
from tests.support.naming import unique_suffix as _unique_suffix
from tests.support.postgres import (
    PostgresServer,
    PostgresUnavailable,
    choose_postgres,
    fresh_database,
)

_KAFKA_CHOICE = pytest.StashKey[KafkaChoice]()
_KAFKA_USED = pytest.StashKey[str]()
_POSTGRES = pytest.StashKey[PostgresServer | PostgresUnavailable]()
_LOCAL_POSTGRES = pytest.StashKey[LocalPostgres | None]()
_APACHE_KAFKA = pytest.StashKey[KafkaJars]()
_APACHE_KAFKA_PROBLEM = pytest.StashKey[str | None]()
_APACHE_KAFKA_USED = pytest.StashKey[str]()
_CHROMIUM = pytest.StashKey[Path]()
_CHROMIUM_PROBLEM = pytest.StashKey[str | None]()

DATABASES = ("sqlite", "postgresql")


OFFICIALS_FILE = Path(__file__).parent / "support" / "officials.toml"
TEST_ACTOR = "regisseur-test"


@pytest.fixture(autouse=True)
def _acting_official(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `iaj` command needs a known official: the test officials, one of them acting.
    Tests of the refusal unset or change these."""
    monkeypatch.setenv("IAJ_OFFICIALS_FILE", str(OFFICIALS_FILE))
    monkeypatch.setenv("IAJ_ACTOR", TEST_ACTOR)


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """A command run in-process (`iaj serve`, `iaj-adapter run|desk` through CliRunner)
    points the root logger at the runner's stream, which is closed when it returns: every
    later log line would then fail in whatever test writes it. Each test gets back the
    logging it started with."""
    root, faststream = logging.getLogger(), logging.getLogger("faststream")
    saved = (root.handlers[:], root.level, faststream.handlers[:], faststream.propagate)
    yield
    root.handlers[:], faststream.handlers[:] = saved[0], saved[2]
    root.setLevel(saved[1])
    faststream.propagate = saved[3]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    # Runs before pytest-asyncio creates any loop, so a private asyncio.run() is safe here.
    config = session.config
    config.stash[_KAFKA_CHOICE] = choose_kafka(os.environ)
    config.stash[_POSTGRES], config.stash[_LOCAL_POSTGRES] = choose_postgres(os.environ)
    jars = kafka_jars()
    config.stash[_APACHE_KAFKA] = jars
    config.stash[_APACHE_KAFKA_PROBLEM] = jars.problem()
    chromium = chromium_path(os.environ)
    config.stash[_CHROMIUM] = chromium
    config.stash[_CHROMIUM_PROBLEM] = chromium_problem(chromium)


def pytest_unconfigure(config: pytest.Config) -> None:
    local = config.stash.get(_LOCAL_POSTGRES, None)
    if local is not None:
        local.stop()


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    if _KAFKA_CHOICE in config.stash:
        lines.append(f"kafka (speed): {config.stash[_KAFKA_CHOICE].describe()}")
    if _APACHE_KAFKA in config.stash:
        jars, problem = config.stash[_APACHE_KAFKA], config.stash[_APACHE_KAFKA_PROBLEM]
        if problem is None:
            lines.append(
                f"kafka (security, durability, producer guarantees): Apache Kafka "
                f"{jars.version} from the Maven jars in {jars.folder}, started on first use"
            )
        else:
            outcome = "FAIL (CI=true)" if _in_ci() else "are skipped"
            lines.append(f"kafka (security, durability): Apache Kafka tests {outcome}: {problem}")
    if _POSTGRES in config.stash:
        postgres = config.stash[_POSTGRES]
        if isinstance(postgres, PostgresServer):
            lines.append(f"postgresql: {postgres.describe()}, a fresh database per test")
        else:
            outcome = "FAIL (CI=true)" if _in_ci() else "are skipped"
            lines.append(f"postgresql: unavailable, its tests {outcome}: {postgres.reason}")
    if _CHROMIUM in config.stash:
        problem = config.stash[_CHROMIUM_PROBLEM]
        if problem is None:
            lines.append(f"browser (the desk): Chromium at {config.stash[_CHROMIUM]}, Playwright")
        else:
            outcome = "FAIL (CI=true)" if _in_ci() else "are skipped"
            lines.append(f"browser (the desk): the browser tests {outcome}: {problem}")
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    used = terminalreporter.config.stash.get(_KAFKA_USED, None)
    if used is not None:
        terminalreporter.write_line(f"kafka (speed): {used}")
    apache = terminalreporter.config.stash.get(_APACHE_KAFKA_USED, None)
    if apache is not None:
        terminalreporter.write_line(f"kafka (security, durability): {apache}")
    for path in saved_artifacts():
        terminalreporter.write_line(f"browser screenshot: {path}")


@pytest.fixture(scope="session")
async def kafka_bootstrap(pytestconfig: pytest.Config) -> AsyncIterator[str]:
    """`host:port` of the session's Kafka-compatible broker. Topics are not auto-created:
    use `broker.service.kafka_admin.create_topics` with names made unique by `unique_suffix`."""
    async with running_kafka(pytestconfig.stash[_KAFKA_CHOICE]) as kafka:
        pytestconfig.stash[_KAFKA_USED] = kafka.description
        yield kafka.bootstrap


@pytest.fixture(scope="session")
def apache_kafka_jars(pytestconfig: pytest.Config) -> KafkaJars:
    """Apache Kafka's jars (`make kafka-jars`); skips the test without them, fails under CI."""
    problem = pytestconfig.stash[_APACHE_KAFKA_PROBLEM]
    if problem is not None:
        message = f"Apache Kafka is not available: {problem}"
        if _in_ci():
            pytest.fail(f"{message} (CI=true requires it)", pytrace=False)
        pytest.skip(message)
    return pytestconfig.stash[_APACHE_KAFKA]


@pytest.fixture(scope="session")
async def apache_kafka(
    pytestconfig: pytest.Config,
    apache_kafka_jars: KafkaJars,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ApacheKafka]:
    """Apache Kafka configured as deployed (SCRAM users, topics, ACLs), shared by the session.

    For tests that only talk to it. A test that kills, restarts or re-routes a broker starts
    its own `ApacheKafka(apache_kafka_jars, tmp_path)`."""
    async with ApacheKafka(apache_kafka_jars, tmp_path_factory.mktemp("apache-kafka")) as kafka:
        pytestconfig.stash[_APACHE_KAFKA_USED] = (
            f"Apache Kafka {apache_kafka_jars.version} at {kafka.bootstrap} (SASL/SCRAM, ACLs)"
        )
        yield kafka


@pytest.fixture(scope="session")
def chromium_executable(pytestconfig: pytest.Config) -> Path:
    """Debian's Chromium (`make browser`); skips the test without it, fails under CI."""
    problem = pytestconfig.stash[_CHROMIUM_PROBLEM]
    if problem is not None:
        if _in_ci():
            pytest.fail(f"{problem} (CI=true requires it)", pytrace=False)
        pytest.skip(problem)
    return pytestconfig.stash[_CHROMIUM]


@pytest.fixture(scope="session")
async def playwright_driver(chromium_executable: Path) -> AsyncIterator[Playwright]:
    """Playwright's driver, started once (it starts no browser by itself)."""
    async with async_playwright() as playwright:
        yield playwright


@pytest.fixture
def browser(playwright_driver: Playwright, chromium_executable: Path, tmp_path: Path) -> Browser:
    """Starts headless Chromium: `async with browser.context(**options) as context`, each
    a browser process of its own with a new profile folder under tmp_path
    (tests/support/browser.py)."""
    return Browser(playwright_driver, chromium_executable, tmp_path / "chromium")


@pytest.fixture(scope="session")
def kafka_group_options(pytestconfig: pytest.Config) -> dict[str, int]:
    """Extra `AIOKafkaConsumer` keyword arguments for consumers that join a group: keeps
    joins and re-joins around a second on Tansu (see `KafkaChoice.consumer_group_options`)."""
    return pytestconfig.stash[_KAFKA_CHOICE].consumer_group_options()


@pytest.fixture
def unique_suffix() -> str:
    """A fresh random suffix for topic, group and database names in this test."""
    return _unique_suffix()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """SQLAlchemy URL of a new, empty SQLite file for this test."""
    return _sqlite_url(tmp_path)


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'iaj.db'}"


def _postgres_server(config: pytest.Config) -> PostgresServer:
    postgres = config.stash[_POSTGRES]
    if isinstance(postgres, PostgresServer):
        return postgres
    message = f"PostgreSQL is not reachable: {postgres.reason}"
    if _in_ci():
        pytest.fail(f"{message} (CI=true requires it)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
async def postgresql_url(pytestconfig: pytest.Config) -> AsyncIterator[str]:
    """SQLAlchemy URL (asyncpg) of a new, empty PostgreSQL database, dropped after the test."""
    async with fresh_database(_postgres_server(pytestconfig)) as url:
        yield url


@pytest.fixture(params=DATABASES)
async def database_url(
    request: pytest.FixtureRequest, pytestconfig: pytest.Config, tmp_path: Path
) -> AsyncIterator[str]:
    """Runs the test once per database: a new SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path)
    else:
        async with fresh_database(_postgres_server(pytestconfig)) as url:
            yield url
