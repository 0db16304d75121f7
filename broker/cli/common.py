"""What every municipal command shares: settings, a database session, errors, output.

A command parses its options, then hands one coroutine to `run_db`, which builds the engine,
brings the schema up to date (so a fresh SQLite file works), runs it and disposes the engine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from broker.settings import ServiceSettings
from contracts.errors import ContractError
from handlers.db.engine import make_engine, make_session_factory
from handlers.db.faults import is_transient, log_retry
from handlers.db.migrate import upgrade
from handlers.db.uow import UnitOfWork
from handlers.errors import ServiceError, UnknownActor
from handlers.officials import load_officials

log = logging.getLogger("iaj.cli")

__all__ = [
    "EXIT_REFUSED",
    "EXIT_UNAVAILABLE",
    "ActorOpt",
    "DatabaseUrlOpt",
    "JsonOpt",
    "acting_official",
    "fail",
    "human_age",
    "iso",
    "load_settings",
    "out",
    "print_json",
    "reported_errors",
    "run_db",
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
    with reported_errors():
        if database_url is None:
            return ServiceSettings()
        return ServiceSettings(database_url=database_url)


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


def run_db(settings: ServiceSettings, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run `work` in one unit of work on a migrated database; it commits itself if it should.

    While the database fails for reasons of its own (`is_transient`: a lost session, a
    read-only spell, ...) the work is tried again on a fresh connection, as the service
    does, for up to `database_retry_seconds`; a scheduled `iaj retention purge` rides out
    a failover instead of failing."""

    async def main() -> T:
        engine = make_engine(settings.database_url)
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(is_transient),
                stop=stop_after_delay(settings.database_retry_seconds),
                wait=wait_exponential(multiplier=0.2, max=5),
                before_sleep=log_retry(log, "database"),
                reraise=True,
            ):
                with attempt:
                    await upgrade(engine)
                    async with UnitOfWork(make_session_factory(engine)) as uow:
                        return await work(uow)
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            await engine.dispose()

    with reported_errors():
        return asyncio.run(main())


@contextmanager
def reported_errors() -> Iterator[None]:
    """Errors a user can act on become one red line on stderr and exit 2, not a traceback."""
    try:
        yield
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
