"""Send every log line of the run to a file, so the terminal shows only the demo.

FastStream gives each broker a logger that writes to stdout; that would break the live view
and `--json`. A filter on those loggers hands their records to the file instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["logs_to"]

# FastStream's own loggers: they do not propagate and carry their own stdout/stderr handler.
_FASTSTREAM = ("faststream", "faststream.access.kafka")


class _Divert(logging.Filter):
    def __init__(self, handler: logging.Handler) -> None:
        super().__init__()
        self._handler = handler

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= self._handler.level:
            self._handler.handle(record)
        return False  # never reaches the logger's own handlers


@contextmanager
def logs_to(path: Path, level: int = logging.INFO) -> Iterator[None]:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)  # with a handler on root, logging's stderr fallback stays silent
    root.setLevel(level)
    divert = _Divert(handler)
    for name in _FASTSTREAM:
        logging.getLogger(name).addFilter(divert)
    try:
        yield
    finally:
        for name in _FASTSTREAM:
            logging.getLogger(name).removeFilter(divert)
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
