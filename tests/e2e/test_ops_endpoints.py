"""/metrics, /health/live and /health/ready of `iaj serve` and `iaj-adapter run`, as a
Prometheus server and an orchestrator see them: separate processes, scraped over HTTP, while
a round goes through and while the database or Kafka is away."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from contracts.enums import Colour, Partner
from devtools.embedded_kafka import EmbeddedKafka, free_port
from tests.integration.broker.service.conftest import clean_kafka  # noqa: F401 (fixture)
from tests.integration.broker.service.partners import FakePartners
from tests.support.signing import partner_keys_dir, private_key_path

pytestmark = pytest.mark.e2e

IAJ = [sys.executable, "-m", "broker.cli"]
ADAPTER = [sys.executable, "-m", "partner_adapters"]
GROEN_FIRST_WAVE = {Partner.VERWIJSINDEX, Partner.LEERPLICHT, Partner.SWT}
# This partner is answered by a real `iaj-adapter run`, the others by FakePartners.
BY_ADAPTER = Partner.LEERPLICHT
T = TypeVar("T")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


# --- HTTP, as a scraper and a probe ---------------------------------------------------------


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""  # not listening (yet)


async def get(port: int, path: str) -> tuple[int, bytes]:
    return await asyncio.to_thread(_get, f"http://127.0.0.1:{port}{path}")


async def ready(port: int) -> tuple[int, dict[str, Any]]:
    status, body = await get(port, "/health/ready")
    return status, json.loads(body) if status in {200, 503} else {}


async def scrape(port: int) -> Samples:
    status, body = await get(port, "/metrics")
    assert status == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def eventually(
    probe: Callable[[], Awaitable[T]], until: Callable[[T], bool], within: float, what: str
) -> T:
    """Ask `probe` until its answer satisfies `until`; fail after `within` seconds with the
    last answer."""
    last: list[T] = []

    async def keep_asking() -> T:
        while True:
            got = await probe()
            last[:] = [got]
            if until(got):
                return got
            await asyncio.sleep(0.1)

    try:
        return await asyncio.wait_for(keep_asking(), within)
    except TimeoutError:
        pytest.fail(f"{what} not within {within} s; last: {last}")


# --- the processes --------------------------------------------------------------------------


def service_env(bootstrap: str, database_url: str, suffix: str, ops_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "IAJ_KAFKA_BOOTSTRAP": bootstrap,
        "IAJ_DATABASE_URL": database_url,
        "IAJ_CONSUMER_GROUP": f"iaj-municipal-{suffix}",
        "IAJ_CONSUMER_SESSION_TIMEOUT_MS": "1000",
        "IAJ_CONSUMER_HEARTBEAT_INTERVAL_MS": "250",
        "IAJ_RELAY_INTERVAL_SECONDS": "0.1",
        "IAJ_PARTNER_KEYS_DIR": str(partner_keys_dir()),
        "IAJ_OPS_PORT": str(ops_port),
        "IAJ_OPS_HOST": "127.0.0.1",
        "IAJ_METRICS_REFRESH_SECONDS": "0.3",
        # The outages below are short; the service must not halt during them.
        "IAJ_DATABASE_RETRY_SECONDS": "120",
    }


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)


def iaj(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*IAJ, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def open_groen_round(env: dict[str, str]) -> None:
    born = (dt.date.today() - dt.timedelta(days=16 * 365)).isoformat()
    added = json.loads(
        iaj(
            env,
            "case",
            "add",
            "--naam",
            "Sam Proefpersoon",
            "--geboortedatum",
            born,
            "--district",
            "oost",
            "--traject",
            "iaj",
            "--criterium",
            "politiecontacten",
            "--kleur",
            "groen",
            "--brief-verstuurd",
            dt.date.today().isoformat(),
            "--json",
        )
    )
    iaj(env, "round", "open", added["case_id"], "--kleur", Colour.GROEN.value)


def tail(log: Path) -> str:
    return log.read_text()[-5000:]


async def stop(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(process.wait, 60)
    assert code == 0, tail(log)


async def wait_ready(port: int, log: Path, within: float = 60) -> dict[str, Any]:
    try:
        _, body = await eventually(lambda: ready(port), lambda r: r[0] == 200, within, "ready")
    except pytest.fail.Exception as failed:
        raise AssertionError(f"{failed}\n--- the process's log:\n{tail(log)}") from None
    return body


# --- the tests ------------------------------------------------------------------------------


async def test_metrics_move_as_a_round_goes_through_the_service_and_an_adapter(
    clean_kafka: str,  # noqa: F811
    processes: list[subprocess.Popen[bytes]],
    tmp_path: Path,
    unique_suffix: str,
) -> None:
    ops, adapter_ops = free_port(), free_port()
    env = service_env(clean_kafka, f"sqlite+aiosqlite:///{tmp_path / 'iaj.db'}", unique_suffix, ops)
    log = tmp_path / "serve.log"
    iaj(env, "db", "upgrade", "--create")  # only this makes a database
    processes.append(spawn([*IAJ, "serve"], env, log))
    await eventually(lambda: get(ops, "/health/live"), lambda r: r[0] == 200, 60, "live")
    checks = (await wait_ready(ops, log))["checks"]
    assert checks == {"service": "ok", "database": "ok", "kafka": "ok", "outbox_relay": "ok"}
    before = await scrape(ops)
    assert value(before, "iaj_rounds", state="open") == 0

    adapter_log = tmp_path / "adapter.log"
    adapter_env = {
        **os.environ,
        "IAJ_ADAPTER_PARTNER": BY_ADAPTER.value,
        "IAJ_ADAPTER_BOOTSTRAP_SERVERS": clean_kafka,
        "IAJ_ADAPTER_KAFKA_BOOTSTRAP": clean_kafka,
        "IAJ_ADAPTER_STATE_DB": str(tmp_path / "adapter.db"),
        "IAJ_ADAPTER_SIGNING_KEY": str(private_key_path(BY_ADAPTER)),
        "IAJ_ADAPTER_CONSUMER_SESSION_TIMEOUT_MS": "1000",
        "IAJ_ADAPTER_CONSUMER_HEARTBEAT_INTERVAL_MS": "250",
        "IAJ_ADAPTER_OUTBOX_INTERVAL_SECONDS": "0.2",
        "IAJ_ADAPTER_OPS_PORT": str(adapter_ops),
        "IAJ_ADAPTER_OPS_HOST": "127.0.0.1",
    }
    processes.append(spawn([*ADAPTER, "run"], adapter_env, adapter_log))
    adapter_checks = (await wait_ready(adapter_ops, adapter_log))["checks"]
    assert adapter_checks == {"state": "ok", "kafka": "ok"}

    open_groen_round(env)
    others = [p for p in Partner if p is not BY_ADAPTER]
    async with FakePartners(clean_kafka, others) as partners:
        first = await partners.question_sets(
            lambda got: {q.partner for q in got} >= GROEN_FIRST_WAVE - {BY_ADAPTER}, within=60
        )
        published = await eventually(
            lambda: scrape(ops),
            lambda s: (
                all(
                    value(s, "iaj_question_sets_published_total", partner=p.value) == 1
                    for p in GROEN_FIRST_WAVE
                )
                and value(s, "iaj_rounds", state="open") == 1
                and all(
                    value(s, "iaj_outstanding_questions", partner=p.value) >= 1
                    for p in GROEN_FIRST_WAVE - {BY_ADAPTER}
                )
            ),
            30,
            "question sets published and the round open",
        )
        for p in GROEN_FIRST_WAVE - {BY_ADAPTER}:
            assert value(published, "iaj_outstanding_questions", partner=p.value) >= 1
        assert value(published, "iaj_question_sets_published_total", partner="cjg") == 0

        # The adapter received its question set and answered it.
        adapter = await eventually(
            lambda: scrape(adapter_ops),
            lambda s: value(s, "iaj_adapter_answers_sent_total", partner=BY_ADAPTER.value) == 1,
            30,
            "the adapter's answer sent",
        )
        mine = {"partner": BY_ADAPTER.value}
        assert value(adapter, "iaj_adapter_question_sets_received_total", **mine) == 1
        assert value(adapter, "iaj_adapter_questions_answered_total", **mine) >= 1
        assert value(adapter, "iaj_adapter_pending_manual_answers", **mine) == 0
        # FastStream's per-message metrics (KafkaPrometheusMiddleware) beside the adapter's.
        assert any(name == "faststream_received_messages_total" for name, _ in adapter)

        for qs in first:
            await partners.answer(qs)
        cjg = await partners.question_sets(
            lambda got: Partner.CJG in {q.partner for q in got}, within=60
        )
        await partners.answer(next(qs for qs in cjg if qs.partner is Partner.CJG))
        (result,) = await partners.results(within=60)
    assert result.completion.value == "complete"

    done = await eventually(
        lambda: scrape(ops),
        # The gauges are read statement by statement (on SQLite not in one snapshot): wait
        # for all of them to have caught up.
        lambda s: (
            value(s, "iaj_rounds", state="complete") == 1
            and value(s, "iaj_rounds", state="open") == 0
            and all(value(s, "iaj_outstanding_questions", partner=p.value) == 0 for p in Partner)
            and value(s, "iaj_outbox_published_total", message_type="round_result") == 1
            and value(s, "iaj_outbox_unsent") == 0
            # Everything on the answer topics consumed.
            and s.get(("iaj_consumer_lag_messages", frozenset({("topic", "iaj.answers.swt")}))) == 0
        ),
        30,
        "the round complete in the metrics",
    )
    for p in GROEN_FIRST_WAVE | {Partner.CJG}:
        accepted = value(done, "iaj_answer_items_total", partner=p.value, outcome="accepted")
        assert accepted >= 1, p
        assert value(done, "iaj_outstanding_questions", partner=p.value) == 0
        assert value(done, "iaj_partner_last_answer_age_seconds", partner=p.value) < 120
    assert value(done, "iaj_question_sets_published_total", partner="cjg") == 1
    assert value(done, "iaj_outbox_published_total", message_type="round_result") == 1
    assert value(done, "iaj_outbox_unsent") == 0
    assert value(done, "iaj_answer_batch_size_count") >= 1
    assert value(done, "iaj_relay_publish_seconds_count") >= 1
    assert value(done, "iaj_metrics_snapshot_timestamp_seconds") > 0
    # FastStream's per-message metrics, from KafkaPrometheusMiddleware on the service's broker.
    assert any(name == "faststream_received_messages_total" for name, _ in done)
    await stop(processes[1], adapter_log)
    await stop(processes[0], log)


async def _set_connections(admin_dsn: str, database: str, allowed: bool) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(
            f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {"true" if allowed else "false"}'
        )
        if not allowed:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                database,
            )
    finally:
        await conn.close()


@pytest.fixture
async def postgres_admin(postgresql_url: str) -> AsyncIterator[str]:
    """A DSN of the same server and user (the one that created the test's database), on the
    `postgres` database."""
    url = make_url(postgresql_url)
    admin = url.set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    yield dsn
    # Whatever the test did, let the fixture drop the database.
    await _set_connections(dsn, str(url.database), True)


async def test_ready_follows_the_database_away_and_back(
    clean_kafka: str,  # noqa: F811
    postgresql_url: str,
    postgres_admin: str,
    processes: list[subprocess.Popen[bytes]],
    tmp_path: Path,
    unique_suffix: str,
) -> None:
    ops = free_port()
    log = tmp_path / "serve.log"
    env = service_env(clean_kafka, postgresql_url, unique_suffix, ops)
    iaj(env, "db", "upgrade")
    processes.append(spawn([*IAJ, "serve"], env, log))
    await wait_ready(ops, log)
    database = str(make_url(postgresql_url).database)

    await _set_connections(postgres_admin, database, False)  # refuses and ends every session
    _, body = await eventually(
        lambda: ready(ops), lambda r: r[0] == 503, 30, "not ready without the database"
    )
    assert body["checks"]["database"].startswith("unreachable"), body
    assert any(reason.startswith("database: ") for reason in body["reasons"])
    assert (await get(ops, "/health/live"))[0] == 200  # alive: no restart for this

    await _set_connections(postgres_admin, database, True)
    await wait_ready(ops, log, within=60)
    await stop(processes[0], log)


async def test_ready_follows_kafka_away_and_back(
    processes: list[subprocess.Popen[bytes]], tmp_path: Path, unique_suffix: str
) -> None:
    # A broker of its own, paused (SIGSTOP: connections hang, nothing answers) and resumed.
    async with EmbeddedKafka() as kafka:
        assert kafka.pid is not None
        ops = free_port()
        log = tmp_path / "serve.log"
        env = service_env(
            kafka.bootstrap, f"sqlite+aiosqlite:///{tmp_path / 'iaj.db'}", unique_suffix, ops
        )
        iaj(env, "db", "upgrade", "--create")
        processes.append(spawn([*IAJ, "serve"], env, log))
        await wait_ready(ops, log)

        os.kill(kafka.pid, signal.SIGSTOP)
        try:
            _, body = await eventually(
                lambda: ready(ops), lambda r: r[0] == 503, 30, "not ready without Kafka"
            )
            assert body["checks"]["kafka"] != "ok", body
            assert body["checks"]["database"] == "ok", body
        finally:
            os.kill(kafka.pid, signal.SIGCONT)
        await wait_ready(ops, log, within=90)
        await stop(processes[0], log)
