"""The gateway's recording-signing key: Ed25519, created on first start in the data dir.

The private key never leaves the gateway (PKCS#8 PEM, mode 0600); the public key is
exported as PEM for courts and auditors, and its fingerprint (``key_id``) is printed in
every evidence package so a reader can compare it with the one the centre publishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from core import create_secret_file

from ._manifest import key_id

__all__ = ["KEY_FILE", "SigningKey", "load_public_key"]

KEY_FILE = "recording-signing-key.pem"


@dataclass(frozen=True, slots=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def public_pem(self) -> bytes:
        return self.public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    @classmethod
    def load_or_create(cls, data_dir: Path) -> SigningKey:
        """Blocking (file I/O): call it at start-up or from a thread."""
        path = data_dir / KEY_FILE
        if not path.exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
            )
            create_secret_file(path, pem)  # another process may have made it first
        key = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key; restore it from the backup")
        return cls(key)


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key")
    return key
