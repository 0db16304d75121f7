"""Counting what a SQLAlchemy engine sends to its database: statements (by kind) and commits.

A cursor event counts every statement the driver executes, ORM or Core alike; an
`executemany` (one statement, many parameter sets) counts once, with its parameter sets
counted apart. Commits are counted by the connection's `commit` event. Free enough to leave
on during timed rounds (two Python calls per statement), and reusable by anything that holds
an engine:

    counter = StatementCounter(service.engine)
    with counter:
        ...  # the work
    counter.per_round(rounds)
"""

from __future__ import annotations

import threading
from collections import Counter
from types import TracebackType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["StatementCounter", "statement_kind"]


def statement_kind(statement: str) -> str:
    """`insert`, `update`, `select`, `delete`, ... from the statement's first word; a `WITH`
    statement is named by the verb its CTEs feed (`with insert`, or plain `with`)."""
    words = statement.lstrip(" (\n\t").split(None, 1)
    if not words:
        return "empty"
    first = words[0].lower()
    if first != "with":
        return first
    upper = statement.upper()
    for verb in ("INSERT", "UPDATE", "DELETE"):
        if f"{verb} " in upper:
            return f"with {verb.lower()}"
    return "with"


class StatementCounter:
    """Statements and commits on `engine` between `start()` and `stop()` (or in a `with`)."""

    def __init__(self, engine: AsyncEngine | Engine) -> None:
        self._engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
        self._lock = threading.Lock()  # aiosqlite runs statements in its own threads
        self.by_kind: Counter[str] = Counter()
        self.parameter_sets = 0  # rows sent by executemany, one each otherwise
        self.executemany = 0
        self.commits = 0
        self._listening = False

    @property
    def statements(self) -> int:
        return self.by_kind.total()

    def start(self) -> None:
        """Reset the counts and listen (idempotent)."""
        with self._lock:
            self.by_kind.clear()
            self.parameter_sets = self.executemany = self.commits = 0
        if not self._listening:
            event.listen(self._engine, "before_cursor_execute", self._on_execute)
            event.listen(self._engine, "commit", self._on_commit)
            self._listening = True

    def stop(self) -> None:
        if self._listening:
            event.remove(self._engine, "before_cursor_execute", self._on_execute)
            event.remove(self._engine, "commit", self._on_commit)
            self._listening = False

    def _on_execute(
        self,
        conn: object,
        cursor: object,
        statement: str,
        parameters: Any,
        context: object,
        executemany: bool,
    ) -> None:
        kind = statement_kind(statement)
        sets = len(parameters) if executemany and hasattr(parameters, "__len__") else 1
        with self._lock:
            self.by_kind[kind] += 1
            self.parameter_sets += sets
            self.executemany += int(executemany)

    def _on_commit(self, conn: object) -> None:
        with self._lock:
            self.commits += 1

    def per_round(self, rounds: int) -> dict[str, Any]:
        """The counts, in all and per round (`rounds` > 0), for the benchmark's JSON."""
        per = max(rounds, 1)
        return {
            "statements": self.statements,
            "commits": self.commits,
            "executemany": self.executemany,
            "parameter_sets": self.parameter_sets,
            "statements_per_round": round(self.statements / per, 2),
            "commits_per_round": round(self.commits / per, 3),
            "by_kind_per_round": {
                kind: round(n / per, 2) for kind, n in sorted(self.by_kind.items())
            },
        }

    def __enter__(self) -> StatementCounter:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
