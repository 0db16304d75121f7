"""The partner adapter's command line, `iaj-adapter ...` (in a clone also `iaj adapter ...`).

Exit codes: 0 done; 1 recorded but not (yet) sent, or Kafka unreachable; 2 refused or wrong
usage (nothing recorded as answered, nothing sent).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from contracts import Partner, YesNo
from contracts.content_free_logs import LogFormat, configure_logging
from contracts.messages import utc_now
from kafka_access.tracing import configure_tracing
from partner_adapters import interactive
from partner_adapters.answering import retry_pending
from partner_adapters.desk.cli import desk as desk_command
from partner_adapters.desk.cli import users_app as desk_users_app
from partner_adapters.errors import AdapterError
from partner_adapters.kafka_io import deliver_once
from partner_adapters.keys_cli import app as keys_app
from partner_adapters.loading import load_lookup
from partner_adapters.manual import ManualAnswerRefused, answer_manually, find_open_question
from partner_adapters.policy_guard import local_policy
from partner_adapters.runtime import build_adapter, lookup_retry, run_adapter
from partner_adapters.settings import AdapterSettings
from partner_adapters.signing_key import SigningKeyError, load_signer
from partner_adapters.state import AdapterStore
from partner_adapters.views import pending_json, pending_view, status_json, status_view

__all__ = ["app"]

EXIT_NOT_SENT = 1
EXIT_REFUSED = 2

app = typer.Typer(
    name="iaj-adapter",
    help="Answer the municipality's questions from this partner's own system.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(keys_app, name="keys", help="The signing key: generate one, show its id.")
app.add_typer(desk_users_app, name="desk-user", help="The desk's users: add, remove, list.")
app.command(name="desk")(desk_command)
_out = Console()
_err = Console(stderr=True)
T = TypeVar("T")

PartnerOpt = Annotated[
    Partner | None,
    typer.Option("--partner", "-p", help="This partner's code (else IAJ_ADAPTER_PARTNER)."),
]
StateDbOpt = Annotated[
    Path | None,
    typer.Option("--state-db", help="Local state file (else IAJ_ADAPTER_STATE_DB)."),
]
BootstrapOpt = Annotated[
    str | None,
    typer.Option("--bootstrap", help="Kafka host:port (else IAJ_ADAPTER_KAFKA_BOOTSTRAP)."),
]
LookupOpt = Annotated[
    str | None,
    typer.Option("--lookup", help="Your lookup, 'package.module:attr' (else IAJ_ADAPTER_LOOKUP)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.callback()
def _root() -> None:
    """Run and operate a partner adapter."""


def _settings(**overrides: Any) -> AdapterSettings:
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        settings = AdapterSettings(**given)
        settings.require_partner()
    except (ValidationError, ValueError) as exc:
        _err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(EXIT_REFUSED) from exc
    return settings


def _run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(work())
    except AdapterError as exc:
        _err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(EXIT_REFUSED) from exc


@app.command()
def run(
    partner: PartnerOpt = None,
    bootstrap: BootstrapOpt = None,
    lookup: LookupOpt = None,
    state_db: StateDbOpt = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING")] = "INFO",
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            case_sensitive=False,
            help="json, text or auto: JSON lines unless stderr is a terminal "
            "(else IAJ_ADAPTER_LOG_FORMAT).",
        ),
    ] = None,
) -> None:
    """Answer question sets as they arrive on iaj.questions.<partner>, until stopped."""
    settings = _settings(
        partner=partner, kafka_bootstrap=bootstrap, lookup=lookup, state_db=state_db
    )
    try:
        load_signer(settings.signing_key)  # before anything is answered: unsigned is refused
    except SigningKeyError as exc:
        _err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(EXIT_REFUSED) from None
    configure_logging(log_level.upper(), log_format or settings.log_format)
    try:  # only with the standard OTEL_* variables set (kafka_access.tracing)
        configure_tracing(f"iaj-adapter-{settings.require_partner().value}")
    except ValueError as exc:  # an OTEL_TRACES_EXPORTER that is not installed
        _err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(EXIT_REFUSED) from None
    runtime = build_adapter(settings)
    # With /metrics and /health/* on IAJ_ADAPTER_OPS_PORT unless it is 0.
    if not _run(lambda: run_adapter(runtime)):
        _err.print("[red]the adapter did not start (see the log above)[/red]")
        raise typer.Exit(EXIT_NOT_SENT)


@app.command()
def status(partner: PartnerOpt = None, state_db: StateDbOpt = None, json_: JsonOpt = False) -> None:
    """Counts of what was received, answered, refused at source and rejected; no content."""
    settings = _settings(partner=partner, state_db=state_db)

    async def work() -> dict[str, Any]:
        async with await _store(settings) as store:
            return status_json(await store.status(utc_now()))

    data = _run(work)
    if json_:
        typer.echo(json.dumps(data, indent=2))
    else:
        _out.print(status_view(data))


@app.command()
def pending(
    partner: PartnerOpt = None,
    state_db: StateDbOpt = None,
    json_: JsonOpt = False,
    expired: Annotated[bool, typer.Option(help="Also list questions past their deadline.")] = False,
) -> None:
    """Open questions, with whom each is about and what an answer may carry."""
    settings = _settings(partner=partner, state_db=state_db)
    policy = local_policy(settings.policy_file)

    async def work() -> list[dict[str, Any]]:
        async with await _store(settings) as store:
            found = await store.open_questions(utc_now(), include_expired=expired)
            return pending_json(found, store.partner, policy)

    rows = _run(work)
    if json_:
        typer.echo(json.dumps(rows, indent=2))
    else:
        _out.print(pending_view(rows, settings.require_partner()))


@app.command()
def answer(
    question_id: Annotated[
        str, typer.Argument(help="The question's id (a unique prefix will do).")
    ],
    partner: PartnerOpt = None,
    antwoord: Annotated[
        YesNo | None, typer.Option(help="ja or nee; without it you are asked interactively.")
    ] = None,
    met_wie: Annotated[list[str] | None, typer.Option("--met-wie", help="A partner code.")] = None,
    domein: Annotated[list[str] | None, typer.Option("--domein", help="A life domain.")] = None,
    toelichting: Annotated[str | None, typer.Option(help="A short explanation.")] = None,
    detail: Annotated[
        list[str] | None, typer.Option("--detail", help="A detail field, NAME=VALUE.")
    ] = None,
    question_set: Annotated[
        str | None, typer.Option(help="The question set id, if the question id is ambiguous.")
    ] = None,
    record_only: Annotated[
        bool, typer.Option(help="Record it; the running adapter sends it within seconds.")
    ] = False,
    bootstrap: BootstrapOpt = None,
    state_db: StateDbOpt = None,
) -> None:
    """Answer one open question by hand. It is checked exactly like a lookup's answer."""
    settings = _settings(partner=partner, state_db=state_db, kafka_bootstrap=bootstrap)
    policy = local_policy(settings.policy_file)

    async def work() -> int:
        async with await _store(settings) as store:
            open_question = await find_open_question(
                store, question_id, question_set_ref=question_set
            )
            if antwoord is None:  # prompts block: keep them off the event loop
                given = await asyncio.to_thread(interactive.ask, open_question)
            else:
                given = interactive.from_flags(
                    open_question, antwoord, met_wie, domein, toelichting, detail
                )
            try:
                message = await answer_manually(store, open_question, given, policy=policy)
            except ManualAnswerRefused as refused:
                _err.print(f"[bold red]Not sent.[/bold red] [red]{escape(str(refused))}[/red]")
                return EXIT_REFUSED
            _out.print(f"Recorded answer {message.message_id} to question {question_id}.")
            if record_only:
                return 0
            return await _deliver(settings, store)

    raise typer.Exit(_run(work))


@app.command()
def retry(
    partner: PartnerOpt = None,
    bootstrap: BootstrapOpt = None,
    lookup: LookupOpt = None,
    state_db: StateDbOpt = None,
) -> None:
    """Ask the lookup again for open questions (e.g. after a lookup failure), and send."""
    settings = _settings(
        partner=partner, kafka_bootstrap=bootstrap, lookup=lookup, state_db=state_db
    )
    policy = local_policy(settings.policy_file)

    async def work() -> int:
        found = load_lookup(settings.lookup)
        async with await _store(settings) as store:
            outcomes = await retry_pending(
                found, store, policy=policy, retry=lookup_retry(settings)
            )
            for outcome in outcomes:
                failed = outcome.lookup_failure
                _out.print(
                    f"question set {outcome.question_set_id}: {outcome.status.value}"
                    f" ({len(outcome.open_questions)} still open"
                    + (f", lookup failed: {failed.kind}" if failed else "")
                    + (f", {len(outcome.refusals)} refused at source" if outcome.refusals else "")
                    + ")"
                )
            if not outcomes:
                _out.print("No open questions before their deadline.")
            return await _deliver(settings, store)

    raise typer.Exit(_run(work))


async def _store(settings: AdapterSettings) -> AdapterStore:
    return await AdapterStore.open(settings.state_path(), settings.require_partner())


async def _deliver(settings: AdapterSettings, store: AdapterStore) -> int:
    try:
        sent = await deliver_once(settings, store)
    except Exception as exc:  # the CLI's boundary: say what happened, keep the record
        reason = escape(f"{type(exc).__name__}: {exc}")
        _err.print(
            f"[yellow]Recorded, but not sent yet ({reason}). The running adapter sends it, "
            "or run `iaj-adapter retry`.[/yellow]"
        )
        return EXIT_NOT_SENT
    if sent:
        _out.print(f"Sent {sent} answer message(s) to {settings.kafka_bootstrap}.")
    return 0
