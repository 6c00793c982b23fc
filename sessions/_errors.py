"""Errors of live view and talk-back: one root, a few precise kinds.

The web layer maps the kinds to HTTP (409 for a held floor, 503 for an offline camera …);
messages never name objects outside the caller's scope.
"""

from __future__ import annotations

from core.errors import (
    ConflictError,
    GatewayError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UnavailableError,
)

__all__ = [
    "CameraNotLiveError",
    "InvalidOfferError",
    "ListenOnlyError",
    "LiveLimitError",
    "SessionError",
    "SessionNotFoundError",
    "SessionsClosedError",
    "TalkFloorBusyError",
    "TalkTakeoverDeniedError",
]


class SessionError(GatewayError):
    """Root of every error the live-view and talk-back sessions raise on purpose."""

    code = "session_error"


class InvalidOfferError(SessionError, InvalidInputError):
    """The SDP offer cannot be answered (not SDP, no usable media, no common codec)."""

    code = "invalid_offer"


class SessionNotFoundError(SessionError, NotFoundError):
    """No such live or talk session for this caller (gone, or someone else's)."""

    code = "session_not_found"


class CameraNotLiveError(SessionError, UnavailableError):
    """The camera has no stream to watch right now (not registered on this gateway)."""

    code = "camera_not_live"


class ListenOnlyError(SessionError, ConflictError):
    """The camera cannot talk back: no backchannel, with the reason."""

    code = "listen_only"

    def __init__(self, reason: str) -> None:
        super().__init__(f"this camera is listen-only: {reason}")
        self.reason = reason


class TalkFloorBusyError(SessionError, ConflictError):
    """Someone else holds the camera's talk floor."""

    code = "talk_floor_busy"

    def __init__(self, holder: str, since: float) -> None:
        super().__init__(
            f"{holder} is talking into this room; wait until they hang up"
            " (a chair or administrator may take over)"
        )
        self.holder = holder
        self.since = since


class TalkTakeoverDeniedError(SessionError, PermissionDeniedError):
    """Taking over a held floor needs the takeover permission (chair or administrator)."""

    code = "talk_takeover_denied"


class LiveLimitError(SessionError, RateLimitedError):
    """A fair-share limit: too many sessions of this caller, or on this camera, or the
    gateway's last places, which are kept for the county."""

    code = "live_limit"
    retry_after = 5.0


class SessionsClosedError(SessionError, UnavailableError):
    """The session service is shutting down and opens nothing new."""

    code = "sessions_closed"
