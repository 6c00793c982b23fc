"""Credential checks a camera performs: HTTP/RTSP Basic and Digest, WS-UsernameToken.

Pure code.  Digest nonces are stateless — a timestamp signed with a per-camera secret —
so the camera keeps no table of issued nonces and a stale one is recognised on sight.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "Credentials",
    "DigestChallenge",
    "UsernameToken",
    "check_authorization",
    "parse_auth_params",
    "verify_username_token",
]

_PARAM_RE = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))')


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str


def parse_auth_params(value: str) -> dict[str, str]:
    """``key="value", key=value`` pairs of a Digest header (scheme already removed)."""
    return {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _PARAM_RE.finditer(value)
    }


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class DigestChallenge:
    """Issues and checks nonces for one realm; ``secret`` is the camera's own."""

    realm: str
    secret: bytes
    lifetime: float = 300.0
    qop: bool = False

    def nonce(self, now: float) -> str:
        stamp = f"{int(now):x}"
        signature = hmac.new(self.secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
        return stamp + signature

    def nonce_is_fresh(self, nonce: str, now: float) -> bool:
        stamp, signature = nonce[:-24], nonce[-24:]
        expected = hmac.new(self.secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
        if not stamp or not hmac.compare_digest(signature, expected):
            return False
        try:
            issued = int(stamp, 16)
        except ValueError:
            return False
        return 0 <= now - issued <= self.lifetime

    def www_authenticate(self, now: float, stale: bool = False) -> list[str]:
        """Challenges to offer: Digest first (preferred), then Basic."""
        digest = f'Digest realm="{self.realm}", nonce="{self.nonce(now)}", algorithm=MD5'
        if self.qop:
            digest += ', qop="auth"'
        if stale:
            digest += ", stale=TRUE"
        return [digest, f'Basic realm="{self.realm}"']


def check_authorization(
    header: str | None,
    method: str,
    challenge: DigestChallenge,
    accounts: Credentials,
    now: float,
    refuse_all: bool = False,
) -> bool:
    """True if ``header`` (an Authorization value) proves the account's password."""
    if header is None or refuse_all:
        return False
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, _, password = decoded.partition(":")
        return hmac.compare_digest(username, accounts.username) and hmac.compare_digest(
            password, accounts.password
        )
    if scheme.lower() != "digest":
        return False
    params = parse_auth_params(rest)
    required = ("username", "realm", "nonce", "uri", "response")
    if any(key not in params for key in required):
        return False
    if params["username"] != accounts.username or params["realm"] != challenge.realm:
        return False
    if not challenge.nonce_is_fresh(params["nonce"], now):
        return False
    ha1 = _md5(f"{accounts.username}:{challenge.realm}:{accounts.password}")
    ha2 = _md5(f"{method}:{params['uri']}")
    if "qop" in params:
        expected = _md5(
            f"{ha1}:{params['nonce']}:{params.get('nc', '')}:{params.get('cnonce', '')}:"
            f"{params['qop']}:{ha2}"
        )
    else:
        expected = _md5(f"{ha1}:{params['nonce']}:{ha2}")
    return hmac.compare_digest(expected, params["response"].lower())


@dataclass(frozen=True, slots=True)
class UsernameToken:
    """A WS-Security UsernameToken as sent in a SOAP header."""

    username: str
    password: str
    digest: bool
    nonce: bytes
    created: str


def _parse_created(created: str) -> datetime | None:
    text = created.strip().replace("Z", "+00:00")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def verify_username_token(
    token: UsernameToken | None,
    accounts: Credentials,
    camera_now: datetime,
    max_clock_difference: float,
    refuse_all: bool = False,
) -> bool:
    """PasswordDigest = Base64(SHA1(nonce + Created + password)); Created near our clock.

    ``camera_now`` is the camera's own (possibly skewed) clock: a client that did not
    measure the offset with GetSystemDateAndTime fails here, as on real devices.
    """
    if token is None or refuse_all or token.username != accounts.username:
        return False
    if not token.digest:
        return hmac.compare_digest(token.password, accounts.password)
    created = _parse_created(token.created)
    if created is None:
        return False
    if abs((created - camera_now).total_seconds()) > max_clock_difference:
        return False
    expected = base64.b64encode(
        hashlib.sha1(token.nonce + token.created.encode() + accounts.password.encode()).digest()
    ).decode()
    return hmac.compare_digest(expected, token.password)
