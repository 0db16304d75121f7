"""Answer items signed by their partner: what verifies, what does not, and the published
test vectors a partner's own client can check its signer against."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts.signing import (
    BadSignature,
    Signer,
    key_id,
    sign_answer,
    sign_item,
    signed_bytes,
    verify_item,
)
from devtools.generators.signing_vectors import signing_vectors

ROOT = Path(__file__).resolve().parents[3]
VECTORS = json.loads((ROOT / "contracts" / "signing-vectors.json").read_text(encoding="utf-8"))
ENVELOPE: dict[str, Any] = VECTORS["message_envelope"]
ITEM = {"question_id": "1d2c3b4a-5f6e-4d8c-9b0a-1f2e3d4c5b6a", "antwoord": "ja", "toelichting": "x"}


def _keys(*private: Ed25519PrivateKey) -> dict[str, Ed25519PublicKey]:
    return {key_id(k.public_key()): k.public_key() for k in private}


def test_a_signed_item_verifies_with_its_partners_key() -> None:
    key = Ed25519PrivateKey.generate()
    signed = sign_item(Signer(key), ENVELOPE, ITEM)
    assert verify_item(_keys(key), ENVELOPE, signed).key_id == key_id(key.public_key())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("antwoord", "nee"),
        ("toelichting", "y"),
        ("question_id", "2e3d4c5b-6a7f-4e9d-8c1b-2a3f4e5d6c7b"),
    ],
)
def test_a_tampered_item_does_not_verify(field: str, value: str) -> None:
    key = Ed25519PrivateKey.generate()
    signed = sign_item(Signer(key), ENVELOPE, ITEM)
    with pytest.raises(BadSignature, match="does not verify"):
        verify_item(_keys(key), ENVELOPE, {**signed, field: value})


@pytest.mark.parametrize("field", ["partner", "message_id", "round_id", "in_reply_to"])
def test_an_item_moved_to_another_message_does_not_verify(field: str) -> None:
    key = Ed25519PrivateKey.generate()
    signed = sign_item(Signer(key), ENVELOPE, ITEM)
    moved = {**ENVELOPE, field: "0" * 8 + ENVELOPE[field][8:] if field != "partner" else "rn"}
    with pytest.raises(BadSignature):
        verify_item(_keys(key), moved, signed)


def test_another_partners_key_a_missing_and_a_malformed_signature_are_refused() -> None:
    ours, theirs = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    by_them = sign_item(Signer(theirs), ENVELOPE, ITEM)
    with pytest.raises(BadSignature, match="not registered"):
        verify_item(_keys(ours), ENVELOPE, by_them)
    with pytest.raises(BadSignature, match="not signed"):
        verify_item(_keys(ours), ENVELOPE, ITEM)
    garbled = {**by_them, "signature": {"key_id": "zz", "value": "not base64"}}
    with pytest.raises(BadSignature, match="not a key id"):
        verify_item(_keys(ours), ENVELOPE, garbled)


def test_two_keys_may_be_valid_at_once_and_a_removed_one_is_refused() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    by_old = sign_item(Signer(old), ENVELOPE, ITEM)
    by_new = sign_item(Signer(new), ENVELOPE, ITEM)
    rolling_over = _keys(old, new)
    verify_item(rolling_over, ENVELOPE, by_old)
    verify_item(rolling_over, ENVELOPE, by_new)
    with pytest.raises(BadSignature, match="not registered"):
        verify_item(_keys(new), ENVELOPE, by_old)  # the old key was removed


def test_null_fields_do_not_change_the_signed_bytes() -> None:
    assert signed_bytes(ENVELOPE, {**ITEM, "met_wie": None}) == signed_bytes(ENVELOPE, ITEM)


def test_a_whole_message_is_signed_item_by_item() -> None:
    key = Ed25519PrivateKey.generate()
    message = {**ENVELOPE, "answers": [ITEM, {**ITEM, "antwoord": "nee"}]}
    signed = json.loads(sign_answer(Signer(key), json.dumps(message).encode()))
    for item in signed["answers"]:
        verify_item(_keys(key), signed, item)


def test_the_checked_in_vectors_are_current() -> None:
    path = ROOT / "contracts" / "signing-vectors.json"
    hint = f"{path} is out of date: run `make schemas` and commit the result"
    assert path.read_text(encoding="utf-8") == signing_vectors(), hint


@pytest.mark.parametrize("case", range(len(VECTORS["items"])))
def test_the_vectors_verify_from_their_own_data(case: int) -> None:
    """What a partner's implementer does: rebuild the signed bytes, verify with the key."""
    vector = VECTORS["items"][case]
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(VECTORS["public_key_hex"]))
    assert key_id(public) == VECTORS["key_id"]
    rebuilt = signed_bytes(ENVELOPE, vector["item_as_sent"])
    assert rebuilt == vector["signed_bytes_utf8"].encode("utf-8")
    public.verify(base64.b64decode(vector["signature"]["value"]), rebuilt)
    assert verify_item({key_id(public): public}, ENVELOPE, vector["item_as_sent"])
