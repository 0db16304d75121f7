"""`iaj serve`: run the municipal service until SIGINT/SIGTERM (FastStream handles both)."""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from typing import Annotated

import typer

from broker.cli_common import DatabaseUrlOpt, load_settings, reported_errors
from broker.service import build_app

__all__ = ["LogLevel", "serve"]


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
) -> None:
    """Consume answers and commands, publish the outbox, complete rounds at their deadline.

    Kafka, database and policy come from the IAJ_* settings (see broker/settings.py).
    """
    settings = load_settings(database_url)
    logging.basicConfig(
        level=log_level.number, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with reported_errors():
        app = build_app(settings)
        asyncio.run(app.run(log_level=log_level.number))
