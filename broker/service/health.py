"""`GET /health/ready` of `iaj serve`: can the service do its work right now?

Ready when every check says "ok":
- service: started (not waiting for its database at start-up, not halted);
- database: a `SELECT 1` answers within the timeout;
- kafka: the cluster answers a metadata request within the timeout, and the service's
  consumer has joined its group and been assigned partitions;
- outbox_relay: the relay had a successful pass within `IAJ_RELAY_STUCK_SECONDS`.

Otherwise 503, each failing check with its reason (kafka_access.ops). Nothing here retries:
a probe asks again.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.db.faults import is_transient
from kafka_access.ops import OK, Readiness, consumer_check

if TYPE_CHECKING:
    from broker.service.municipal import MunicipalService

__all__ = ["CHECK_TIMEOUT_SECONDS", "service_readiness"]

# A probe's own timeout is typically a few seconds: answer within it.
CHECK_TIMEOUT_SECONDS = 2.0


async def service_readiness(
    service: MunicipalService, limit_seconds: float = CHECK_TIMEOUT_SECONDS
) -> Readiness:
    database, kafka = await asyncio.gather(
        _database(service, limit_seconds), _kafka(service, limit_seconds)
    )
    return Readiness(
        {
            "service": _started(service),
            "database": database,
            "kafka": kafka,
            "outbox_relay": _relay(service),
        }
    )


def _started(service: MunicipalService) -> str:
    if service.halted:
        return "halted (the database stayed unusable); a restart is needed"
    return OK if service.readiness == "ready" else service.readiness


async def _database(service: MunicipalService, limit_seconds: float) -> str:
    try:
        async with asyncio.timeout(limit_seconds):
            await _select_one(service.engine)
    except TimeoutError:
        return f"no answer within {limit_seconds:g} s"
    except Exception as exc:
        # The class only: a driver's message may quote connection details.
        return f"unreachable ({type(exc).__name__})"
    return OK


async def _select_one(engine: AsyncEngine) -> None:
    # The pool does not ping on checkout (handlers.db.engine): a connection the server dropped
    # while pooled fails once, and the pool then discards it and its like. One more try, on a
    # new connection, says whether the database answers now.
    for attempt in (1, 2):
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return
        except Exception as exc:
            if attempt == 2 or not is_transient(exc):
                raise


async def _kafka(service: MunicipalService, limit_seconds: float) -> str:
    producer = service.producer
    if producer is None:
        return "not connected yet"
    try:
        async with asyncio.timeout(limit_seconds):
            reached = await producer.client.force_metadata_update()
    except TimeoutError:
        return f"no broker answered within {limit_seconds:g} s"
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    if not reached:
        return "no broker answered a metadata request"
    return consumer_check(service.broker)


def _relay(service: MunicipalService) -> str:
    relay = service.relay
    if relay is None:
        return "not started"
    idle = time.monotonic() - relay.last_success
    limit = service.settings.relay_stuck_seconds
    if idle > limit:
        return f"no successful pass for {idle:.0f} s (limit {limit:g} s): Kafka or the database"
    return OK
