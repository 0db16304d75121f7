"""The `iaj` command line: one entry point for the municipal service, operators and partners."""

from __future__ import annotations

import typer

from broker.cli.cases import app as case_app
from broker.cli.db import app as db_app
from broker.cli.focuslist import app as focuslist_app
from broker.cli.forwarded import add_forwarded_commands
from broker.cli.policy import app as policy_app
from broker.cli.retention import app as retention_app
from broker.cli.rounds import app as round_app
from broker.cli.serve import serve
from broker.cli.status import status

__all__ = ["app"]

app = typer.Typer(
    name="iaj",
    help=(
        "iaj-broker: colour-scoped information requests between the municipality of Haarlem "
        "and the partners of the Integrale Aanpak Jeugd."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(policy_app, name="policy", help="Show the uitvraag policy: who is asked what.")
app.add_typer(db_app, name="db", help="The municipal database: apply migrations.")
app.add_typer(case_app, name="case", help="Youths on the netto focus list.")
app.add_typer(focuslist_app, name="focuslist", help="Import the focus list (netto rows only).")
app.add_typer(round_app, name="round", help="Open an enrichment round, show one.")
app.add_typer(
    retention_app, name="retention", help="Delete what the convenant no longer allows to keep."
)
app.command("status")(status)
app.command("serve")(serve)
add_forwarded_commands(app)

