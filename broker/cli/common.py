"""What every municipal command shares: settings, a database session, errors, output.

A command parses its options, then hands one coroutine to `run_db`, which builds the engine,
checks that the database is there and its schema is this code's, runs it and disposes the
engine. No command but `iaj db upgrade` creates a database or changes its schema: an
operator's CLI that is newer or older than the running service must not migrate production
under it, and a mistyped URL must not become a new, empty database that reports all-green.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from broker.cli.terms import in_flag_terms
from broker.settings import ServiceSettings
from contracts.errors import ContractError
from handlers.db.engine import make_engine, make_session_factory
from handlers.db.faults import has_sqlstate, is_transient, log_retry
from handlers.db.migrate import Schema, SchemaNotCurrent, SchemaState, schema_state
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected, ServiceError, UnknownActor
from handlers.officials import load_officials

log = logging.getLogger("iaj.cli")

__all__ = [
    "EXIT_REFUSED",
    "EXIT_UNAVAILABLE",
    "ActorOpt",
    "DatabaseNotReady",
    "DatabaseUrlOpt",
    "JsonOpt",
    "acting_official",
    "check_database_url",
    "fail",
    "human_age",
    "iso",
    "load_settings",
    "missing_sqlite_file",
    "open_engine",
    "out",
    "print_json",
    "read_schema_state",
    "reported_errors",
    "require_current_schema",
    "retrying",
    "run_db",
    "shown_url",
]

EXIT_REFUSED = 2  # the input or the request was refused; nothing changed
EXIT_UNAVAILABLE = 1  # the database could not be used

T = TypeVar("T")
out = Console()
_err = Console(stderr=True)

DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy async URL (else IAJ_DATABASE_URL)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
ActorOpt = Annotated[
    str | None,
    typer.Option(
        "--actor",
        envvar="IAJ_ACTOR",
        show_envvar=True,
        help="The official who does this, for the processing log: one of IAJ_OFFICIALS_FILE.",
    ),
]


def load_settings(database_url: str | None = None) -> ServiceSettings:
    """The IAJ_* settings; a bad one is named as the variable (or --database-url) to fix."""
    try:
        if database_url is None:
            return ServiceSettings()
        return ServiceSettings(database_url=database_url)
    except ValidationError as exc:
        # Not str(exc): pydantic echoes the input, which may be a URL with a password.
        fail(
            "; ".join(
                f"{_setting_name(e['loc'], database_url is not None)}: "
                f"{e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
        )


def _setting_name(loc: tuple[int | str, ...], flag_given: bool) -> str:
    name = str(loc[0]) if loc else ""
    if not name:
        return "the IAJ_* settings"
    if name == "database_url" and flag_given:
        return "--database-url"
    return f"IAJ_{name.upper()}"


def acting_official(
    settings: ServiceSettings, actor: str | None, *, responsible_only: str | None = None
) -> str:
    """The official named by --actor or IAJ_ACTOR; refused (exit 2) when none is named or the
    name is not in the officials file. There is no default: the log must say who did it.

    `responsible_only`: what only the responsible official may do (e.g. "erase a case")."""
    with reported_errors():
        officials = load_officials(settings.officials_file)
        official = officials.require(actor)
        if responsible_only and not official.responsible:
            raise UnknownActor(
                f"only the responsible official ({officials.responsible.name}) may "
                f"{responsible_only}: the convenant gives them the management of the file"
            )
        return official.name


class DatabaseNotReady(Exception):
    """The database named by the settings is missing, unreadable as a URL, or its schema is
    not this code's. Never transient: trying again cannot help, the operator must act."""


def _where(settings: ServiceSettings) -> str:
    """Which setting named the database, in the operator's terms."""
    if "database_url" in settings.model_fields_set:
        return "check IAJ_DATABASE_URL (or --database-url)"
    return (
        "IAJ_DATABASE_URL is not set and --database-url not given, so the default "
        f"{ServiceSettings.model_fields['database_url'].default} was used: set one of them"
    )


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def missing_sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite URL when it does not exist (connecting would create it)."""
    url = make_url(database_url)
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # a URI filename: SQLite's own rules, not ours to guess
        return None
    path = Path(database)
    return None if path.exists() else path.absolute()


def check_database_url(settings: ServiceSettings, *, create: bool = False) -> URL:
    """The settings' database URL; refused (DatabaseNotReady) when it is not one, or names a
    SQLite file that does not exist, unless `create` (`iaj db upgrade --create` only)."""
    try:
        url = make_url(settings.database_url)
        missing = missing_sqlite_file(settings.database_url)
    except ArgumentError:
        # Never the URL itself in the message: it may hold a password.
        raise DatabaseNotReady(
            "the database URL is not a SQLAlchemy URL (sqlite+aiosqlite:///FILE or "
            f"postgresql+asyncpg://USER@HOST/DB); {_where(settings)}"
        ) from None
    if missing is not None and not create:
        raise DatabaseNotReady(
            f"no database at {missing}: {_where(settings)}. A new database is made only on "
            "purpose, by `iaj db upgrade --create`"
        )
    if missing is not None and not missing.parent.is_dir():
        raise DatabaseNotReady(f"no folder {missing.parent} for the database; {_where(settings)}")
    return url


def open_engine(settings: ServiceSettings, *, create: bool = False) -> AsyncEngine:
    """The engine of the settings' database, once `check_database_url` passed it."""
    url = check_database_url(settings, create=create)
    try:
        return make_engine(settings.database_url)
    except (ArgumentError, ImportError) as exc:  # e.g. postgresql:// without +asyncpg
        raise DatabaseNotReady(
            f"the database URL {_shown(url)} cannot be used ({type(exc).__name__}): use "
            f"sqlite+aiosqlite:///FILE or postgresql+asyncpg://...; {_where(settings)}"
        ) from None


def shown_url(settings: ServiceSettings) -> str:
    """The settings' database URL without its password, fit for a terminal."""
    return _shown(make_url(settings.database_url))


async def read_schema_state(engine: AsyncEngine, settings: ServiceSettings) -> SchemaState:
    """The database's schema next to this code's; DatabaseNotReady when there is no such
    database (PostgreSQL: SQLSTATE 3D000)."""
    try:
        return await schema_state(engine)
    except DBAPIError as exc:
        if has_sqlstate(exc, "3D000"):  # invalid_catalog_name
            raise DatabaseNotReady(
                f"the database of {_shown(engine.url)} does not exist: {_where(settings)}. "
                "A PostgreSQL database is created by its administrator (createdb); then "
                "`iaj db upgrade` creates the schema"
            ) from None
        raise


def retrying(settings: ServiceSettings) -> AsyncRetrying:
    """Tries again while the database fails for reasons of its own, as the service does."""
    return AsyncRetrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_delay(settings.database_retry_seconds),
        wait=wait_exponential(multiplier=0.2, max=5),
        before_sleep=log_retry(log, "database"),
        reraise=True,
    )


async def require_current_schema(engine: AsyncEngine, settings: ServiceSettings) -> None:
    """Refuse (DatabaseNotReady) a database whose schema is not exactly this code's."""
    state = await read_schema_state(engine, settings)
    refusal = state.refusal()
    if state.schema is Schema.EMPTY:
        raise DatabaseNotReady(f"{refusal} ({_where(settings)})")
    if refusal is not None:
        raise DatabaseNotReady(refusal)


def run_db(
    settings: ServiceSettings,
    work: Callable[[UnitOfWork], Awaitable[T]],
    *,
    flags: Mapping[str, str] | None = None,
) -> T:
    """Run `work` in one unit of work; it commits itself if it should.

    The database must be there and at this code's schema (`require_current_schema`):
    nothing here creates or migrates one; that is `iaj db upgrade`.

    While the database fails for reasons of its own (`is_transient`: a lost session, a
    read-only spell, ...) the work is tried again on a fresh connection, as the service
    does, for up to `database_retry_seconds`; a scheduled `iaj retention purge` rides out
    a failover instead of failing."""

    async def main() -> T:
        engine = open_engine(settings)
        try:
            async for attempt in retrying(settings):
                with attempt:
                    await require_current_schema(engine, settings)
                    async with UnitOfWork(make_session_factory(engine)) as uow:
                        return await work(uow)
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            await engine.dispose()

    with reported_errors(flags):
        return asyncio.run(main())


@contextmanager
def reported_errors(flags: Mapping[str, str] | None = None) -> Iterator[None]:
    """Errors a user can act on become one red line on stderr and exit 2, not a traceback.

    A refused case names the flag the user typed (broker/cli/terms.py; `flags` for a
    command whose flag for a field is not `iaj case add`'s, e.g. `--date`)."""
    try:
        yield
    except (DatabaseNotReady, SchemaNotCurrent) as exc:
        fail(str(exc), EXIT_UNAVAILABLE)
    except CaseRejected as exc:
        fail(f"{in_flag_terms(exc.field, flags)}: {exc.problem}")
    except (ServiceError, ContractError) as exc:
        fail(str(exc))
    except ValidationError as exc:
        # Not str(exc): pydantic echoes the input, which may be a URL with a password.
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    except DBAPIError as exc:
        # Only the driver's message: SQLAlchemy's own text carries the statement's parameters.
        fail(f"database error: {exc.orig}", EXIT_UNAVAILABLE)
    except SQLAlchemyError as exc:
        fail(f"the database cannot be used: {type(exc).__name__}", EXIT_UNAVAILABLE)
    except OSError as exc:
        where = exc.filename or "the database"
        fail(f"cannot use {where}: {exc.strerror or exc}", EXIT_UNAVAILABLE)


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    _err.print(Text(message, style="red"), soft_wrap=True)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_jsonable))


def _jsonable(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def iso(value: dt.datetime | dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def human_age(age: dt.timedelta | None) -> str:
    """`3d 4h`, `2h 05m`, `45s`: enough to see what is stuck, not a timestamp."""
    if age is None:
        return "-"
    seconds = int(age.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
