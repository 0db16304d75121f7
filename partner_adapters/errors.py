"""One error hierarchy for the partner adapter; every error says what to do about it."""

from __future__ import annotations

__all__ = [
    "AdapterError",
    "AmbiguousQuestion",
    "DeliveryFailed",
    "LookupLoadError",
    "LookupUnavailable",
    "QuestionNotOpen",
    "WrongStateFile",
]


class AdapterError(Exception):
    """Base of every error the partner adapter raises on purpose."""


class LookupUnavailable(AdapterError):
    """Raise this from your lookup when your own system cannot be reached right now.

    The adapter retries the lookup with backoff. If it still fails, nothing is answered: the
    failure is recorded (visible in `iaj-adapter status`) and the questions stay open for
    `iaj-adapter retry` or manual answering. Do not put personal data in the message.
    """


class LookupLoadError(AdapterError):
    """The configured lookup (`IAJ_ADAPTER_LOOKUP`, `module:attr`) cannot be loaded or used."""


class WrongStateFile(AdapterError):
    """The local state database belongs to another partner; point to this partner's file."""


class QuestionNotOpen(AdapterError):
    """No open question matches: unknown id, already answered, or its deadline has passed."""


class AmbiguousQuestion(AdapterError):
    """A question id (prefix) matches several open questions; give more of it or the set id."""


class DeliveryFailed(AdapterError):
    """The answer is recorded locally but could not be published yet; it is sent later."""
