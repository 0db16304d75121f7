"""`iaj db ...`: the municipal database's schema.

`iaj db upgrade` is the one command that changes a schema, and with `--create` the one that
makes a new SQLite file; every other command refuses a database that is missing or whose
schema is not this iaj's (broker/cli/common.py).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.text import Text

from broker.cli.common import (
    EXIT_UNAVAILABLE,
    DatabaseNotReady,
    DatabaseUrlOpt,
    JsonOpt,
    fail,
    load_settings,
    open_engine,
    out,
    print_json,
    read_schema_state,
    reported_errors,
    retrying,
    shown_url,
)
from broker.settings import ServiceSettings
from handlers.db.migrate import Schema, SchemaState, schema_state
from handlers.db.migrate import upgrade as migrate

__all__ = ["app"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False)

_MEANING = {
    Schema.CURRENT: "up to date",
    Schema.EMPTY: "no schema yet: run `iaj db upgrade`",
    Schema.OLDER: "older than this iaj: run `iaj db upgrade`",
    Schema.NEWER: "this iaj is older than the database: use the iaj of the service's version",
}


@app.callback()
def _root() -> None:
    """The municipal database: its schema."""


@app.command()
def upgrade(
    create: Annotated[
        bool,
        typer.Option(
            "--create",
            help="Make the SQLite file when there is none (the first run). Without it a "
            "missing file is refused: a mistyped URL must not become a new, empty database.",
        ),
    ] = False,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Bring the database's schema to this iaj's version; safe to run again.

    The only command that changes the schema (`iaj serve` does too at start-up unless
    IAJ_MIGRATE_ON_START=false). A schema newer than this iaj is refused and left alone."""
    settings = load_settings(database_url)
    before, after = _upgrade(settings, create=create)
    if as_json:
        print_json({"before": before.current, "after": after.current, "head": after.head})
        return
    if before.current == after.current:
        message = f"database schema up to date (revision {after.current}): "
    else:
        message = f"database schema upgraded {before.current or '(none)'} -> {after.current}: "
    out.print(Text.assemble((message, "green"), shown_url(settings)), soft_wrap=True)


@app.command()
def status(as_json: JsonOpt = False, database_url: DatabaseUrlOpt = None) -> None:
    """The database's schema revision next to this iaj's; changes nothing. Exits 1 unless
    they are the same."""
    settings = load_settings(database_url)

    async def main() -> SchemaState:
        engine = open_engine(settings)
        try:
            async for attempt in retrying(settings):
                with attempt:
                    return await read_schema_state(engine, settings)
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            await engine.dispose()

    with reported_errors():
        state = asyncio.run(main())
    if as_json:
        print_json({"current": state.current, "head": state.head, "schema": state.schema})
    else:
        out.print(
            f"database revision {state.current or '(none)'} · this iaj {state.head} · "
            f"{_MEANING[state.schema]}",
            soft_wrap=True,
            markup=False,
        )
    refusal = state.refusal()
    if refusal is not None:
        fail(refusal, EXIT_UNAVAILABLE)


def _upgrade(settings: ServiceSettings, *, create: bool) -> tuple[SchemaState, SchemaState]:
    async def main() -> tuple[SchemaState, SchemaState]:
        engine = open_engine(settings, create=create)
        try:
            async for attempt in retrying(settings):
                with attempt:
                    before = await read_schema_state(engine, settings)
                    if before.schema is Schema.NEWER:
                        raise DatabaseNotReady(
                            f"this iaj is older than the database (its schema is at revision "
                            f"{before.current}, this iaj knows up to {before.head}): nothing "
                            "was changed; upgrade with the newer iaj"
                        )
                    await migrate(engine)
                    return before, await schema_state(engine)
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            await engine.dispose()

    with reported_errors():
        return asyncio.run(main())
