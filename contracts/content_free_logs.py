"""Log lines that carry no message content, for the service and the adapter alike.

The convenant allows no personal data in logs. Our own log calls pass ids, counts and
exception types only; what could still leak is the text of an exception — parsers, drivers
and libraries quote their input in it — printed with a traceback by us, FastStream or
aiokafka. The formatter here prints a traceback's frames and exception types, never an
exception's message.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType

__all__ = ["ContentFreeFormatter", "configure_logging"]

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ContentFreeFormatter(logging.Formatter):
    """Formats exceptions as their types and frames only (messages withheld)."""

    def formatException(self, ei: _ExcInfo) -> str:  # noqa: N802 (logging's name)
        _, exc, _ = ei
        return "" if exc is None else "\n".join(describe_exception(exc))


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


def configure_logging(level: int | str) -> None:
    """The root logger to stderr with the content-free formatter (replacing any handler)."""
    handler = logging.StreamHandler()
    handler.setFormatter(ContentFreeFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
