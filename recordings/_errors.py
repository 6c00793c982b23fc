"""Errors of the recordings package: one root, precise kinds the web layer maps to HTTP."""

from __future__ import annotations

from core.errors import (
    ConflictError,
    GatewayError,
    InvalidInputError,
    NotFoundError,
    UnavailableError,
)

__all__ = [
    "ExportError",
    "IntegrityError",
    "InvalidPolicyError",
    "InvalidRangeError",
    "LegalHoldError",
    "RecordingConflictError",
    "RecordingError",
    "RecordingNotFoundError",
    "StorageFullError",
]


class RecordingError(GatewayError):
    """Root of every error the recordings package raises on purpose."""

    code = "recording_error"


class RecordingNotFoundError(RecordingError, NotFoundError):
    code = "recording_not_found"


class RecordingConflictError(RecordingError, ConflictError):
    """Already recording, already stopped, a link that exists …"""

    code = "recording_conflict"


class LegalHoldError(RecordingError, ConflictError):
    """A deletion was asked for a recording that a case still needs."""

    code = "legal_hold"


class InvalidRangeError(RecordingError, InvalidInputError):
    code = "invalid_range"


class InvalidPolicyError(RecordingError, InvalidInputError):
    """A room recording policy that cannot be stored: unknown mode, bad schedule window."""

    code = "invalid_policy"


class StorageFullError(RecordingError, UnavailableError):
    code = "storage_full"


class IntegrityError(RecordingError):
    """Files or manifest do not match what was signed; the message names the segment."""

    code = "integrity"


class ExportError(RecordingError, UnavailableError):
    code = "export_failed"
