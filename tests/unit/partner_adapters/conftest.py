"""Fixtures for the adapter's unit tests: a fresh state file per test, fast retries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from contracts import Partner
from partner_adapters.lookup_runner import LookupRetry
from partner_adapters.state import AdapterStore

FAST_RETRY = LookupRetry(
    attempts=3, wait_initial_seconds=0.001, wait_max_seconds=0.01, timeout_seconds=2.0
)

OpenStore = Callable[[Partner], AbstractAsyncContextManager[AdapterStore]]


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "adapter.db"


@pytest.fixture
def open_store(state_path: Path) -> OpenStore:
    """`async with open_store(partner) as store`: this test's state file, re-openable (a
    restart is a new store object over the same file)."""

    @asynccontextmanager
    async def opened(partner: Partner) -> AsyncIterator[AdapterStore]:
        store = await AdapterStore.open(state_path, partner)
        try:
            yield store
        finally:
            await store.close()

    return opened
