"""What the case module needs from the recordings module, and nothing more.

``gateway.app`` wires an implementation backed by ``recordings`` (floor 3); the case
package (floor 2) never imports media code.  Without a recorder the service still records
sessions, and says in the session record that no recorder was connected: a session
never carries a recording id that does not point at a real recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["NO_RECORDER_NOTE", "RecordingRef", "SessionRecorder"]

NO_RECORDER_NOTE = "no recorder connected: the session was not recorded"


@dataclass(frozen=True, slots=True)
class RecordingRef:
    """A recording the recordings module started: its id and a short human note."""

    recording_id: str
    note: str = ""


@runtime_checkable
class SessionRecorder(Protocol):
    """Start recording a room for a case's session; stop it and get the attachable id."""

    async def start(self, *, room_id: int, case_number: str, session_id: int) -> RecordingRef:
        """Start recording the room's camera(s); raise a ``GatewayError`` if it cannot."""
        ...

    async def stop(self, recording_id: str) -> RecordingRef:
        """Stop the recording and return its final reference (to attach to the session)."""
        ...
