"""Commands whose code is not part of the municipal installation, loaded only when run.

- `demo`, `bench`, `contracts`, `deploy` live in `devtools/`, which a clone of the repository
  has and the production wheel and image do not;
- `adapter` is the partner adapter, a distribution of its own (`iaj-partner-adapter`, command
  `iaj-adapter`), which a clone of the repository also has.

`iaj --help` and the operator commands never import them. Each command here hands its
arguments to the real one; where that code is not installed it says where the command is,
instead of failing with an import error.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer

from broker.cli.common import EXIT_REFUSED, fail

__all__ = ["FORWARDED_COMMANDS", "add_forwarded_commands"]

_DEV_PANEL = "Development (in a clone of the repository)"
_FORWARD: dict[str, Any] = {"ignore_unknown_options": True, "allow_extra_args": True}


@dataclass(frozen=True)
class ForwardedCommand:
    name: str
    module: str  # holds a Typer `app`
    help: str
    where: str  # where the command is when its code is not installed
    panel: str | None = _DEV_PANEL


_DEV_TOOL = "is a development tool and is not part of this installation. In a clone of the "
FORWARDED_COMMANDS = (
    ForwardedCommand(
        "adapter",
        "partner_adapters.cli",
        "Run and operate a partner adapter.",
        "is the partner adapter, a distribution of its own: install iaj-partner-adapter "
        "(packaging/partner-adapter) and run `iaj-adapter`.",
        panel=None,
    ),
    ForwardedCommand(
        "demo",
        "devtools.demo.command",
        "Run the whole system on an embedded Kafka with synthetic youths.",
        _DEV_TOOL + "repository run `make demo`.",
    ),
    ForwardedCommand(
        "bench",
        "devtools.bench.command",
        "Measure the whole system next to plain aiokafka.",
        _DEV_TOOL + "repository run `make bench`.",
    ),
    ForwardedCommand(
        "contracts",
        "devtools.generators.contracts_command",
        "Write the JSON Schemas and AsyncAPI documents for partners.",
        _DEV_TOOL + "repository run `make schemas`.",
    ),
    ForwardedCommand(
        "deploy",
        "devtools.generators.deploy_command",
        "Write the Kafka deployment files: users, topics, ACLs.",
        _DEV_TOOL + "repository run `make deploy-files`.",
    ),
)


def add_forwarded_commands(app: typer.Typer) -> None:
    for command in FORWARDED_COMMANDS:
        app.command(
            command.name,
            help=command.help,
            context_settings=_FORWARD,
            add_help_option=False,  # `--help` goes to the real command
            rich_help_panel=command.panel,
        )(_forwarder(command))


def _forwarder(command: ForwardedCommand) -> Any:
    def forward(ctx: typer.Context) -> None:
        try:
            module = importlib.import_module(command.module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not command.module.startswith(exc.name):
                raise  # the code is there but misses something: not ours to explain
            fail(f"`iaj {command.name}` {command.where}", code=EXIT_REFUSED)
        real = typer.main.get_command(module.app)
        real.main(args=ctx.args, prog_name=f"iaj {command.name}")

    forward.__name__ = command.name
    return forward
