"""The chair's controls, applied to a room, and what a site may do for itself.

Each action checks its own input (an unknown participant or value is a 400 naming what
was wrong) and returns what the event log records about it.  A site that the chair
muted with ``forbid`` cannot unmute itself (403) until the chair unmutes it.
"""

from __future__ import annotations

from meetings._errors import InvalidMeetingInputError, UnmuteForbiddenError
from meetings._layout import Layout
from meetings._room import Participant, Room

__all__ = ["ACTIONS", "apply_control", "apply_self"]

ACTIONS = (
    "lock",
    "unlock",
    "admit",
    "remove",
    "mute",
    "unmute",
    "mute_all",
    "unmute_all",
    "spotlight",
    "rollcall",
    "tour",
    "layout",
    "lower_hand",
)
MIN_TOUR = 3.0
MAX_TOUR = 600.0


def _flag(value: object, default: bool = True) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidMeetingInputError("value must be true or false for this action")
    return value


def _participant(room: Room, pid: str | None, action: str) -> Participant:
    if not pid:
        raise InvalidMeetingInputError(f"{action} needs the participant (its id)")
    participant = room.participants.get(pid)
    if participant is None:
        raise InvalidMeetingInputError(f"no participant {pid[:40]!r} in the room")
    return participant


async def apply_control(
    room: Room, action: str, pid: str | None, value: object, *, chair: str
) -> dict[str, object]:
    """Apply one chair's action; returns its detail for the event log."""
    if action == "lock":
        room.locked = _flag(value)
        return {"locked": room.locked}
    if action == "unlock":
        room.locked = False
        return {"locked": False}
    if action == "admit":
        if not isinstance(value, str) or not value.strip():
            raise InvalidMeetingInputError("admit needs the username to let in as value")
        room.admitted.add(value.strip())
        return {"admitted": value.strip()}
    if action == "remove":
        participant = _participant(room, pid, action)
        await room.leave(participant.id, "removed by the chair")
        return {"site": participant.site}
    if action == "mute":
        participant = _participant(room, pid, action)
        participant.muted = True
        participant.unmute_forbidden = _flag(value)
        return {"forbid_unmute": participant.unmute_forbidden}
    if action == "unmute":
        participant = _participant(room, pid, action)
        participant.muted = False
        participant.unmute_forbidden = False
        return {}
    if action == "mute_all":
        forbid = _flag(value)
        muted = 0
        for p in room.participants.values():
            if p.principal.name != chair:
                p.muted, p.unmute_forbidden = True, forbid
                muted += 1
        return {"muted": muted, "forbid_unmute": forbid}
    if action == "unmute_all":
        for p in room.participants.values():
            p.muted, p.unmute_forbidden = False, False
        return {}
    if action == "spotlight":
        room.spotlight = None if pid is None else _participant(room, pid, action).id
        room.request_keyframe()
        return {"spotlight": room.spotlight}
    if action == "rollcall":
        room.call_roll(None if pid is None else _participant(room, pid, action).id)
        return {}
    if action == "tour":
        if value in (None, 0, False):
            await room.stop_tour()
            return {"tour": None}
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidMeetingInputError("tour needs the seconds per site as value (0 stops)")
        if not MIN_TOUR <= float(value) <= MAX_TOUR:
            raise InvalidMeetingInputError(
                f"tour seconds must be {MIN_TOUR:.0f} … {MAX_TOUR:.0f} (0 stops it)"
            )
        room.start_tour(float(value))
        return {"tour": float(value)}
    if action == "layout":
        try:
            room.layout = Layout(str(value))
        except ValueError:
            raise InvalidMeetingInputError(
                f"layout must be one of {', '.join(x.value for x in Layout)}"
            ) from None
        room.request_keyframe()
        return {"layout": room.layout.value}
    if action == "lower_hand":
        targets = (
            list(room.participants.values()) if pid is None else [_participant(room, pid, action)]
        )
        for p in targets:
            p.hand_raised = False
        return {"lowered": len(targets)}
    raise InvalidMeetingInputError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")


def apply_self(
    room: Room,
    participant: Participant,
    *,
    muted: bool | None,
    hand_raised: bool | None,
    answer: bool | None,
) -> dict[str, object]:
    """What a site does for itself: mute or unmute, raise or lower its hand, answer the
    roll call.  Unmuting while the chair forbids it is refused (403)."""
    detail: dict[str, object] = {}
    if muted is not None:
        if not muted and participant.unmute_forbidden:
            raise UnmuteForbiddenError("the chair has muted you; only the chair can unmute you")
        participant.muted = muted
        detail["muted"] = muted
    if hand_raised is not None:
        participant.hand_raised = hand_raised
        detail["hand_raised"] = hand_raised
    if answer:
        detail["answered"] = room.answer_rollcall(participant.id, how="button")
    if not detail:
        raise InvalidMeetingInputError("nothing to change: give muted, hand_raised or answer")
    return detail
