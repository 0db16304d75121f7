"""Checking the partner's signatures on an answer message (contracts.signing) against the
keys registered for the partner of its topic.

Separate from `handlers.answers`, which decides what an answer does; this only says whether
every item is provably the partner's.
"""

from __future__ import annotations

from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contracts.enums import Partner
from contracts.signing import BadSignature, ItemSignature, verify_item
from contracts.wire import AnswerEnvelope

__all__ = ["PartnerKeys", "verified_signatures"]

# Each partner's public keys by key id (loaded by the service from IAJ_PARTNER_KEYS_DIR).
PartnerKeys = Mapping[Partner, Mapping[str, Ed25519PublicKey]]


def verified_signatures(
    envelope: AnswerEnvelope, keys: Mapping[str, Ed25519PublicKey]
) -> dict[str, ItemSignature] | None:
    """Every item's verified signature by the question id it names, or None if any fails."""
    sent = {
        "partner": envelope.partner.value,
        "message_id": str(envelope.message_id),
        "round_id": str(envelope.round_id),
        "in_reply_to": str(envelope.in_reply_to),
    }  # canonical ids (contracts.ids): exactly the strings the partner sent and signed
    verified: dict[str, ItemSignature] = {}
    for item in envelope.answers:
        try:
            verified[str(item.get("question_id"))] = verify_item(keys, sent, item)
        except BadSignature:
            return None
    return verified
