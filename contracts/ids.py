"""Ids on the wire: UUIDs in exactly one form, so that an id comes back byte for byte.

A partner's `message_id` is echoed in our notices' `in_reply_to`, and its `question_id`s in
refusals; a partner matches them by string. Python's UUID parser reads braces, URNs, missing
hyphens and upper case alike and writes them back in one form, so an id sent in another form
would come back changed. The wire therefore takes only the canonical form — 36 characters,
lower-case hex, hyphens at 8-4-4-4-12 (RFC 9562's textual form) — and the schemas say so.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from pydantic import BeforeValidator, WithJsonSchema

__all__ = ["CANONICAL_UUID", "Id", "canonical_uuid"]

CANONICAL_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_CANONICAL = re.compile(CANONICAL_UUID)
_FORM = "a UUID in canonical form: lower-case hex and hyphens, 8-4-4-4-12"


def canonical_uuid(value: object) -> UUID | None:
    """`value` as a UUID if it is one in canonical form (or already a UUID), else None."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str) and _CANONICAL.match(value):
        return UUID(value)
    return None


def _parse(value: Any) -> UUID:
    parsed = canonical_uuid(value)
    if parsed is None:
        raise ValueError(f"must be {_FORM}")  # never the value itself: it may be content
    return parsed


Id = Annotated[
    UUID,
    BeforeValidator(_parse),
    WithJsonSchema({"type": "string", "format": "uuid", "pattern": CANONICAL_UUID}),
]
