"""Call the partner's lookup: retry while its system is unavailable, then give up cleanly.

A lookup that declares itself in-process (`in_process = True`: it answers from memory, as the
reference lookups do) is called directly: no retries, no time limit, nothing to wait for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from partner_adapters.errors import LookupUnavailable
from partner_adapters.lookup import Lookup, LookupAnswer, LookupRequest, is_in_process
from partner_adapters.screening import as_items
from partner_adapters.state import LookupFailure

__all__ = ["LookupRetry", "run_lookup"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LookupRetry:
    """How hard to try: `attempts` tries, exponential waits, a time limit per try."""

    attempts: int = 3
    wait_initial_seconds: float = 0.5
    wait_max_seconds: float = 5.0
    timeout_seconds: float = 30.0


async def run_lookup(
    lookup: Lookup, request: LookupRequest, retry: LookupRetry
) -> Sequence[LookupAnswer] | LookupFailure:
    """The lookup's answers, or a LookupFailure saying what kind of failure stopped it.

    Only `LookupUnavailable` (and a try running out of time) is retried; any other error, or a
    result that is not a sequence of answers, is a defect in the lookup and is recorded at
    once. Either way nothing is answered, and the error message is not kept (it may name the
    person looked up), only the error's class name.
    """
    if is_in_process(lookup):
        try:
            return as_items(await lookup.lookup(request))
        except Exception as exc:  # a bug in the lookup (or its own "unavailable"): no retry
            return _failure(request, exc, 1)
    attempts = 0

    async def attempt() -> Sequence[LookupAnswer]:
        nonlocal attempts
        attempts += 1
        try:
            async with asyncio.timeout(retry.timeout_seconds):
                answers = await lookup.lookup(request)
        except TimeoutError as exc:
            raise LookupUnavailable(f"no answer within {retry.timeout_seconds}s") from exc
        return as_items(answers)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(retry.attempts),
        wait=wait_exponential(multiplier=retry.wait_initial_seconds, max=retry.wait_max_seconds),
        retry=retry_if_exception_type(LookupUnavailable),
        reraise=True,
    )
    try:
        return await retrying(attempt)
    except Exception as exc:  # unavailable after retries, or a bug in the partner's lookup
        return _failure(request, exc, attempts)


def _failure(request: LookupRequest, exc: BaseException, attempts: int) -> LookupFailure:
    kind = type(exc).__name__
    _log.warning(
        "lookup failed for question set %s after %d attempt(s): %s",
        request.question_set_id,
        attempts,
        kind,
    )
    return LookupFailure(kind, attempts)
