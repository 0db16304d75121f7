"""The `iaj` command line: one entry point for the municipal service, operators and partners."""

from __future__ import annotations

import typer

from broker.cli_bench import bench
from broker.cli_cases import app as case_app
from broker.cli_db import app as db_app
from broker.cli_focuslist import app as focuslist_app
from broker.cli_retention import app as retention_app
from broker.cli_rounds import app as round_app
from broker.cli_serve import serve
from broker.cli_status import status
from broker.contracts_cli import app as contracts_app
from broker.demo.command import demo
from broker.deploy_cli import app as deploy_app
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
app.add_typer(db_app, name="db", help="The municipal database: apply migrations.")
app.add_typer(case_app, name="case", help="Youths on the netto focus list.")
app.add_typer(focuslist_app, name="focuslist", help="Import the focus list (netto rows only).")
app.add_typer(round_app, name="round", help="Open an enrichment round, show one.")
app.add_typer(
    retention_app, name="retention", help="Delete what the convenant no longer allows to keep."
)
app.add_typer(deploy_app, name="deploy", help="Kafka deployment files: users, topics, ACLs.")
app.command("demo")(demo)
app.command("status")(status)
app.command("serve")(serve)
app.command("bench")(bench)

if __name__ == "__main__":
    app()
