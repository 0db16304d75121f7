"""Answers signed by their partner: Ed25519 over exactly defined bytes, per answer item.

Each answer item carries its own signature, so that every stored answer can be shown later
to have come from its partner — including when other items of the same message were refused
(and, by law, not kept). The signed bytes of an item are the UTF-8 JSON text of

    {"in_reply_to": ..., "item": {...}, "message_id": ..., "partner": ..., "round_id": ..., "v": 1}

with the item's own fields minus `signature` and minus fields whose value is null, the ids
and the partner exactly as they stand in the message, keys sorted, no whitespace, non-ASCII
characters as themselves (not escaped). For the values a wire answer holds (strings,
booleans, integers, ASCII keys) this is the JSON Canonicalization Scheme (RFC 8785).
`contracts/signing-vectors.json` has worked examples for a partner's own client.

The key id is the first 16 hex digits of the SHA-256 of the raw 32-byte public key.
No I/O here: keys are loaded by the adapter and the service.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "SIGNED_FORMAT_VERSION",
    "BadSignature",
    "ItemSignature",
    "Signer",
    "key_id",
    "sign_answer",
    "sign_item",
    "signed_bytes",
    "verify_item",
]

SIGNED_FORMAT_VERSION = 1
KEY_ID_PATTERN = r"^[0-9a-f]{16}$"


class ItemSignature(BaseModel):
    """`signature` of an answer item: which key, and the Ed25519 signature in base64."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, hide_input_in_errors=True)
    key_id: str = Field(pattern=KEY_ID_PATTERN)
    value: str = Field(
        pattern=r"^[A-Za-z0-9+/]{86}==$", description="64 bytes, standard base64 with padding"
    )


class BadSignature(ValueError):
    """The item's signature is missing, malformed, by an unknown key, or does not verify."""


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signed_bytes(envelope: Mapping[str, Any], item: Mapping[str, Any]) -> bytes:
    """The bytes an item's signature covers; `envelope` is the message (its ids as sent)."""
    signed = {
        "v": SIGNED_FORMAT_VERSION,
        "partner": envelope.get("partner"),
        "message_id": envelope.get("message_id"),
        "round_id": envelope.get("round_id"),
        "in_reply_to": envelope.get("in_reply_to"),
        "item": {k: v for k, v in item.items() if k != "signature" and v is not None},
    }
    text = json.dumps(
        signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


class Signer:
    """A partner's private key, ready to sign answer items."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.key_id = key_id(private_key.public_key())

    def sign(self, envelope: Mapping[str, Any], item: Mapping[str, Any]) -> dict[str, str]:
        signature = self._key.sign(signed_bytes(envelope, item))
        return {"key_id": self.key_id, "value": base64.b64encode(signature).decode()}


def sign_item(
    signer: Signer, envelope: Mapping[str, Any], item: Mapping[str, Any]
) -> dict[str, Any]:
    """`item` with its `signature` added (any earlier one replaced)."""
    unsigned = {k: v for k, v in item.items() if k != "signature"}
    return {**unsigned, "signature": signer.sign(envelope, unsigned)}


def verify_item(
    keys: Mapping[str, Ed25519PublicKey], envelope: Mapping[str, Any], item: Mapping[str, Any]
) -> ItemSignature:
    """The item's signature if it verifies with one of `keys` (by key id), else BadSignature.

    `envelope` and `item` are the message as received (parsed JSON), not re-serialised
    models: the signature covers what the partner sent.
    """
    raw = item.get("signature")
    if raw is None:
        raise BadSignature("the item is not signed")
    try:
        signature = ItemSignature.model_validate(raw)
        value = base64.b64decode(signature.value, validate=True)
    except (ValueError, binascii.Error):
        raise BadSignature("the signature is not a key id and a base64 value") from None
    key = keys.get(signature.key_id)
    if key is None:
        raise BadSignature("the signature is by a key not registered for this partner")
    try:
        key.verify(value, signed_bytes(envelope, item))
    except (InvalidSignature, ValueError):
        raise BadSignature("the signature does not verify") from None
    return signature


def sign_answer(signer: Signer, raw: bytes) -> bytes:
    """A PartnerAnswer message with every item signed, as bytes to send.

    What the adapter does just before sending; a partner's own client does the same.
    """
    message = json.loads(raw)
    message["answers"] = [sign_item(signer, message, item) for item in message["answers"]]
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
