"""`iaj serve`: run the municipal service until SIGINT/SIGTERM (FastStream handles both)."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Annotated

import typer
from aiokafka.errors import KafkaError

from broker.cli.common import (
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    DatabaseUrlOpt,
    check_database_url,
    fail,
    load_settings,
    reported_errors,
)
from broker.service.allocator import keep_large_buffers_returnable
from broker.service.faststream_app import run_service
from broker.service.partner_keys import PartnerKeyError
from contracts.content_free_logs import LogFormat, configure_logging
from kafka_access.tracing import configure_tracing

__all__ = ["LogLevel", "app", "serve"]


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def number(self) -> int:
        return logging.getLevelNamesMapping()[self.name]


def serve(
    log_level: Annotated[
        LogLevel, typer.Option(case_sensitive=False, help="Least severe level logged.")
    ] = LogLevel.INFO,
    database_url: DatabaseUrlOpt = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            case_sensitive=False,
            help="json, text or auto: JSON lines unless stderr is a terminal "
            "(else IAJ_LOG_FORMAT).",
        ),
    ] = None,
) -> None:
    """Consume answers and commands, publish the outbox, complete rounds at their deadline.

    Kafka, database and policy come from the IAJ_* settings (see broker/settings.py). The
    database must exist; its schema is brought up to date at start-up unless
    IAJ_MIGRATE_ON_START=false, when a schema that is not this iaj's is refused.
    """
    settings = load_settings(database_url)
    with reported_errors():
        check_database_url(settings)  # a missing SQLite file: `iaj db upgrade --create` makes it
    configure_logging(log_level.number, log_format or settings.log_format)
    try:
        configure_tracing("iaj-service")  # only with OTEL_* set (kafka_access.tracing)
    except ValueError as exc:  # an OTEL_TRACES_EXPORTER that is not installed
        fail(str(exc), EXIT_REFUSED)
    # aiosqlite logs every statement with its parameters at DEBUG: names would end up in the log.
    logging.getLogger("aiosqlite").setLevel(max(log_level.number, logging.INFO))
    keep_large_buffers_returnable()  # RSS that follows the work in hand, not the backlog
    with reported_errors():
        try:
            healthy = run_service(settings)  # its own start/stop messages at INFO
        except PartnerKeyError as exc:
            fail(f"{exc}", EXIT_REFUSED)
        except KafkaError as exc:
            # Start-up could not reach Kafka: say so plainly; the supervisor restarts us.
            fail(f"Kafka at {settings.kafka_bootstrap} cannot be used: {exc}", EXIT_UNAVAILABLE)
        if not healthy:
            fail(
                "halted: the database stayed unreachable; unprocessed messages wait in Kafka",
                EXIT_UNAVAILABLE,
            )


app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
app.command()(serve)
