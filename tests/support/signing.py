"""The partners' signing keys for a test run: made once, in a folder of this run.

The service's settings in the tests point IAJ_PARTNER_KEYS_DIR at `partner_keys_dir()`;
hand-made answers are signed with `sign(...)`, as a partner's adapter signs them.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

from broker.service.partner_keys import load_partner_keys
from contracts.enums import Partner
from contracts.signing import Signer, sign_answer
from devtools.signing_keys import ensure_partner_keys, private_key
from handlers.answer_signatures import PartnerKeys
from partner_adapters.signing_key import load_signer

__all__ = ["partner_keys", "partner_keys_dir", "private_key_path", "sign", "signer"]

_RUN_KEYS = Path(tempfile.gettempdir()) / f"iaj-test-keys-{os.getpid()}"


def partner_keys_dir() -> Path:
    return ensure_partner_keys(_RUN_KEYS)


@functools.cache
def signer(partner: Partner) -> Signer:
    partner_keys_dir()
    return load_signer(private_key(_RUN_KEYS, partner))


def sign(partner: Partner, raw: bytes) -> bytes:
    """A PartnerAnswer's bytes with every item signed by `partner`'s key."""
    return sign_answer(signer(partner), raw)


@functools.cache
def partner_keys() -> PartnerKeys:
    """The public keys, as the service loads them from `partner_keys_dir()`."""
    return load_partner_keys(partner_keys_dir())


def private_key_path(partner: Partner) -> Path:
    """Where `partner`'s private key is (for an adapter's IAJ_ADAPTER_SIGNING_KEY)."""
    partner_keys_dir()
    return private_key(_RUN_KEYS, partner)
