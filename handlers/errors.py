"""Errors of the municipal service layer. Each says what is wrong and what to do about it."""

from __future__ import annotations

__all__ = [
    "CaseRejected",
    "FocusListMalformed",
    "NotInformed",
    "RoundAlreadyOpen",
    "RoundNotOpen",
    "ServiceError",
    "UnknownActor",
    "UnknownCase",
    "UnknownRound",
]


class ServiceError(Exception):
    """Base of every error a user of the municipal service can act on."""


class CaseRejected(ServiceError):
    """A case that may not be put on the netto focus list as given."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class FocusListMalformed(ServiceError):
    """A focus-list file that cannot be read as a whole. Nothing of it was stored."""


class NotInformed(ServiceError):
    """A round was asked for a youth whose informing letter is not recorded."""


class RoundAlreadyOpen(ServiceError):
    """A case has one enrichment round at a time."""


class RoundNotOpen(ServiceError):
    """An action on a round that is no longer open (complete, past its deadline, cancelled)."""


class UnknownCase(ServiceError):
    pass


class UnknownRound(ServiceError):
    pass


class UnknownActor(ServiceError):
    """An action without an official who takes it, or by someone who is not one."""
