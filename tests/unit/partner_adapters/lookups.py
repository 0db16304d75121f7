"""Test lookups: scripted, failing, spying."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from partner_adapters.errors import LookupUnavailable
from partner_adapters.lookup import LookupAnswer, LookupRequest
from partner_adapters.reference import ReferenceLookup

Script = Callable[[LookupRequest], Sequence[LookupAnswer]]


class ScriptedLookup:
    """Answers with whatever `script` returns for the request; remembers every request."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[LookupRequest] = []

    async def lookup(self, request: LookupRequest) -> Sequence[LookupAnswer]:
        self.requests.append(request)
        return self.script(request)


class FlakyLookup(ReferenceLookup):
    """Unavailable for the first `failures` calls, then the reference lookup."""

    in_process = False  # stands for a partner's remote system: retried while unavailable

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.calls = 0

    async def lookup(self, request: LookupRequest) -> Sequence[LookupAnswer]:
        self.calls += 1
        if self.calls <= self.failures:
            raise LookupUnavailable("the test system is down")
        return await super().lookup(request)


class BrokenLookup:
    """Raises `error` on every call (a defect in the partner's lookup)."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    async def lookup(self, request: LookupRequest) -> Sequence[LookupAnswer]:
        self.calls += 1
        raise self.error


class SlowLookup:
    async def lookup(self, request: LookupRequest) -> Sequence[LookupAnswer]:
        await asyncio.sleep(60)
        return []
