"""Errors of the meetings module: one root, a few precise kinds (the web layer maps the
kinds to HTTP; a refusal never names a meeting outside the caller's scope)."""

from __future__ import annotations

from core.errors import (
    ConflictError,
    GatewayError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)

__all__ = [
    "InvalidMeetingInputError",
    "MeetingError",
    "MeetingNotFoundError",
    "MeetingStateError",
    "NotChairError",
    "RoomLockedError",
    "UnmuteForbiddenError",
]


class MeetingError(GatewayError):
    """Root of every error the meetings module raises on purpose."""

    code = "meeting_error"


class InvalidMeetingInputError(MeetingError, InvalidInputError):
    """A series or change that breaks a rule: a bad time, weekday, chair or attendee."""

    code = "invalid_meeting"


class MeetingNotFoundError(MeetingError, NotFoundError):
    """No such meeting in the caller's scope (absent and "not yours" look the same)."""

    code = "meeting_not_found"


class NotChairError(MeetingError, PermissionDeniedError):
    """Only the meeting's chair may do this (start, end, the room's controls)."""

    code = "not_chair"


class MeetingStateError(MeetingError, ConflictError):
    """The occurrence is not in a state that allows this (cancelled, not running …)."""

    code = "meeting_state"


class RoomLockedError(MeetingError, PermissionDeniedError):
    """The chair locked the room: nobody new may join until it is unlocked."""

    code = "room_locked"


class UnmuteForbiddenError(MeetingError, PermissionDeniedError):
    """The chair muted this site and forbade unmuting: only the chair can unmute it."""

    code = "unmute_forbidden"
