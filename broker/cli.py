"""The `iaj` command line: one entry point for the municipal service, operators and partners."""

from __future__ import annotations

import typer

from broker.contracts_cli import app as contracts_app
from broker.policy_cli import app as policy_app
from partner_adapters.cli import app as adapter_app

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
app.add_typer(adapter_app, name="adapter", help="Run and operate a partner adapter.")
app.add_typer(
    contracts_app, name="contracts", help="The shared contracts: JSON Schemas for partners."
)
