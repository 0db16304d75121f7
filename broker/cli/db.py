"""`iaj db ...`: the municipal database's schema."""

from __future__ import annotations

import typer
from rich.text import Text
from sqlalchemy.engine import make_url

from broker.cli.common import DatabaseUrlOpt, load_settings, out, run_db
from handlers.db.uow import UnitOfWork

__all__ = ["app"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False)


@app.callback()
def _root() -> None:
    """The municipal database."""


@app.command()
def upgrade(database_url: DatabaseUrlOpt = None) -> None:
    """Apply the migrations; safe to run again (the service also runs them on start-up)."""
    settings = load_settings(database_url)

    async def nothing(_uow: UnitOfWork) -> None:
        return None  # run_db migrates before any work

    run_db(settings, nothing)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    out.print(Text.assemble(("database schema up to date: ", "green"), shown), soft_wrap=True)
