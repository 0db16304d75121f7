"""Is a database error the database's fault or the message's? The one rule every path uses.

A *transient* error says nothing about the message being processed: the connection was lost
or terminated (a failover, an administrator, a pooler), the transaction lost a serialization
race or a deadlock, the database is read-only, full, out of connections, shutting down or
cancelled the statement. Such a message must be tried again — never dead-lettered — and if
the database stays unusable, the service halts without acknowledging it.

Anything else (a constraint the message violates, a value it makes too long, a bug) is the
message's: it is dead-lettered so that it cannot stall the others.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator

from sqlalchemy import exc as sa_exc
from tenacity import RetryCallState

__all__ = ["TRANSIENT_SQLSTATES", "TRANSIENT_SQLSTATE_CLASSES", "has_sqlstate", "is_transient"]

# SQLSTATE classes (PostgreSQL Appendix A): 08 connection exception, 40 transaction rollback
# (serialization failure, deadlock), 53 insufficient resources (disk full, out of memory, too
# many connections), 57 operator intervention (admin shutdown, cancel, statement timeout),
# 58 system error (I/O error).
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
# 25006 read_only_sql_transaction: a read-only standby or a database switched read-only;
# 55P03 lock_not_available: a lock timeout, another transaction held the rows.
TRANSIENT_SQLSTATES = frozenset({"25006", "55P03"})

# Errors of the connection itself, whatever the driver: the socket, the pool, the client.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    OSError,
    TimeoutError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # no connection from the pool in time
    sa_exc.InterfaceError,  # the DB-API's: the connection is closed or broken
    sqlite3.OperationalError,  # locked, disk full, read-only, I/O error: never the message's
)


def is_transient(error: BaseException) -> bool:
    """True when `error` (or what caused it) is the database's state, not the message's."""
    for cause in _causes(error):
        if isinstance(cause, _CONNECTION_ERRORS):
            return True
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return True
        if _sqlstate_is_transient(getattr(cause, "sqlstate", None)):
            return True
        if _is_asyncpg_client_state(cause):
            return True
    return False


def has_sqlstate(error: BaseException, sqlstate: str) -> bool:
    """True when `error` or what caused it carries this SQLSTATE (e.g. 3D000: no such
    database)."""
    return any(getattr(cause, "sqlstate", None) == sqlstate for cause in _causes(error))


def _sqlstate_is_transient(sqlstate: object) -> bool:
    if not isinstance(sqlstate, str) or len(sqlstate) != 5:
        return False
    return sqlstate in TRANSIENT_SQLSTATES or sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES


def _is_asyncpg_client_state(error: BaseException) -> bool:
    # asyncpg's client-side errors after the server ended the session mid-statement:
    # InterfaceError ("connection is closed") and InternalClientError ("cannot switch to
    # state 11"). Imported lazily: SQLite deployments need not have asyncpg.
    try:
        from asyncpg.exceptions import InterfaceError, InternalClientError
    except ImportError:  # pragma: no cover - asyncpg is a dependency of the service
        return False
    return isinstance(error, InterfaceError | InternalClientError)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, the driver's error SQLAlchemy wraps, and what they were raised from.

    Not `__context__`: an error raised while handling another is not caused by it."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked: list[BaseException | None] = [current.__cause__]
        if isinstance(current, sa_exc.DBAPIError):
            linked.append(current.orig)
        pending.extend(e for e in linked if isinstance(e, BaseException))


def log_retry(
    logger: logging.Logger, what: str, level: int = logging.WARNING
) -> Callable[[RetryCallState], None]:
    """A tenacity `before_sleep` that logs the error's class and the wait, never its text
    (a driver's message may quote the statement's parameters: names, dates of birth)."""

    def log_it(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        logger.log(
            level,
            "%s: %s (attempt %d); trying again in %.1f s",
            what,
            type(error).__name__,
            state.attempt_number,
            wait,
        )

    return log_it
