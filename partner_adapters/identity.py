"""Deterministic ids for the answer messages this adapter sends.

Delivery is at least once: if the adapter stops after publishing an answer but before it
recorded that, it publishes it again. The same answer then carries the same message id, so the
municipality recognises the repeat and keeps one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from contracts import Partner

__all__ = ["answer_message_id"]

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:iaj-broker:partner-answer")


def answer_message_id(
    question_set_id: uuid.UUID, partner: Partner, question_ids: Iterable[uuid.UUID]
) -> uuid.UUID:
    """The id of the message answering `question_ids` of one question set, from one partner.

    A later answer to other questions of the same set (a retry, a manual answer) gets another id.
    """
    answered = ",".join(sorted(str(q) for q in question_ids))
    return uuid.uuid5(_NAMESPACE, f"{question_set_id}|{partner.value}|{answered}")
