"""Topic names are part of the contract. Messages about one round are keyed by its round id."""

from __future__ import annotations

from uuid import UUID

from contracts.enums import Partner

__all__ = [
    "COMMANDS",
    "COMMAND_REPLIES",
    "DEADLETTER",
    "RESULTS",
    "all_topics",
    "answer_topic",
    "message_key",
    "partner_of_answer_topic",
    "question_topic",
    "refusal_topic",
]

RESULTS = "iaj.results"  # one aggregated, label-scoped result per round (municipal backend)
COMMANDS = "iaj.commands"  # open-round commands
# The answer to every command on iaj.commands (accepted, duplicate, rejected and why), keyed by
# the command id: the municipal backend reads it.
COMMAND_REPLIES = "iaj.command-replies"
DEADLETTER = "iaj.deadletter"  # messages that could not be read, with the reason in headers

_QUESTIONS_PREFIX = "iaj.questions."
_ANSWERS_PREFIX = "iaj.answers."
_REFUSALS_PREFIX = "iaj.refusals."


def question_topic(partner: Partner) -> str:
    """Municipality -> partner: question sets. Only `partner` may read it."""
    return f"{_QUESTIONS_PREFIX}{partner.value}"


def answer_topic(partner: Partner) -> str:
    """Partner -> municipality: answers. Only `partner` may write it."""
    return f"{_ANSWERS_PREFIX}{partner.value}"


def refusal_topic(partner: Partner) -> str:
    """Municipality -> partner: why its answers were not accepted. Only `partner` may read it.

    One topic per partner, like the questions: a refusal notice tells which round a partner
    was asked about, which is no business of the other partners.
    """
    return f"{_REFUSALS_PREFIX}{partner.value}"


def partner_of_answer_topic(topic: str) -> Partner | None:
    if not topic.startswith(_ANSWERS_PREFIX):
        return None
    try:
        return Partner(topic.removeprefix(_ANSWERS_PREFIX))
    except ValueError:
        return None


def message_key(round_id: UUID) -> bytes:
    """The Kafka key: all messages of a round land in one partition, in order."""
    return str(round_id).encode()


def all_topics() -> list[str]:
    per_partner = [
        t for p in Partner for t in (question_topic(p), answer_topic(p), refusal_topic(p))
    ]
    return [*per_partner, RESULTS, COMMANDS, COMMAND_REPLIES, DEADLETTER]
