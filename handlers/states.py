"""The life cycle of rounds and questions, as stored."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["QuestionStatus", "RoundState"]


class QuestionStatus(StrEnum):
    WAITING = "waiting"  # a dependent question whose condition is not resolved yet
    OPEN = "open"  # issued to the partner, no accepted answer yet
    ANSWERED = "answered"
    EXPIRED = "expired"  # the round's deadline passed without an accepted answer
    NOT_APPLICABLE = "not_applicable"  # its condition was not met
    WITHDRAWN = "withdrawn"  # no longer asked: round cancelled, label lowered, youth left


class RoundState(StrEnum):
    OPEN = "open"
    COMPLETE = "complete"  # every question that applies was answered
    DEADLINE = "deadline"  # completed by its deadline
    CANCELLED = "cancelled"  # stopped by a regisseur, by uitstroom or by an erasure

    @property
    def closed(self) -> bool:
        return self is not RoundState.OPEN
