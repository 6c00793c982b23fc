"""Encryption at rest for camera credentials and dispute parties' personal data.

AES-256-GCM with a key file in the data directory, created with mode 0600 on first start.
Ciphertexts are ``v1:`` + base64(nonce ‖ ciphertext ‖ tag); the version leaves room for key
rotation.  Losing the key file loses the encrypted fields: back it up with the database.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["SecretBox", "SecretBoxError"]


def create_secret_file(path: Path, data: bytes) -> bool:
    """Create ``path`` (0600) holding ``data`` unless it exists; whether this call made it.

    Written whole under a temporary name, then linked into place: several gateway
    processes starting together agree on one file and never read a half-written one.
    Blocking: call it at start-up or from a thread.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return False  # another process made it first: everyone uses that one
    finally:
        temporary.unlink()
    return True


class SecretBoxError(ValueError):
    pass


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise SecretBoxError("secret key must be 32 bytes")
        self._aead = AESGCM(key)
        self._key = key

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> SecretBox:
        """Load ``data_dir/secret.key``, creating it (0600) when absent."""
        path = data_dir / "secret.key"
        if not path.exists():
            create_secret_file(path, secrets.token_bytes(32))
        key = path.read_bytes()
        if len(key) != 32:
            raise SecretBoxError(f"{path} is not a 32-byte key; restore it from the backup")
        return cls(key)

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose`` (HKDF-SHA256), never the sealing key itself.

        Every gateway process of a deployment shares ``secret.key`` (they open the same
        camera credentials), so a derived key is a secret they all share.
        """
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
            self._key
        )

    def seal(self, plaintext: str, *, context: str = "") -> str:
        """Encrypt ``plaintext``; ``context`` (e.g. ``"camera:12"``) binds it to its owner."""
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return "v1:" + base64.b64encode(nonce + sealed).decode()

    def open(self, token: str, *, context: str = "") -> str:
        if not token.startswith("v1:"):
            raise SecretBoxError("sealed value has an unknown format")
        raw = base64.b64decode(token[3:])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise SecretBoxError("sealed value was altered or belongs to another key") from None
