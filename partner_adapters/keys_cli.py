"""`iaj-adapter keys ...`: the partner's signing key (partner_adapters/signing_key.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from contracts import Partner
from partner_adapters.signing_key import SigningKeyError, generate_key, load_signer

__all__ = ["app"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False)
_err = Console(stderr=True)


@app.command()
def generate(
    partner: Annotated[Partner, typer.Option(envvar="IAJ_ADAPTER_PARTNER", help="Your code.")],
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write the key pair (created if needed).")
    ] = Path("."),
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Make a new signing key pair: keep the .key file here, give the .pub file to the
    municipality."""
    made = generate_key(partner, directory)
    if json_:
        typer.echo(
            json.dumps(
                {"key_id": made.key_id, "private": str(made.private), "public": str(made.public)}
            )
        )
        return
    typer.echo(f"key id      {made.key_id}")
    typer.echo(f"private key {made.private}  (keep it here; readable by you only)")
    typer.echo(f"public key  {made.public}  (give it to the municipality)")
    typer.echo(f"then set    IAJ_ADAPTER_SIGNING_KEY={made.private}")


@app.command()
def show(
    key: Annotated[
        Path | None, typer.Option(envvar="IAJ_ADAPTER_SIGNING_KEY", help="The private key.")
    ] = None,
) -> None:
    """The key id of the signing key in use (the municipality lists it with your key)."""
    try:
        typer.echo(load_signer(key).key_id)
    except SigningKeyError as exc:
        _err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
