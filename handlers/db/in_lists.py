"""Id lists for `IN (...)` padded to a few lengths: a few statement texts, not one per length.

SQLAlchemy expands an `IN` parameter into one placeholder per value, so every list length is
another statement text, which asyncpg prepares and keeps in each connection's cache of 100. A
batch reads its rounds, questions and cases by id lists of every length from 1 to 1,000:
hundreds of texts, each prepared again once the cache has dropped it, and the cache's memory
growing with the backlog. Padded to the next power of two (the last id repeated, which
changes nothing in an `IN`), a statement has at most eleven texts up to 1,024 ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

__all__ = ["padded"]

_T = TypeVar("_T")


def padded(ids: Sequence[_T]) -> list[_T]:
    """`ids`, with the last one repeated up to the next power of two (at least one id)."""
    count = len(ids)
    if count == 0:
        return []
    length = 1 << (count - 1).bit_length()
    return [*ids, *([ids[-1]] * (length - count))]
