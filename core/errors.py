"""Error types shared by every package.

Each package defines its own root error (``CameraError``, ``CaseError`` …) that
inherits :class:`GatewayError`, and precise errors that also inherit one of the
*kinds* below.  The web layer maps kinds to HTTP status in one place; services never
raise HTTP exceptions.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "GatewayError",
    "InvalidInputError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "UnavailableError",
]


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose.

    ``message`` is shown to the user; it says what went wrong and what to do.
    ``code`` is a stable machine-readable identifier (``"camera_offline"`` …).
    """

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInputError(GatewayError, ValueError):
    """The request is malformed or breaks a rule of the domain (HTTP 400/422)."""

    code = "invalid_input"


class AuthenticationError(GatewayError):
    """The caller could not be identified: wrong password, expired session (HTTP 401)."""

    code = "unauthenticated"


class PermissionDeniedError(GatewayError, PermissionError):
    """The caller is known but may not do this (HTTP 403)."""

    code = "forbidden"


class NotFoundError(GatewayError, LookupError):
    """The object does not exist, or the caller may not know that it exists (HTTP 404)."""

    code = "not_found"


class ConflictError(GatewayError):
    """The request clashes with the current state: a held talk floor, a duplicate (HTTP 409)."""

    code = "conflict"


class RateLimitedError(GatewayError):
    """Too many attempts: wait ``retry_after`` seconds (HTTP 429 with Retry-After)."""

    code = "rate_limited"
    retry_after: float = 1.0


class UnavailableError(GatewayError):
    """A dependency is down: a camera offline, a full disk, the database (HTTP 503)."""

    code = "unavailable"
