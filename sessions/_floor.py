"""The talk floor: at most one talker per camera.  Pure core.

Cameras accept one backchannel and a room hears one voice at a time, so the gateway
grants the speaker to one talk session per camera.  A second talker is refused with who
holds the floor (HTTP 409); a chair or administrator may take it over (the permission is
checked by the caller).  The same person opening a second talk session (a reloaded page
whose old connection has not timed out yet) simply replaces their first one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sessions._errors import TalkFloorBusyError

__all__ = ["FloorHolder", "TalkFloors"]


@dataclass(frozen=True, slots=True)
class FloorHolder:
    session_id: str
    actor: str  # the audit name: ``user:hpx.watch``
    name: str  # what others see: the display name, else the user name
    since: float  # time.time() when the floor was granted


class TalkFloors:
    """Who holds which camera's floor."""

    def __init__(self) -> None:
        self._holders: dict[str, FloorHolder] = {}

    def holder(self, camera_id: str) -> FloorHolder | None:
        return self._holders.get(camera_id)

    def held(self) -> dict[str, FloorHolder]:
        return dict(self._holders)

    def claim(self, camera_id: str, holder: FloorHolder, *, takeover: bool) -> FloorHolder | None:
        """Grant the floor; returns the holder it displaced (to be hung up), if any.

        Raises :class:`TalkFloorBusyError` when someone else holds it and ``takeover``
        is false.
        """
        current = self._holders.get(camera_id)
        if (
            current is not None
            and current.session_id != holder.session_id
            and current.actor != holder.actor
            and not takeover
        ):
            raise TalkFloorBusyError(current.name, current.since)
        self._holders[camera_id] = holder
        if current is not None and current.session_id == holder.session_id:
            return None
        return current

    def release(self, camera_id: str, session_id: str) -> bool:
        """Give the floor back if ``session_id`` holds it; False if it did not."""
        current = self._holders.get(camera_id)
        if current is None or current.session_id != session_id:
            return False
        del self._holders[camera_id]
        return True
