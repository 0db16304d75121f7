"""Unique names, so tests sharing one broker or one database server never collide."""

from __future__ import annotations

import re
import uuid

__all__ = ["unique_name", "unique_suffix"]

_NOT_ALLOWED = re.compile(r"[^a-zA-Z0-9._-]+")


def unique_suffix() -> str:
    """Ten random hex characters."""
    return uuid.uuid4().hex[:10]


def unique_name(prefix: str, suffix: str | None = None) -> str:
    """`prefix-<suffix>`, with only the characters Kafka allows in topic and group names."""
    cleaned = _NOT_ALLOWED.sub("-", prefix).strip("-") or "t"
    return f"{cleaned[:200]}-{suffix or unique_suffix()}"
