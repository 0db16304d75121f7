"""The actor is required and real: every `iaj` command that processes personal data names an
official of the officials file (--actor or IAJ_ACTOR), or is refused before it touches the
database. There is no default actor."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from broker.cli import app

pytestmark = pytest.mark.integration


def iaj(database: Path, *args: str, **env: str | None) -> Result:
    return CliRunner().invoke(
        app, list(args), env={"IAJ_DATABASE_URL": f"sqlite+aiosqlite:///{database}", **env}
    )


def refused(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return " ".join(result.stderr.split())


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--actor", ""], {}, "say who does this: --actor NAME or IAJ_ACTOR"),
        (["--actor", "   "], {}, "say who does this"),
        ([], {"IAJ_ACTOR": None}, "say who does this"),
        (["--actor", "burgemeester"], {}, "'burgemeester' is not an official"),
        ([], {"IAJ_ACTOR": "burgemeester"}, "ask the responsible official (functionaris.iaj)"),
        (["--actor", "regisseur-a"], {"IAJ_OFFICIALS_FILE": None}, "no officials are configured"),
    ],
    ids=["empty", "blank", "none", "unknown-flag", "unknown-env", "no-officials-file"],
)
@pytest.mark.parametrize(
    "command",
    [
        ["case", "list"],
        ["case", "inform", "00000000-0000-4000-8000-000000000000", "--date", "2026-01-05"],
        ["round", "show", "00000000-0000-4000-8000-000000000000"],
        ["retention", "purge"],
    ],
    ids=["case-list", "case-inform", "round-show", "retention-purge"],
)
def test_without_a_real_official_nothing_is_done(
    tmp_path: Path, command: list[str], args: list[str], env: dict[str, str | None], says: str
) -> None:
    database = tmp_path / "iaj.db"
    assert says in refused(iaj(database, *command, *args, **env))
    # Refused before the database was opened: not even an empty file was made.
    assert not database.exists()


def test_an_official_named_in_the_environment_acts(sqlite_url: str) -> None:
    result = CliRunner().invoke(
        app,
        ["case", "list", "--json"],
        env={"IAJ_DATABASE_URL": sqlite_url, "IAJ_ACTOR": "regisseur-a"},
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("officials", "says"),
    [
        ("", "official: Field required"),
        (
            '[[official]]\nname = "a.b"\nrole = "regisseur"\n',
            "mark exactly one official `responsible = true`",
        ),
        (
            '[[official]]\nname = "a.b"\nrole = "r"\nresponsible = true\n'
            '[[official]]\nname = "a.b"\nrole = "r"\n',
            "an official is listed twice",
        ),
        ('[[official]]\nname = "A B"\nrole = "r"\nresponsible = true\n', "official.0.name"),
        ("not toml =", "not a TOML file"),
    ],
    ids=["empty", "no-responsible", "twice", "bad-name", "not-toml"],
)
def test_a_bad_officials_file_is_refused_naming_it(
    tmp_path: Path, officials: str, says: str
) -> None:
    file = tmp_path / "officials.toml"
    file.write_text(officials, encoding="utf-8")
    message = refused(
        iaj(tmp_path / "iaj.db", "case", "list", "--actor", "a.b", IAJ_OFFICIALS_FILE=str(file))
    )
    assert str(file) in message.replace(" ", "") or str(file) in message
    assert says in message


def test_a_missing_officials_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    message = refused(iaj(tmp_path / "iaj.db", "case", "list", IAJ_OFFICIALS_FILE=str(missing)))
    assert "cannot read the officials file" in message
