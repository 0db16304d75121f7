"""`iaj status` and Kafka: without Kafka the database part is still shown, with a plain line
saying Kafka could not be reached, and exit 3; `--no-kafka` does not ask; the JSON says which.
The lag itself, read from a real broker, is tested in
tests/integration/broker/service/test_backend_kit.py and, as the monitoring user on Apache
Kafka, in tests/integration/apache_kafka/test_acls_enforced.py."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from broker.cli import app
from broker.cli.status import EXIT_KAFKA_UNREACHABLE

pytestmark = pytest.mark.integration


def _closed_port() -> int:
    """A local port nothing listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def env(sqlite_url: str) -> dict[str, str]:
    return {
        "IAJ_DATABASE_URL": sqlite_url,
        "IAJ_KAFKA_BOOTSTRAP": f"127.0.0.1:{_closed_port()}",
        "IAJ_STATUS_KAFKA_TIMEOUT_SECONDS": "5",
    }


def test_without_kafka_the_database_part_is_shown_and_the_exit_code_says_so(
    env: dict[str, str],
) -> None:
    shown = CliRunner().invoke(app, ["status"], env=env)
    assert shown.exit_code == EXIT_KAFKA_UNREACHABLE == 3, shown.output
    text = " ".join(shown.stdout.split())
    assert "verwijsindex" in text  # the partner table, from the database
    assert "outbox:" in text
    assert "kafka: could not be reached" in text
    assert "Traceback" not in shown.output

    as_json = CliRunner().invoke(app, ["status", "--json"], env=env)
    assert as_json.exit_code == EXIT_KAFKA_UNREACHABLE, as_json.output
    data = json.loads(as_json.stdout)
    assert data["kafka"]["reachable"] is False
    assert env["IAJ_KAFKA_BOOTSTRAP"] in data["kafka"]["error"]
    assert data["outbox"]["unsent"] == 0


def test_no_kafka_skips_it(env: dict[str, str]) -> None:
    shown = CliRunner().invoke(app, ["status", "--no-kafka", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["kafka"] is None
