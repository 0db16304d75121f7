"""What the `iaj case ...` modules share: the case argument and date options."""

from __future__ import annotations

from typing import Annotated, Any

import typer

__all__ = ["CaseArg", "date_option"]

CaseArg = Annotated[str, typer.Argument(metavar="CASE", help="The case id.")]
_DATE = ["%Y-%m-%d"]


def date_option(help_text: str) -> Any:  # typer.Option is typed as Any
    return typer.Option(formats=_DATE, help=f"{help_text} (YYYY-MM-DD).")
