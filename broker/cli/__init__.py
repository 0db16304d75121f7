"""The `iaj` command line: one entry point for the municipal service and its operators.

The commands are listed in `broker.cli.lazy` and imported only when they run; one module per
command group beside this one.
"""

from __future__ import annotations

import typer

from broker.cli.lazy import add_lazy_commands

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
add_lazy_commands(app)
