"""`iaj contracts ...`: write the JSON Schemas and AsyncAPI documents for partners."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

import contracts
from contracts.jsonschema import render_schema, schema_filename, wire_schemas
from devtools.generators.asyncapi import ASYNCAPI_DIR, expected_asyncapi_files
from devtools.generators.checked_in_files import GeneratedFiles
from devtools.generators.signing_vectors import VECTORS_FILE_NAME, signing_vectors

__all__ = ["SCHEMAS_DIR", "app", "expected_schema_files", "stale_schema_files"]

SCHEMAS_DIR = Path(contracts.__file__).parent / "schemas"
_GLOB = schema_filename("*")

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False)

CheckOpt = Annotated[
    bool, typer.Option("--check", help="Write nothing; exit 1 if any file is out of date.")
]


@app.callback()
def _contracts() -> None:
    """The shared contracts: JSON Schemas of the wire messages."""


def expected_schema_files() -> dict[str, str]:
    """File name -> exact text of every schema file that should be checked in."""
    return {schema_filename(name): render_schema(s) for name, s in wire_schemas().items()}


def stale_schema_files(directory: Path) -> list[str]:
    """Names of files in `directory` that are missing, differ, or are no longer generated."""
    return _schema_files(directory).stale()


def _schema_files(directory: Path) -> GeneratedFiles:
    return GeneratedFiles(
        "schema file(s)",
        directory,
        expected_schema_files(),
        regenerate="make schemas (or iaj contracts schemas)",
        prune_glob=_GLOB,
    )


@app.command()
def schemas(
    check: CheckOpt = False,
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the schema files live.", file_okay=False)
    ] = SCHEMAS_DIR,
) -> None:
    """Write contracts/schemas/<Message>.schema.json for every wire message."""
    _schema_files(directory).run(check=check)


@app.command()
def asyncapi(
    check: CheckOpt = False,
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the AsyncAPI documents live.", file_okay=False)
    ] = ASYNCAPI_DIR,
) -> None:
    """Write docs/asyncapi/*.yaml: the topics and messages of the service and the adapter."""
    try:
        expected = expected_asyncapi_files()
    except ImportError as exc:  # PyYAML is a development dependency
        Console(stderr=True).print(Text(f"{exc}: install 'iaj-broker[dev]'", style="red"))
        raise typer.Exit(2) from exc
    GeneratedFiles(
        "AsyncAPI document(s)",
        directory,
        expected,
        regenerate="make schemas (or iaj contracts asyncapi)",
    ).run(check=check)


@app.command("signing-vectors")
def signing_vectors_command(check: CheckOpt = False) -> None:
    """Write contracts/signing-vectors.json: worked examples of answer signatures."""
    GeneratedFiles(
        "signing vector file(s)",
        SCHEMAS_DIR.parent,
        {VECTORS_FILE_NAME: signing_vectors()},
        regenerate="make schemas (or iaj contracts signing-vectors)",
    ).run(check=check)
