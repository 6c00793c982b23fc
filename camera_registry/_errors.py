"""Errors of the camera registry: one root, a few precise kinds.

The web layer maps the core kinds (``InvalidInputError`` → 400, ``UnavailableError`` →
503 …) to HTTP in one place; ingest turns them into online/offline reasons.
"""

from __future__ import annotations

from core.errors import (
    ConflictError,
    GatewayError,
    InvalidInputError,
    NotFoundError,
    UnavailableError,
)

__all__ = [
    "BackchannelUnavailableError",
    "CameraAuthError",
    "CameraConnectionError",
    "CameraError",
    "CameraNotFoundError",
    "CameraTimeoutError",
    "InvalidStreamUrlError",
    "MalformedMediaError",
    "RtspStateError",
    "RtspStatusError",
    "StreamClosedError",
]


class CameraError(GatewayError):
    """Root of every error the camera registry raises on purpose."""

    code = "camera_error"


class MalformedMediaError(CameraError, UnavailableError, ValueError):
    """The camera sent bytes that are not valid RTSP, SDP or RTP.

    Parsers in the pure core raise only this (a ``ValueError``) on bad input.
    """

    code = "camera_malformed"


class CameraAuthError(CameraError, InvalidInputError):
    """The camera refused the credentials (wrong user name or password)."""

    code = "camera_wrong_password"


class CameraTimeoutError(CameraError, UnavailableError, TimeoutError):
    """The camera did not answer in time."""

    code = "camera_timeout"


class CameraConnectionError(CameraError, UnavailableError, ConnectionError):
    """The TCP connection to the camera failed or was lost."""

    code = "camera_unreachable"


class RtspStatusError(CameraError, UnavailableError):
    """The camera answered an RTSP request with an error status."""

    code = "camera_refused"

    def __init__(self, method: str, status: int, reason: str) -> None:
        super().__init__(
            f"camera answered {status} {reason} to {method}; check the stream URL and profile"
        )
        self.method = method
        self.status = status
        self.reason = reason


class RtspStateError(CameraError, ConflictError, RuntimeError):
    """An RTSP session method called in a state that does not allow it (a programming error
    the message names: start twice, use after close …)."""

    code = "rtsp_state"


class BackchannelUnavailableError(CameraError, ConflictError):
    """Talk audio cannot be sent now: no backchannel, or the session is not playing."""

    code = "backchannel_unavailable"


class StreamClosedError(CameraError, UnavailableError):
    """The camera's stream hub or subscription was closed; subscribe again to go on."""

    code = "stream_closed"


class InvalidStreamUrlError(CameraError, InvalidInputError):
    """The stream URL is not an ``rtsp://`` URL with a host."""

    code = "invalid_stream_url"


class CameraNotFoundError(CameraError, NotFoundError):
    """No camera with this id (or not one the caller may see); also unknown to the manager."""

    code = "camera_not_found"
