"""`iaj serve` as an operator runs it: a separate process, stopped with SIGTERM, restarted."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.enums import Colour, Partner
from devtools.embedded_kafka import free_port
from tests.integration.broker.service.conftest import clean_kafka  # noqa: F401 (fixture)
from tests.integration.broker.service.partners import FakePartners
from tests.support.signing import partner_keys_dir

pytestmark = pytest.mark.e2e

IAJ = [sys.executable, "-m", "broker.cli"]
GROEN_FIRST_WAVE = {Partner.VERWIJSINDEX, Partner.LEERPLICHT, Partner.SWT}


@pytest.fixture
def env(clean_kafka: str, tmp_path: Path, unique_suffix: str) -> dict[str, str]:  # noqa: F811
    return {
        **os.environ,
        "IAJ_KAFKA_BOOTSTRAP": clean_kafka,
        "IAJ_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'iaj.db'}",
        "IAJ_CONSUMER_GROUP": f"iaj-municipal-{unique_suffix}",
        "IAJ_CONSUMER_SESSION_TIMEOUT_MS": "1000",
        "IAJ_CONSUMER_HEARTBEAT_INTERVAL_MS": "250",
        "IAJ_RELAY_INTERVAL_SECONDS": "0.1",
        "IAJ_PARTNER_KEYS_DIR": str(partner_keys_dir()),
        # /metrics and /health/* on a port of its own (a test beside it may hold 9464).
        "IAJ_OPS_PORT": str(free_port()),
    }


def iaj(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*IAJ, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def serve(env: dict[str, str], tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen([*IAJ, "serve"], env=env, stdout=sink, stderr=subprocess.STDOUT)


async def test_sigterm_stops_the_service_gracefully_and_a_restart_loses_nothing(
    env: dict[str, str],
    clean_kafka: str,  # noqa: F811
    serve: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    log = tmp_path / "serve.log"
    # The first run as documented: only `iaj db upgrade --create` makes the database; the
    # service finds it at its schema, and the commands below refuse any other.
    iaj(env, "db", "upgrade", "--create")
    serve.append(start(env, log))
    born = (dt.date.today() - dt.timedelta(days=17 * 365)).isoformat()
    added = json.loads(
        iaj(
            env,
            "case",
            "add",
            "--naam",
            "Noor Proefmans",
            "--geboortedatum",
            born,
            "--district",
            "noord",
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
    case_id = added["case_id"]
    iaj(env, "round", "open", case_id, "--kleur", Colour.GROEN.value)

    async with FakePartners(clean_kafka) as partners:
        sets = await partners.question_sets(
            lambda got: {q.partner for q in got} >= GROEN_FIRST_WAVE, within=60
        )
        for qs in sets:
            await partners.answer(qs)
        serve[0].send_signal(signal.SIGTERM)  # while those answers may be in flight
        code = await asyncio.to_thread(serve[0].wait, 60)
        assert code == 0, log.read_text()

        serve.append(start(env, log))  # the restart processes whatever was not committed
        cjg = await partners.question_sets(
            lambda got: Partner.CJG in {q.partner for q in got}, within=60
        )
        await partners.answer(next(qs for qs in cjg if qs.partner is Partner.CJG))
        (result,) = await partners.results(within=60)
        assert await partners.no_more_results() == []
    assert {p.partner for p in result.partners} == GROEN_FIRST_WAVE | {Partner.CJG}
    assert all(o.answer is not None for p in result.partners for o in p.questions)
    status = json.loads(iaj(env, "status", "--json"))
    assert status["outbox"]["unsent"] == 0, status
