"""The one rule that decides whether a database error is the database's or the message's."""

from __future__ import annotations

import sqlite3

import asyncpg.exceptions as pg
import pytest
from sqlalchemy import exc as sa_exc

from handlers.db.faults import is_transient


def _as_sqlalchemy_raises_it(driver_error: Exception) -> sa_exc.StatementError:
    """Wrapped as SQLAlchemy's asyncpg dialect does: a DBAPIError raised from the driver's."""
    wrapped = sa_exc.DBAPIError.instance("UPDATE rounds SET ...", {}, driver_error, Exception)
    wrapped.__cause__ = driver_error
    return wrapped


# One error of every SQLSTATE class the rule counts as the database's, by class.
TRANSIENT = {
    "08 connection exception": pg.ConnectionFailureError,
    "25006 read-only transaction": pg.ReadOnlySQLTransactionError,
    "40001 serialization failure": pg.SerializationError,
    "40P01 deadlock": pg.DeadlockDetectedError,
    "53100 disk full": pg.DiskFullError,
    "53300 too many connections": pg.TooManyConnectionsError,
    "55P03 lock not available": pg.LockNotAvailableError,
    "57P01 admin shutdown (pg_terminate_backend)": pg.AdminShutdownError,
    "57014 statement timeout": pg.QueryCanceledError,
    "58030 I/O error": pg.PostgresIOError,
}
# The message's own fault: it violates a constraint or does not fit a column.
MESSAGE_FAULTS = {
    "23505 unique violation": pg.UniqueViolationError,
    "23514 check violation": pg.CheckViolationError,
    "22001 value too long": pg.StringDataRightTruncationError,
}


@pytest.mark.parametrize("error_class", TRANSIENT.values(), ids=list(TRANSIENT))
def test_errors_of_the_database_state_are_transient(error_class: type[Exception]) -> None:
    error = error_class("the server's message")
    assert is_transient(error)
    assert is_transient(_as_sqlalchemy_raises_it(error))


@pytest.mark.parametrize("error_class", MESSAGE_FAULTS.values(), ids=list(MESSAGE_FAULTS))
def test_errors_the_message_causes_are_not(error_class: type[Exception]) -> None:
    error = error_class("the server's message")
    assert not is_transient(error)
    assert not is_transient(_as_sqlalchemy_raises_it(error))


@pytest.mark.parametrize(
    "error",
    [
        # What asyncpg raises when the server ends a session in the middle of a statement.
        pg.InternalClientError("cannot switch to state 11"),
        pg.InterfaceError("connection is closed"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        sqlite3.OperationalError("database is locked"),
        sqlite3.OperationalError("attempt to write a readonly database"),
        sa_exc.TimeoutError("QueuePool limit reached"),
    ],
    ids=repr,
)
def test_a_lost_connection_is_transient_whatever_the_driver(error: Exception) -> None:
    assert is_transient(error)
    assert is_transient(_as_sqlalchemy_raises_it(error))


def test_bugs_and_bad_data_are_not_transient() -> None:
    assert not is_transient(ValueError("not a uuid"))
    assert not is_transient(KeyError("colour"))
    assert not is_transient(sqlite3.IntegrityError("UNIQUE constraint failed: inbox.message_id"))


def _bug_while_handling_a_lost_session() -> None:
    try:
        raise pg.AdminShutdownError("terminating connection")
    except pg.AdminShutdownError:
        raise ValueError("a bug in the error handling") from None


def test_an_error_raised_while_handling_a_transient_one_is_judged_on_its_own() -> None:
    with pytest.raises(ValueError, match="a bug") as raised:
        _bug_while_handling_a_lost_session()
    assert raised.value.__context__ is not None
    assert not is_transient(raised.value)
