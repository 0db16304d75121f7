"""`iaj-adapter desk` (serve the desk) and `iaj-adapter desk-user add|remove|list`.

The web framework is imported only when the desk is served: the other commands of
`iaj-adapter` do not pay for it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from contracts import Partner
from contracts.content_free_logs import LogFormat, configure_logging
from partner_adapters.desk.settings import DeskConfigError, DeskSettings, is_loopback
from partner_adapters.desk.users import (
    MIN_PASSWORD_LENGTH,
    UsersFileError,
    add_user,
    read_users,
    remove_user,
)
from partner_adapters.settings import AdapterSettings
from partner_adapters.signing_key import SigningKeyError, load_signer

__all__ = ["desk", "users_app"]

EXIT_REFUSED = 2
_err = Console(stderr=True)
_out = Console()

users_app = typer.Typer(no_args_is_help=True)

UsersFileOpt = Annotated[
    Path | None,
    typer.Option("--users-file", help="The desk's users file (else IAJ_DESK_USERS_FILE)."),
]


def _fail(message: str) -> typer.Exit:
    _err.print(f"[red]{escape(message)}[/red]")
    return typer.Exit(EXIT_REFUSED)


def _users_file(given: Path | None) -> Path:
    try:
        path = given or DeskSettings().users_file
    except ValidationError as exc:
        raise _fail(str(exc)) from None
    if path is None:
        raise _fail("no users file: pass --users-file or set IAJ_DESK_USERS_FILE")
    return path


def desk(
    partner: Annotated[
        Partner | None,
        typer.Option("--partner", "-p", help="This partner's code (else IAJ_ADAPTER_PARTNER)."),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on (else IAJ_DESK_HOST, default 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (else IAJ_DESK_PORT, default 9470).")
    ] = None,
    state_db: Annotated[
        Path | None,
        typer.Option("--state-db", help="Local state file (else IAJ_ADAPTER_STATE_DB)."),
    ] = None,
    bootstrap: Annotated[
        str | None,
        typer.Option("--bootstrap", help="Kafka host:port (else IAJ_ADAPTER_KAFKA_BOOTSTRAP)."),
    ] = None,
    record_only: Annotated[
        bool,
        typer.Option(
            "--record-only",
            help="Record answers only; the running adapter sends them (else IAJ_DESK_DELIVER).",
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING")] = "INFO",
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            case_sensitive=False, help="json, text or auto (else IAJ_ADAPTER_LOG_FORMAT)."
        ),
    ] = None,
) -> None:
    """Serve the desk: caseworkers answer open questions in a browser (see README.md)."""
    overrides: dict[str, Any] = {
        "partner": partner,
        "state_db": state_db,
        "kafka_bootstrap": bootstrap,
    }
    desk_overrides: dict[str, Any] = {"host": host, "port": port}
    if record_only:
        desk_overrides["deliver"] = False
    try:
        adapter = AdapterSettings(**{k: v for k, v in overrides.items() if v is not None})
        adapter.require_partner()
        settings = DeskSettings(**{k: v for k, v in desk_overrides.items() if v is not None})
    except (ValidationError, ValueError) as exc:
        raise _fail(str(exc)) from None
    configure_logging(log_level.upper(), log_format or adapter.log_format)
    if settings.deliver:
        try:  # as `iaj-adapter run`: an answer that cannot be signed is not taken
            load_signer(adapter.signing_key)
        except SigningKeyError as exc:
            raise _fail(f"{exc} (or serve the desk with --record-only)") from None
    from partner_adapters.desk.serving import desk_config, serve_desk  # the web framework

    try:
        config = desk_config(adapter, settings)
    except DeskConfigError as exc:
        raise _fail(str(exc)) from None
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    where = "this machine only" if is_loopback(settings.host) else "the network"
    _err.print(
        f"The IAJ desk for {config.partner.value}: http://{shown}:{settings.port}/ ({where})"
    )
    serve_desk(config, settings.host, settings.port)


@users_app.callback()
def _users() -> None:
    """The desk's users and their passwords (stored as Argon2id hashes)."""


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The user name the caseworker signs in with.")],
    users_file: UsersFileOpt = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add a user, or give an existing user a new password."""
    path = _users_file(users_file)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(
            f"Password for {name} (at least {MIN_PASSWORD_LENGTH} characters)",
            hide_input=True,
            confirmation_prompt=True,
        )
    try:
        new = add_user(path, name, password)
    except (UsersFileError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _out.print(f"{'Added' if new else 'New password for'} {escape(name)} in {escape(str(path))}.")


@users_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="The user to remove.")],
    users_file: UsersFileOpt = None,
) -> None:
    """Remove a user; a running desk signs them out at their next request."""
    path = _users_file(users_file)
    try:
        removed = remove_user(path, name)
    except UsersFileError as exc:
        raise _fail(str(exc)) from None
    if not removed:
        raise _fail(f"no user {name!r} in {path}")
    _out.print(f"Removed {escape(name)} from {escape(str(path))}.")


@users_app.command("list")
def list_users(users_file: UsersFileOpt = None) -> None:
    """The user names (never the hashes)."""
    path = _users_file(users_file)
    try:
        names = sorted(read_users(path))
    except UsersFileError as exc:
        raise _fail(str(exc)) from None
    for name in names:
        typer.echo(name)
