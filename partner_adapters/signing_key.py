"""The partner's signing key: made by `iaj-adapter keys generate`, kept on the partner's
premises, and used to sign every answer item just before it is sent (contracts.signing).

The private key is a PEM file readable by the adapter's user only; its public half goes to
the municipality (partner_adapters/README.md, "Signing keys").
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from contracts.enums import Partner
from contracts.signing import Signer, key_id

__all__ = ["GeneratedKey", "SigningKeyError", "generate_key", "load_signer"]


class SigningKeyError(ValueError):
    """The signing key cannot be used; the message says which file and what to do."""


class GeneratedKey:
    def __init__(self, private: Path, public: Path, key_id: str) -> None:
        self.private, self.public, self.key_id = private, public, key_id


def generate_key(partner: Partner, directory: Path) -> GeneratedKey:
    """A new Ed25519 key pair in `directory`: `<partner>-<key id>.key` (mode 0600) and `.pub`."""
    key = Ed25519PrivateKey.generate()
    kid = key_id(key.public_key())
    directory.mkdir(parents=True, exist_ok=True)
    private = directory / f"{partner.value}-{kid}.key"
    public = directory / f"{partner.value}-{kid}.pub"
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    # Created with 0600 from the start: never readable by others, not even for a moment.
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public.write_bytes(
        key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return GeneratedKey(private, public, kid)


def load_signer(path: Path | None) -> Signer:
    if path is None:
        raise SigningKeyError(
            "no signing key: the municipality refuses unsigned answers. Run "
            "`iaj-adapter keys generate`, give the .pub file to the municipality, and set "
            "IAJ_ADAPTER_SIGNING_KEY to the .key file"
        )
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise SigningKeyError(f"the signing key {path} does not exist") from None
    except OSError as exc:
        raise SigningKeyError(f"the signing key {path} cannot be read ({exc.strerror})") from None
    except (ValueError, TypeError):
        raise SigningKeyError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 key (`iaj-adapter keys generate`)")
    return Signer(key)
