"""`iaj ...` as an operator types it, on one test's database: the CLI tests' one driver.

`Iaj` runs in the test's own thread (for plain tests); `AsyncIaj` runs each command in a
thread of its own, for async tests (the CLI runs its own event loop).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from typer.testing import CliRunner, Result

from broker.cli import app

__all__ = ["AsyncIaj", "Iaj", "refusal"]


def refusal(result: Result, *words: str) -> str:
    """The one-line refusal (exit 2, no traceback) on stderr, with each of `words` in it."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    message = " ".join(result.stderr.split())
    for word in words:
        assert word in message, message
    return message


class Iaj:
    """`iaj ...` with IAJ_DATABASE_URL (and `env`) set for this test."""

    def __init__(self, database_url: str, **env: str) -> None:
        self.env = {"IAJ_DATABASE_URL": database_url, **env}

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env, input=input)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)

    def refused(self, *args: str) -> str:
        return refusal(self(*args))


class AsyncIaj:
    """As `Iaj`, for async tests: each command in a thread of its own."""

    def __init__(self, database_url: str, **env: str) -> None:
        self.sync = Iaj(database_url, **env)

    @property
    def env(self) -> dict[str, str]:
        return self.sync.env

    async def __call__(self, *args: str) -> Result:
        return await asyncio.to_thread(self.sync, *args)

    async def ok(self, *args: str) -> Result:
        return await asyncio.to_thread(self.sync.ok, *args)

    async def json(self, *args: str) -> Any:
        return await asyncio.to_thread(self.sync.json, *args)

    async def refused(self, *args: str) -> str:
        return refusal(await self(*args))
