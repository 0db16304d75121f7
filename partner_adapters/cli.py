"""The partner adapter's command line (`iaj adapter ...`, or `iaj-adapter ...` on its own)."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(
    name="iaj-adapter",
    help="Answer the municipality's questions from this partner's own system.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root() -> None:
    """Run and operate a partner adapter."""
