"""The chair's controls, applied to a room: what each action changes.

Each action checks its own input (an unknown participant or value is a 400 naming what
was wrong) and returns what the event log records about it.
"""

from __future__ import annotations

from meetings._errors import InvalidMeetingInputError
from meetings._room import Room

__all__ = ["ACTIONS", "apply_control"]

ACTIONS = ("lock", "unlock")


def _flag(value: object, default: bool = True) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidMeetingInputError("value must be true or false for this action")
    return value


def apply_control(
    room: Room, action: str, participant: str | None, value: object
) -> dict[str, object]:
    if action == "lock":
        room.locked = _flag(value)
        return {"locked": room.locked}
    if action == "unlock":
        room.locked = False
        return {"locked": False}
    raise InvalidMeetingInputError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
