"""The dev tools that bring the suite's own servers: clear words when something is missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devtools.apache_kafka import deployment_users
from devtools.kafka_jars import DEPLOY, KafkaJars, kafka_jars
from tests.support.postgres import (
    ADMIN_DSN_ENV,
    PostgresUnavailable,
    admin_dsns,
    choose_postgres,
)


def test_missing_jars_say_which_make_target_fetches_them(tmp_path: Path) -> None:
    problem = KafkaJars("4.4.0", tmp_path / "libs").problem()
    assert problem is not None
    assert "make kafka-jars" in problem


def test_the_jars_are_those_of_the_pom_version() -> None:
    jars = kafka_jars(Path("/somewhere"))
    pom = (DEPLOY / "kafka" / "pom.xml").read_text()
    assert f"<kafka.version>{jars.version}</kafka.version>" in pom
    assert jars.folder == Path(f"/somewhere/kafka-{jars.version}/libs")


def test_the_launcher_gives_a_password_to_every_user_the_users_script_creates() -> None:
    script = (DEPLOY / "kafka-users.sh").read_text()
    created = re.findall(r"--entity-name (\S+)", script)
    assert sorted(deployment_users()) == sorted(created)


def test_a_postgres_named_in_the_environment_is_used_or_reported_never_replaced() -> None:
    # Port 9 (discard) on loopback: nothing listens there.
    chosen, started = choose_postgres({ADMIN_DSN_ENV: "postgresql://postgres@127.0.0.1:9/x"})
    assert started is None, "no server of our own instead of the one asked for"
    assert isinstance(chosen, PostgresUnavailable)
    assert "127.0.0.1:9" in chosen.reason


@pytest.mark.parametrize("variable", ["", "   "])
def test_an_empty_variable_counts_as_not_set(variable: str) -> None:
    assert admin_dsns({ADMIN_DSN_ENV: variable}) != (variable,)
