"""Password hashing (argon2id) and the password policy (pure apart from the hasher)."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import InvalidInputError

__all__ = ["PasswordPolicy", "WeakPasswordError", "hash_password", "verify_password"]

# argon2id with the library's RFC 9106 "low memory" profile: ~50 ms on a small box.
_HASHER = PasswordHasher()

_COMMON = frozenset(
    {
        "password",
        "password1",
        "12345678",
        "123456789",
        "1234567890",
        "qwerty123",
        "admin123",
        "admin@123",
        "a123456789",
        "abc123456",
        "iloveyou",
        "woaini1314",
        "zongzhi123",
    }
)


class WeakPasswordError(InvalidInputError):
    code = "weak_password"


class PasswordPolicy:
    """At least ``min_length`` characters with letters and digits, not the username."""

    def __init__(self, min_length: int = 10) -> None:
        self.min_length = min_length

    def check(self, password: str, username: str = "") -> None:
        if len(password) < self.min_length:
            raise WeakPasswordError(f"password must be at least {self.min_length} characters long")
        if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
            raise WeakPasswordError("password must contain both letters and digits")
        if password.lower() in _COMMON:
            raise WeakPasswordError("password is on the list of common passwords; choose another")
        if username and username.lower() in password.lower():
            raise WeakPasswordError("password must not contain the username")


def hash_password(password: str) -> str:
    """CPU-bound (~50 ms): call it from a worker thread, never on the event loop."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """CPU-bound like :func:`hash_password`."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
