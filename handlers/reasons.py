"""A reason someone gives for an action must be a real sentence, not "x".

Used for the reason an address is needed (`adres_reden`) and for the reasons of relabel,
cancel, correct and erase. The text itself is never echoed: a reason may name people.
"""

from __future__ import annotations

from handlers.errors import CaseRejected

__all__ = ["check_reason"]


def check_reason(text: str | None, field: str, min_chars: int) -> str:
    """The reason, stripped; CaseRejected naming `field` unless it reads as a sentence:
    at least `min_chars` characters, at least two words, and not one repeated character."""
    reason = " ".join((text or "").split())
    ask = f"write in a sentence of at least {min_chars} characters why"
    if not reason:
        raise CaseRejected(field, f"a reason is required: {ask}")
    if len(reason) < min_chars:
        raise CaseRejected(field, f"the reason is too short ({len(reason)} characters): {ask}")
    letters = {c for c in reason.casefold() if not c.isspace()}
    if len(letters) < 2:
        raise CaseRejected(field, f"one repeated character is not a reason: {ask}")
    words = reason.casefold().split()
    if len(words) < 2 or len(set(words)) < 2:
        raise CaseRejected(field, f"the reason must be more than one (repeated) word: {ask}")
    return reason
