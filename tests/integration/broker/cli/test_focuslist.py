"""`iaj focuslist import` on SQLite and PostgreSQL: only valid netto rows are stored, and a
person not taken in leaves no trace: not in any table, not in the database file, not in the
log, not on the terminal. A file that cannot be read as a whole changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner, Result

from broker.cli import app
from handlers.db.engine import make_engine
from tests.support.clock import today

pytestmark = pytest.mark.integration

HEADER = "lijst,naam,geboortedatum,district,traject,criteria,adres,adres_reden,gezinsleden,kleur"


def born(age: int) -> str:
    """A date of birth that makes someone exactly `age` today: 1 January, `age` years ago."""
    return dt.date(today().year - age, 1, 1).isoformat()


# Names (and an address) that must never be stored or shown. Distinct enough to find anywhere.
HIDDEN = {
    "bruto": "Brutus Onzichtbaarheid",
    "bruto_family": "Gerda Brutogezinslid",
    "bruto_address": "Verborgenlaan 1313",
    "too_old": "Tobias Teoudvoordelijst",
    "bad_district": "Dorien Buitenhaarlem",
    "address_no_reason": "Ursula Zonderreden",
    "address_of_refused": "Geheimstraat 7777",
    "bad_family": "Harm Ongedateerdlid",
    "short_row": "Sientje Teweinigvelden",
}
NETTO = ("Anouk Meetlatje", "Bilal Proefrijtje", "Carmen Oefenkaartje")


def focus_list() -> str:
    rows = [
        HEADER,
        f"netto,{NETTO[0]},{born(16)},schalkwijk,iaj,politiecontacten,,,,groen",
        f"bruto,{HIDDEN['bruto']},{born(17)},oost,iaj,politiecontacten,"
        f"{HIDDEN['bruto_address']},buurtwerk,{HIDDEN['bruto_family']}:1980-01-01,",
        f"netto,{NETTO[1]},{born(25)},noord,bit,sociaal_aanbod_geweigerd,,,Moeder Proefrijtje:"
        "1975-05-05,rood",
        f"netto,{HIDDEN['too_old']},{born(23)},centrum,iaj,politiecontacten,,,,groen",
        f"netto,{HIDDEN['bad_district']},{born(15)},amsterdam,iaj,politiecontacten,,,,groen",
        f"netto,{HIDDEN['address_no_reason']},{born(18)},oost,iaj,politiecontacten,"
        f"{HIDDEN['address_of_refused']},,,oranje",
        f"netto,{HIDDEN['bad_family']},{born(18)},oost,iaj,politiecontacten,,,"
        f"{HIDDEN['bad_family']} Senior:gisteren,oranje",
        f"netto,{HIDDEN['short_row']},{born(18)}",
        f"netto,{NETTO[2]},{born(20)},Zuid-West,iaj,politiecontacten;zorgsignalen_gezin,,,,groen",
    ]
    return "\n".join(rows) + "\n"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


async def import_file(database_url: str, path: Path, *extra: str) -> Result:
    # The CLI runs its own event loop (asyncio.run), so it gets a thread of its own.
    return await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["focuslist", "import", str(path), *extra],
        env={"IAJ_DATABASE_URL": database_url},
    )


async def dump_database(engine: AsyncEngine) -> str:
    """Every value of every column of every table, as text (bytes decoded, JSON expanded)."""
    metadata = MetaData()
    async with engine.connect() as conn:
        await conn.run_sync(metadata.reflect)
        parts = []
        for table in metadata.sorted_tables:
            for row in await conn.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        parts.append(bytes(value).decode("utf-8", "replace"))
                    elif isinstance(value, dict | list):
                        parts.append(json.dumps(value, ensure_ascii=False))
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    metadata = MetaData()
    async with engine.connect() as conn:
        await conn.run_sync(metadata.reflect)
        return {
            t.name: int(await conn.scalar(select(func.count()).select_from(t)) or 0)
            for t in metadata.sorted_tables
        }


def sqlite_file_bytes(database_url: str) -> bytes:
    """The database file and whatever SQLite keeps beside it (WAL, shared memory, journal)."""
    path = Path(str(make_url(database_url).database))
    siblings = [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]
    return b"".join(p.read_bytes() for p in siblings if p.exists())


async def test_only_valid_netto_rows_are_stored_and_the_rest_leave_no_trace(
    database_url: str, engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy keeps its loggers at WARNING; open them, so statements and their parameters
    # are logged too: a hidden name written anywhere would show up here.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    path = tmp_path / "focuslijst.csv"
    path.write_text(focus_list(), encoding="utf-8")

    result = await import_file(database_url, path, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["taken_in"], report["not_taken_in"]) == (3, 6)
    taken = {r["row"] for r in report["rows"] if r["taken_in"]}
    assert taken == {2, 4, 10}
    reasons = {r["row"]: r["reason"] for r in report["rows"] if not r["taken_in"]}
    assert reasons[3].startswith("bruto list")
    assert "age 23" in reasons[5]
    assert reasons[6].startswith("district")
    assert "reason" in reasons[7]
    assert reasons[8].startswith("gezinsleden (family member 1: date of birth)")
    assert "number of fields" in reasons[9]

    # A second run, as a table this time: everyone taken in is already on the list.
    again = await import_file(database_url, path)
    assert again.exit_code == 0, again.output
    assert "already on the netto focus list" in again.stdout

    counts = await row_counts(engine)
    assert (counts["cases"], counts["family_members"]) == (3, 1)
    stored = await dump_database(engine)
    assert all(name in stored for name in NETTO)  # the dump does see what is stored
    assert NETTO[0] in caplog.text  # and so does the log capture
    places = {
        "a table": stored,
        "the log": caplog.text,
        "the CLI output": result.output + again.output,
    }
    if make_url(database_url).get_backend_name() == "sqlite":
        raw = sqlite_file_bytes(database_url)
        assert NETTO[0].encode() in raw
        places["the SQLite files"] = raw.decode("utf-8", "replace")
    for where, text in places.items():
        for what, hidden in HIDDEN.items():
            assert hidden not in text, f"{what} ({hidden!r}) found in {where}"


MALFORMED = {
    "missing column": "lijst,naam,geboortedatum,district,criteria\n"
    "netto,Mirte Kolomloos,2010-01-01,oost,politiecontacten\n",
    "unknown column": HEADER + ",bsn\n"
    "netto,Mirte Kolomteveel,2010-01-01,oost,iaj,politiecontacten,,,,123456782\n",
    "column twice": HEADER + ",naam\n"
    "netto,Mirte Dubbelkolom,2010-01-01,oost,iaj,politiecontacten,,,,Mirte Dubbelkolom\n",
    "stray quote": HEADER + "\n"
    "netto,Mirte Voorhaakje,2010-01-01,oost,iaj,politiecontacten,,,\n"
    'netto,"Mirte Openhaakje,2010-01-01,oost,iaj,politiecontacten,,,\n'
    "netto,Mirte Nahaakje,2010-01-01,oost,iaj,politiecontacten,,,\n",
    "empty": "",
}


async def test_a_malformed_file_changes_nothing(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    good = tmp_path / "goed.csv"
    good.write_text(focus_list(), encoding="utf-8")
    assert (await import_file(database_url, good)).exit_code == 0
    before = await row_counts(engine)
    assert before["cases"] == 3

    files = {name: text.encode() for name, text in MALFORMED.items()}
    files["not UTF-8"] = (
        HEADER + "\nnetto,Zoë Latijnsenul,2010-01-01,oost,iaj,politiecontacten,,,\n"
    ).encode("latin-1")
    for name, content in files.items():
        path = tmp_path / f"{name.replace(' ', '_')}.csv"
        path.write_bytes(content)
        result = await import_file(database_url, path)
        assert result.exit_code == 2, f"{name}: {result.output}"
        assert "Nothing imported" in result.stderr, name
        assert "Traceback" not in result.output
        assert "Mirte" not in result.output, name
        assert "Latijnsenul" not in result.output, name
        assert await row_counts(engine) == before, name


@pytest.mark.parametrize(
    ("rows", "says"),
    [
        ([], "the file has a header and no rows"),
        (
            [f"bruto,Bram Alleenbruto,{born(16)},oost,iaj,politiecontacten,,,,"],
            "all 1 row(s) are bruto",
        ),
        (
            [f"netto,Tom Teoud,{born(30)},oost,iaj,politiecontacten,,,,groen"],
            "1 row(s) refused (see the reasons above)",
        ),
    ],
    ids=["no-rows", "only-bruto", "all-refused"],
)
@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
async def test_an_import_that_takes_no_one_in_fails_saying_why(
    sqlite_url: str, tmp_path: Path, rows: list[str], says: str, as_json: bool
) -> None:
    path = tmp_path / "lijst.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = await import_file(sqlite_url, path, *(["--json"] if as_json else []))
    assert result.exit_code == 2, result.output
    assert "no row was taken in" in result.stderr
    assert says in " ".join(result.stderr.split())
    assert "Bram" not in result.output
    assert "Tom" not in result.output


async def test_a_semicolon_separated_file_is_taken_in(sqlite_url: str, tmp_path: Path) -> None:
    """Dutch Excel saves "CSV" with semicolons; cells holding `;` come quoted."""
    path = tmp_path / "excel.csv"
    path.write_text(
        HEADER.replace(",", ";")
        + f'\nnetto;Saar Puntkomma;{born(16)};oost;iaj;"politiecontacten;netwerk_impact_wijk";;;;'
        "groen\n",
        encoding="utf-8-sig",
    )
    result = await import_file(sqlite_url, path, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["taken_in"] == 1


async def test_a_stray_quote_is_reported_on_its_own_line(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    good = f"netto,Mirte Goed,{born(16)},oost,iaj,politiecontacten,,,,groen"
    path.write_text(
        "\n".join(
            [
                HEADER,
                good,
                f'netto,"Mirte Open,{born(16)},oost,iaj,politiecontacten,,,,groen',
                good,
                good,
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    result = await import_file(sqlite_url, path)
    assert result.exit_code == 2, result.output
    assert "line 3: not valid CSV" in " ".join(result.stderr.split())
    assert "Mirte" not in result.output
