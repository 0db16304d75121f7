"""Log lines that carry no message content, for the service and the adapter alike.

The convenant allows no personal data in logs. Our own log calls pass ids, counts and
exception types only; what could still leak is the text of an exception — parsers, drivers
and libraries quote their input in it — printed with a traceback by us, FastStream or
aiokafka. The formatter here prints a traceback's frames and exception types, never an
exception's message.
"""

from __future__ import annotations

import logging
import sys
import traceback
from enum import StrEnum
from types import TracebackType
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

__all__ = ["ContentFreeFormatter", "ContentFreeJsonFormatter", "LogFormat", "configure_logging"]

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ContentFreeFormatter(logging.Formatter):
    """Formats exceptions as their types and frames only (messages withheld)."""

    def formatException(self, ei: _ExcInfo) -> str:  # noqa: N802 (logging's name)
        _, exc, _ = ei
        return "" if exc is None else "\n".join(describe_exception(exc))


class ContentFreeJsonFormatter(JsonFormatter):
    """One JSON object per line: `time`, `level`, `logger`, `message`, and the fields a call
    passed with `extra=` (ids and counts: `round_id`, `partner`, `correlation_id`, ...).
    Exceptions as in `ContentFreeFormatter`: types and frames, never messages."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )

    def formatException(self, ei: _ExcInfo) -> str:  # noqa: N802 (logging's name)
        _, exc, _ = ei
        return "" if exc is None else "\n".join(describe_exception(exc))


class LogFormat(StrEnum):
    """How log lines look: `json` lines, human-readable `text`, or `auto` (JSON unless the
    stream is a terminal)."""

    AUTO = "auto"
    JSON = "json"
    TEXT = "text"


def describe_exception(exc: BaseException) -> list[str]:
    """Frames and types of `exc` and the exceptions it came from, outermost last."""
    chain: list[tuple[BaseException, str]] = []
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, ""))
        if current.__cause__ is not None:
            chain[-1] = (current, "The above was the direct cause of:")
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            chain[-1] = (current, "During handling of the above, another exception occurred:")
            current = current.__context__
        else:
            current = None
    lines: list[str] = []
    for error, link in reversed(chain):
        lines.append("Traceback (exception messages withheld: they may quote content):")
        for frame in traceback.extract_tb(error.__traceback__):
            lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        lines.append(f"{type(error).__module__}.{type(error).__qualname__}")
        if link:
            lines.append(link)
    return lines


def configure_logging(
    level: int | str,
    log_format: LogFormat | str = LogFormat.AUTO,
    stream: TextIO | None = None,
) -> logging.Handler:
    """The root logger to `stream` (stderr) with a content-free formatter, replacing any
    handler: JSON lines unless `log_format` says text, or is auto and the stream a terminal.
    FastStream's own logger (coloured, to stderr) is routed through it too: no ANSI codes.
    Returns the handler."""
    out = sys.stderr if stream is None else stream
    chosen = LogFormat(log_format)
    if chosen is LogFormat.AUTO:
        chosen = LogFormat.TEXT if _is_terminal(out) else LogFormat.JSON
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        ContentFreeJsonFormatter() if chosen is LogFormat.JSON else ContentFreeFormatter(FORMAT)
    )
    logging.basicConfig(level=level, handlers=[handler], force=True)
    faststream = logging.getLogger("faststream")
    for own in list(faststream.handlers):
        faststream.removeHandler(own)
    faststream.propagate = True
    return handler


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream: not a terminal
        return False
