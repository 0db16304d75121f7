"""Worked examples of answer signatures (contracts.signing), for a partner writing its own
client in another language: fixed test keys, the messages, the exact signed bytes and the
signatures they must produce (Ed25519 is deterministic). Checked in as
contracts/signing-vectors.json; a test regenerates and compares them.

The keys here are published test keys: never use them for anything else.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from contracts.signing import Signer, sign_item, signed_bytes

__all__ = ["VECTORS_FILE_NAME", "signing_vectors"]

VECTORS_FILE_NAME = "signing-vectors.json"


def _test_key(label: str) -> Ed25519PrivateKey:
    seed = hashlib.sha256(f"iaj-broker signing test vector key: {label}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


_ENVELOPE = {
    "type": "answer",
    "message_id": "6f1c2a52-3b8e-4d7a-9c51-0e2f4b6d8a13",
    "round_id": "0b9e6d4c-2a1f-4e3d-8c7b-5a6f4e3d2c1b",
    "correlation_id": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
    "policy": {"id": "haarlem-iaj", "version": 1},
    "created_at": "2026-11-29T10:15:00Z",
    "partner": "cjg",
    "in_reply_to": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
}
_ITEMS: list[dict[str, Any]] = [
    {"question_id": "1d2c3b4a-5f6e-4d8c-9b0a-1f2e3d4c5b6a", "antwoord": "nee"},
    {
        "question_id": "2e3d4c5b-6a7f-4e9d-8c1b-2a3f4e5d6c7b",
        "antwoord": "ja",
        "toelichting": "Één gesprek gevoerd; vervolg volgt.",
    },
    {
        "question_id": "3f4e5d6c-7b8a-4f0e-9d2c-3b4a5f6e7d8c",
        "antwoord": "ja",
        "domeinen": ["onderwijs", "gezondheid"],
        "met_wie": None,
    },
]


def signing_vectors() -> str:
    """The text of contracts/signing-vectors.json."""
    key = _test_key("cjg")
    signer = Signer(key)
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    cases = []
    for item in _ITEMS:
        signed = sign_item(signer, _ENVELOPE, item)
        cases.append(
            {
                "item_as_sent": signed,
                "signed_bytes_utf8": signed_bytes(_ENVELOPE, item).decode("utf-8"),
                "signature": signed["signature"],
            }
        )
    document = {
        "about": (
            "Answer item signatures (contracts/signing.py): Ed25519 over the signed bytes, "
            "base64 with padding. The private key below is a published TEST key."
        ),
        "test_private_key_seed_hex": key.private_bytes_raw().hex(),
        "public_key_hex": public.hex(),
        "key_id": signer.key_id,
        "message_envelope": _ENVELOPE,
        "items": cases,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
