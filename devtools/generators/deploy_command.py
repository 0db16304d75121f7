"""`iaj deploy ...`: the cluster's users, topics and ACLs as scripts, derived from the contracts.

`make deploy-files` writes them to deploy/, where the compose example's init service runs
them; a unit test fails while a checked-in file differs from what these commands print.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from devtools.generators.kafka_acls import acl_plan, render_json, render_kafka_acls
from devtools.generators.kafka_topics import render_kafka_topics, topic_specs
from devtools.generators.kafka_users import render_kafka_users

__all__ = ["DEPLOY_FILES", "AclFormat", "app"]

# File name in deploy/ -> what it must contain.
DEPLOY_FILES: dict[str, Callable[[], str]] = {
    "kafka-users.sh": lambda: render_kafka_users(acl_plan()),
    "kafka-topics.sh": lambda: render_kafka_topics(topic_specs()),
    "kafka-acls.sh": lambda: render_kafka_acls(acl_plan()),
}

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False)


class AclFormat(StrEnum):
    KAFKA_ACLS = "kafka-acls"
    JSON = "json"


OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Write to this file instead of standard output.", dir_okay=False
    ),
]
CheckOpt = Annotated[
    bool,
    typer.Option("--check", help="Write nothing; exit 1 if --output differs from the output."),
]


@app.callback()
def _deploy() -> None:
    """Deployment files for Apache Kafka: users, topics and ACLs."""


@app.command()
def acls(
    fmt: Annotated[
        AclFormat, typer.Option("--format", help="kafka-acls.sh commands, or JSON.")
    ] = AclFormat.KAFKA_ACLS,
    include_operator: Annotated[
        bool, typer.Option(help="Include User:iaj-operator, who reads the dead letters.")
    ] = True,
    output: OutputOpt = None,
    check: CheckOpt = False,
) -> None:
    """Print the ACLs: per principal, exactly the topics and groups its role needs."""
    plan = acl_plan(include_operator=include_operator)
    _emit(
        render_kafka_acls(plan) if fmt is AclFormat.KAFKA_ACLS else render_json(plan),
        output,
        check=check,
    )


@app.command()
def topics(output: OutputOpt = None, check: CheckOpt = False) -> None:
    """Print the kafka-topics.sh commands creating every topic with its retention."""
    _emit(render_kafka_topics(topic_specs()), output, check=check)


@app.command()
def users(output: OutputOpt = None, check: CheckOpt = False) -> None:
    """Print the kafka-configs.sh commands setting each user's SCRAM-SHA-512 password."""
    _emit(render_kafka_users(acl_plan()), output, check=check)


def _emit(text: str, output: Path | None, *, check: bool) -> None:
    if output is None:
        if check:
            typer.echo("--check needs --output FILE", err=True)
            raise typer.Exit(2)
        sys.stdout.write(text)
        return
    current = output.read_text(encoding="utf-8") if output.is_file() else None
    if check:
        if current != text:
            typer.echo(f"{output} is out of date: run `make deploy-files`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{output} is up to date")
        return
    if current != text:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        if output.suffix == ".sh":
            output.chmod(0o755)
    typer.echo(f"{output} {'updated' if current != text else 'is up to date'}", err=True)
