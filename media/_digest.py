"""HTTP-style authentication for RTSP and SIP: Basic (RFC 7617) and Digest (RFC 2617/3261).

Pure core.  Cameras send one or several ``WWW-Authenticate`` headers; Digest is preferred
over Basic because Basic puts the password on the wire.  Digest supports ``qop=auth``
(with ``nc``/``cnonce``) and the older no-qop form most cameras use; MD5, MD5-sess and
SHA-256.

The server side is here too, for the simulated GB/T 28181 upper platform in tests:
:func:`digest_challenge` writes a ``WWW-Authenticate`` value the way wvp does, and
:func:`verify_digest` checks an ``Authorization`` value against the password, hashing
the ``uri`` the client put in the header (as wvp does, gb28181.md §2.4).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "Challenge",
    "DigestAuthenticator",
    "digest_challenge",
    "parse_www_authenticate",
    "verify_digest",
]

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')
_SCHEME = re.compile(rf"\s*,?\s*({_TOKEN})(?:\s+|$)")


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # lower-case: "basic", "digest"
    params: dict[str, str] = field(default_factory=dict)


def parse_www_authenticate(values: Iterable[str]) -> list[Challenge]:
    """Parse WWW-Authenticate header values (several challenges may share one header)."""
    challenges: list[Challenge] = []
    for value in values:
        pos = 0
        while pos < len(value):
            scheme = _SCHEME.match(value, pos)
            if scheme is None:
                break
            pos = scheme.end()
            params: dict[str, str] = {}
            while pos < len(value):
                param = _PARAM.match(value, pos)
                if param is None:
                    break
                raw = param.group(2)
                if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
                    raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
                params[param.group(1).lower()] = raw
                pos = param.end()
            challenges.append(Challenge(scheme.group(1).lower(), params))
    return challenges


_HASHES = {"md5": hashlib.md5, "md5-sess": hashlib.md5, "sha-256": hashlib.sha256}


class DigestAuthenticator:
    """Credentials plus the challenge the camera chose; makes Authorization headers."""

    __slots__ = ("_challenge", "_cnonce", "_nc", "password", "username")

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self._challenge: Challenge | None = None
        self._nc = 0
        self._cnonce = ""

    @property
    def scheme(self) -> str | None:
        return self._challenge.scheme if self._challenge else None

    @property
    def nonce(self) -> str | None:
        return self._challenge.params.get("nonce") if self._challenge else None

    def accept(self, challenges: Iterable[Challenge]) -> bool:
        """Pick the strongest supported challenge; False if none is supported."""
        best: Challenge | None = None
        for ch in challenges:
            algorithm = ch.params.get("algorithm", "MD5").lower()
            if ch.scheme == "digest" and algorithm in _HASHES and "nonce" in ch.params:
                if best is None or best.scheme != "digest":
                    best = ch
            elif ch.scheme == "basic" and best is None:
                best = ch
        if best is None:
            return False
        self._challenge = best
        self._nc = 0
        self._cnonce = os.urandom(8).hex()
        return True

    def authorization(self, method: str, uri: str) -> str | None:
        """The ``Authorization`` header value for this request, or None before a challenge."""
        ch = self._challenge
        if ch is None:
            return None
        if ch.scheme == "basic":
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return f"Basic {token}"
        return self._digest(ch, method, uri)

    def _digest(self, ch: Challenge, method: str, uri: str) -> str:
        p = ch.params
        realm, nonce = p.get("realm", ""), p["nonce"]
        algorithm = p.get("algorithm", "MD5")
        algo = _HASHES[algorithm.lower()]

        def h(text: str) -> str:
            return algo(text.encode("utf-8")).hexdigest()

        ha1 = h(f"{self.username}:{realm}:{self.password}")
        qop_offered = [q.strip() for q in p.get("qop", "").split(",") if q.strip()]
        self._nc += 1
        nc = f"{self._nc:08x}"
        if algorithm.lower() == "md5-sess":
            ha1 = h(f"{ha1}:{nonce}:{self._cnonce}")
        ha2 = h(f"{method}:{uri}")
        fields = [
            f'username="{self.username}"',
            f'realm="{realm}"',
            f'nonce="{nonce}"',
            f'uri="{uri}"',
        ]
        if "auth" in qop_offered:
            response = h(f"{ha1}:{nonce}:{nc}:{self._cnonce}:auth:{ha2}")
            fields += [f'response="{response}"', "qop=auth", f"nc={nc}", f'cnonce="{self._cnonce}"']
        else:
            fields.append(f'response="{h(f"{ha1}:{nonce}:{ha2}")}"')
        if "algorithm" in p:
            fields.append(f"algorithm={algorithm}")
        if "opaque" in p:
            fields.append(f'opaque="{p["opaque"]}"')
        return "Digest " + ", ".join(fields)


def digest_challenge(realm: str, nonce: str | None = None, *, qop: bool = True) -> str:
    """A ``WWW-Authenticate`` value as wvp sends it (``qop="auth"``, MD5); ``nonce``
    defaults to 128 random bits in hex."""
    nonce = nonce or os.urandom(16).hex()
    qop_part = 'qop="auth",' if qop else ""
    return f'Digest realm="{realm}",{qop_part}nonce="{nonce}",algorithm=MD5'


def verify_digest(
    authorization: str,
    *,
    method: str,
    password: str,
    realm: str | None = None,
    nonce: str | None = None,
    username: str | None = None,
) -> bool:
    """True when ``authorization`` (an ``Authorization`` header value) proves ``password``.

    ``realm``, ``nonce`` and ``username``, when given, must equal what the header says
    (the server's own realm, the nonce it issued, the account it expects).  Anything
    malformed, another scheme or an unknown algorithm is simply False.
    """
    challenges = parse_www_authenticate([authorization])
    if len(challenges) != 1 or challenges[0].scheme != "digest":
        return False
    p = challenges[0].params
    algorithm = p.get("algorithm", "MD5").lower()
    if algorithm not in _HASHES or not all(k in p for k in ("username", "nonce", "uri")):
        return False
    expected = {"realm": realm, "nonce": nonce, "username": username}
    if any(want is not None and p.get(key, "") != want for key, want in expected.items()):
        return False
    algo = _HASHES[algorithm]

    def h(text: str) -> str:
        return algo(text.encode("utf-8")).hexdigest()

    ha1 = h(f"{p['username']}:{p.get('realm', '')}:{password}")
    qop = p.get("qop", "")
    if algorithm == "md5-sess":
        ha1 = h(f"{ha1}:{p['nonce']}:{p.get('cnonce', '')}")
    ha2 = h(f"{method}:{p['uri']}")
    if qop == "auth":
        if "nc" not in p or "cnonce" not in p:
            return False
        want = h(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
    elif qop:
        return False  # auth-int: never offered
    else:
        want = h(f"{ha1}:{p['nonce']}:{ha2}")
    return hmac.compare_digest(want, p.get("response", "").lower())
