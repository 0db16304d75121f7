"""`iaj contracts ...`: write the JSON Schemas and AsyncAPI documents for partners."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

import contracts
from broker.asyncapi import ASYNCAPI_DIR, stale_asyncapi_files
from contracts.jsonschema import render_schema, schema_filename, wire_schemas

__all__ = ["SCHEMAS_DIR", "app", "expected_schema_files", "stale_schema_files"]

SCHEMAS_DIR = Path(contracts.__file__).parent / "schemas"
_GLOB = schema_filename("*")

app = typer.Typer(no_args_is_help=True, pretty_exceptions_show_locals=False)


@app.callback()
def _contracts() -> None:
    """The shared contracts: JSON Schemas of the wire messages."""


def expected_schema_files() -> dict[str, str]:
    """File name -> exact text of every schema file that should be checked in."""
    return {schema_filename(name): render_schema(s) for name, s in wire_schemas().items()}


def stale_schema_files(directory: Path) -> list[str]:
    """Names of files in `directory` that are missing, differ, or are no longer generated."""
    expected = expected_schema_files()
    stale = [
        name
        for name, text in expected.items()
        if not (directory / name).is_file()
        or (directory / name).read_text(encoding="utf-8") != text
    ]
    stale += [p.name for p in sorted(directory.glob(_GLOB)) if p.name not in expected]
    return stale


@app.command()
def schemas(
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if any file is out of date.")
    ] = False,
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the schema files live.", file_okay=False)
    ] = SCHEMAS_DIR,
) -> None:
    """Write contracts/schemas/<Message>.schema.json for every wire message."""
    out, err = _console(), _console(stderr=True)
    stale = stale_schema_files(directory) if directory.is_dir() else list(expected_schema_files())
    if check:
        if stale:
            err.print(Text(f"out of date in {directory}: {', '.join(stale)}", style="red"))
            err.print("run `make schemas` (or `iaj contracts schemas`) and commit the result")
            raise typer.Exit(1)
        out.print(f"schemas in {directory} are up to date")
        return
    directory.mkdir(parents=True, exist_ok=True)
    expected = expected_schema_files()
    for name in stale:
        path = directory / name
        if name in expected:
            path.write_text(expected[name], encoding="utf-8")
        else:
            path.unlink()
    out.print(f"{len(stale)} schema file(s) updated in {directory}" if stale else "up to date")


def _console(*, stderr: bool = False) -> Console:
    return Console(stderr=stderr, soft_wrap=True, markup=False, highlight=False)


@app.command()
def asyncapi(
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if any file is out of date.")
    ] = False,
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the AsyncAPI documents live.", file_okay=False)
    ] = ASYNCAPI_DIR,
) -> None:
    """Write docs/asyncapi/*.yaml: the topics and messages of the service and the adapter."""
    out, err = _console(), _console(stderr=True)
    try:
        stale = stale_asyncapi_files(directory)
    except ImportError as exc:  # PyYAML is a development dependency
        err.print(Text(f"{exc}: install 'iaj-broker[dev]'", style="red"))
        raise typer.Exit(2) from exc
    if check:
        if stale:
            err.print(Text(f"out of date in {directory}: {', '.join(stale)}", style="red"))
            err.print("run `make schemas` (or `iaj contracts asyncapi`) and commit the result")
            raise typer.Exit(1)
        out.print(f"AsyncAPI documents in {directory} are up to date")
        return
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in stale.items():
        (directory / name).write_text(text, encoding="utf-8")
    out.print(f"{len(stale)} document(s) updated in {directory}" if stale else "up to date")
