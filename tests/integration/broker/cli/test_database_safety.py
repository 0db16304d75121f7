"""The CLI cannot mislead an operator about the database: no command but `iaj db upgrade`
makes a database or changes its schema, and none works on a schema that is not its own.

A mistyped URL must not become a new, empty database reporting an all-green system, and an
operator's newer (or older) CLI must not migrate production under the running service.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from broker.cli import app
from handlers.db.engine import make_engine
from handlers.db.migrate import alembic_config, head_revision

pytestmark = pytest.mark.integration

FUTURE = "9999_from_a_newer_iaj"

# Commands that read only, and commands that write: all refuse the same way.
COMMANDS = [
    ["status"],
    ["case", "list"],
    ["round", "list"],
    ["round", "show", "00000000-0000-4000-8000-000000000000"],
    ["deadletters", "list"],
    ["retention", "purge"],
    ["db", "status"],
    [
        "case", "add", "--naam", "Noor Schema", "--geboortedatum", "2010-01-01",
        "--district", "noord", "--traject", "iaj", "--criterium", "politiecontacten",
        "--kleur", "groen",
    ],
]  # fmt: skip
IDS = [
    "status",
    "case-list",
    "round-list",
    "round-show",
    "deadletters",
    "retention",
    "db-status",
    "case-add",
]


def iaj(*args: str, **env: str | None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def refused(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return " ".join(result.stderr.split())


def previous_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_revision(head_revision())
    assert head is not None
    assert isinstance(head.down_revision, str)
    return head.down_revision


async def revision_and_cases(database_url: str) -> tuple[str, int]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).one()
            cases = await conn.scalar(text("SELECT count(*) FROM cases"))
            return revision[0], cases or 0
    finally:
        await engine.dispose()


async def downgrade_one(database_url: str) -> str:
    """The schema one migration back, as an older iaj left it."""
    previous = previous_revision()

    def down(sync: Connection) -> None:
        command.downgrade(alembic_config(sync), previous)

    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(down)
    finally:
        await engine.dispose()
    return previous


async def stamp(database_url: str, revision: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    finally:
        await engine.dispose()


@pytest.mark.parametrize("args", [*COMMANDS, ["serve"]], ids=[*IDS, "serve"])
def test_a_missing_sqlite_file_is_refused_naming_the_setting_and_not_created(
    tmp_path: Path, args: list[str]
) -> None:
    missing = tmp_path / "typo.db"
    message = refused(iaj(*args, IAJ_DATABASE_URL=f"sqlite+aiosqlite:///{missing}"))
    assert "IAJ_DATABASE_URL" in message
    assert "--database-url" in message
    assert "iaj db upgrade --create" in message
    assert not missing.exists()
    assert list(tmp_path.iterdir()) == []


def test_without_a_database_url_nothing_is_created_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    message = refused(iaj("status", IAJ_DATABASE_URL=None))
    assert "IAJ_DATABASE_URL is not set" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "not a SQLAlchemy URL"),
        ("postgresql://iaj:secret-pw@127.0.0.1:1/iaj", "postgresql+asyncpg://"),
    ],
    ids=["garbage", "sync-driver"],
)
def test_a_wrong_url_is_named_without_its_password(url: str, says: str) -> None:
    message = refused(iaj("status", IAJ_DATABASE_URL=url))
    assert says in message
    assert "IAJ_DATABASE_URL" in message
    assert "secret-pw" not in message


async def test_a_missing_postgresql_database_is_named(
    postgresql_url: str, unique_suffix: str
) -> None:
    url = make_url(postgresql_url).set(database=f"iaj_missing_{unique_suffix}")
    missing = url.render_as_string(hide_password=False)
    for args in (["status"], ["db", "upgrade"], ["db", "upgrade", "--create"]):
        message = refused(await asyncio.to_thread(iaj, *args, IAJ_DATABASE_URL=missing))
        assert "does not exist" in message, args
        assert "IAJ_DATABASE_URL" in message, args
        assert "createdb" in message


def test_an_existing_empty_file_is_refused_until_upgraded(tmp_path: Path) -> None:
    empty = tmp_path / "iaj.db"
    empty.touch()
    url = f"sqlite+aiosqlite:///{empty}"
    assert "iaj db upgrade" in refused(iaj("case", "list", IAJ_DATABASE_URL=url))
    upgraded = iaj("db", "upgrade", IAJ_DATABASE_URL=url)  # the file is there: no --create
    assert upgraded.exit_code == 0, upgraded.output
    assert iaj("case", "list", "--json", IAJ_DATABASE_URL=url).exit_code == 0


def test_db_upgrade_creates_a_new_sqlite_file_only_when_asked(tmp_path: Path) -> None:
    new = tmp_path / "new.db"
    url = f"sqlite+aiosqlite:///{new}"
    assert "--create" in refused(iaj("db", "upgrade", IAJ_DATABASE_URL=url))
    assert not new.exists()
    created = iaj("db", "upgrade", "--create", "--json", IAJ_DATABASE_URL=url)
    assert created.exit_code == 0, created.output
    assert new.exists()
    assert '"before": null' in created.stdout
    again = iaj("db", "upgrade", "--create", IAJ_DATABASE_URL=url)
    assert "up to date" in again.stdout
    assert iaj("db", "status", IAJ_DATABASE_URL=url).exit_code == 0


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
async def test_a_schema_older_than_the_code_is_refused_and_left_alone(
    database_url: str, args: list[str]
) -> None:
    previous = await downgrade_one(database_url)
    result = await asyncio.to_thread(iaj, *args, IAJ_DATABASE_URL=database_url)
    message = refused(result)
    assert "older than this iaj" in message
    assert "iaj db upgrade" in message
    assert await revision_and_cases(database_url) == (previous, 0)


async def test_db_upgrade_brings_an_older_schema_to_the_code(database_url: str) -> None:
    previous = await downgrade_one(database_url)
    upgraded = await asyncio.to_thread(iaj, "db", "upgrade", IAJ_DATABASE_URL=database_url)
    assert upgraded.exit_code == 0, upgraded.output
    assert f"{previous} -> {head_revision()}" in upgraded.stdout
    listed = await asyncio.to_thread(iaj, "round", "list", IAJ_DATABASE_URL=database_url)
    assert listed.exit_code == 0, listed.output


@pytest.mark.parametrize("args", [*COMMANDS, ["db", "upgrade"]], ids=[*IDS, "db-upgrade"])
async def test_a_schema_newer_than_the_code_is_refused(database_url: str, args: list[str]) -> None:
    await stamp(database_url, FUTURE)
    result = await asyncio.to_thread(iaj, *args, IAJ_DATABASE_URL=database_url)
    assert "this iaj is older than the database" in refused(result)
    assert await revision_and_cases(database_url) == (FUTURE, 0)


async def test_serve_with_migrate_on_start_off_refuses_an_older_schema(
    database_url: str,
) -> None:
    """`iaj serve` migrates at start-up unless IAJ_MIGRATE_ON_START=false; then it refuses
    a schema that is not its own before it touches Kafka (here: nothing listens)."""
    previous = await downgrade_one(database_url)
    env = {
        **os.environ,
        "IAJ_DATABASE_URL": database_url,
        "IAJ_MIGRATE_ON_START": "false",
        "IAJ_KAFKA_BOOTSTRAP": "127.0.0.1:1",
        "IAJ_CREATE_TOPICS": "false",
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "broker.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "iaj db upgrade" in done.stderr
    assert "Traceback" not in done.stderr
    assert await revision_and_cases(database_url) == (previous, 0)
