"""Every `iaj` command, loaded only when it runs.

`iaj --help` lists the commands from the table below without importing any of them, so it
starts in a fraction of a second; `iaj case list` imports the case commands and what they
need (the database, the use cases) and nothing else. Each entry hands its arguments to the
real command's Typer app.

Some commands' code is not part of every installation: `demo`, `bench`, `contracts` and
`deploy` live in `devtools/`, which a clone of the repository has and the production wheel
and image do not; `adapter` is the partner adapter, a distribution of its own. Where the code
is missing, the command says where it is instead of failing with an import error.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Any

import typer

__all__ = ["COMMANDS", "EXIT_NOT_INSTALLED", "LazyCommand", "add_lazy_commands"]

EXIT_NOT_INSTALLED = 2  # as a refused request: nothing happened
_FORWARD: dict[str, Any] = {"ignore_unknown_options": True, "allow_extra_args": True}

_CASES = "Youths and rounds"
_OPERATE = "Run and operate the municipal service"
_PARTNER = "Partners"
_DEV = "Development (in a clone of the repository)"
_DEV_TOOL = "is a development tool and is not part of this installation. In a clone of the "


@dataclass(frozen=True)
class LazyCommand:
    name: str
    module: str  # holds a Typer `app`
    help: str
    panel: str
    where: str = ""  # where the command is when its code is not installed


COMMANDS = (
    LazyCommand("focuslist", "broker.cli.focuslist", "Import the focus list (netto rows only).",
                _CASES),
    LazyCommand("case", "broker.cli.cases", "Youths on the netto focus list.", _CASES),
    LazyCommand("round", "broker.cli.rounds", "Open, list, show and cancel enrichment rounds.",
                _CASES),
    LazyCommand("policy", "broker.cli.policy", "Show the uitvraag policy: who is asked what.",
                _CASES),
    LazyCommand("serve", "broker.cli.serve",
                "Run the municipal service: answers, commands, outbox relay, deadlines.",
                _OPERATE),
    LazyCommand("status", "broker.cli.status",
                "Rounds, questions, refusals and dead letters at a glance.", _OPERATE),
    LazyCommand("deadletters", "broker.cli.deadletters",
                "Messages that could not be read: why, from where (never content).", _OPERATE),
    LazyCommand("db", "broker.cli.db", "The municipal database: create, upgrade, schema status.",
                _OPERATE),
    LazyCommand("retention", "broker.cli.retention",
                "Delete what the convenant no longer allows to keep.", _OPERATE),
    LazyCommand("adapter", "partner_adapters.cli", "Run and operate a partner adapter.",
                _PARTNER,
                "is the partner adapter, a distribution of its own: install "
                "iaj-partner-adapter (packaging/partner-adapter) and run `iaj-adapter`."),
    LazyCommand("demo", "devtools.demo.command",
                "Run the whole system on an embedded Kafka with synthetic youths.", _DEV,
                _DEV_TOOL + "repository run `make demo`."),
    LazyCommand("bench", "devtools.bench.command",
                "Measure the whole system next to plain aiokafka.", _DEV,
                _DEV_TOOL + "repository run `make bench`."),
    LazyCommand("contracts", "devtools.generators.contracts_command",
                "Write the JSON Schemas and AsyncAPI documents for partners.", _DEV,
                _DEV_TOOL + "repository run `make schemas`."),
    LazyCommand("deploy", "devtools.generators.deploy_command",
                "Write the Kafka deployment files: users, topics, ACLs.", _DEV,
                _DEV_TOOL + "repository run `make deploy-files`."),
)  # fmt: skip


def add_lazy_commands(app: typer.Typer) -> None:
    for command in COMMANDS:
        app.command(
            command.name,
            help=command.help,
            context_settings=_FORWARD,
            add_help_option=False,  # `--help` goes to the real command
            rich_help_panel=command.panel,
        )(_forwarder(command))


def _forwarder(command: LazyCommand) -> Any:
    def forward(ctx: typer.Context) -> None:
        try:
            module = importlib.import_module(command.module)
        except ModuleNotFoundError as exc:
            if not command.where or exc.name is None or not command.module.startswith(exc.name):
                raise  # the code is there but misses something: not ours to explain
            print(f"`iaj {command.name}` {command.where}", file=sys.stderr)
            raise typer.Exit(EXIT_NOT_INSTALLED) from None
        real = typer.main.get_command(module.app)
        real.main(args=ctx.args, prog_name=f"iaj {command.name}")

    forward.__name__ = command.name
    return forward
