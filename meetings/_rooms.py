"""Every meeting room this process hosts, and who may enter which.

:class:`MeetingRooms` admits a participant to the room of a running occurrence — visible
to the caller (404 otherwise), started by the chair (409 before), not locked (403 with
the reason, except for the chair) — opening the room on the first join, and owns the
rooms until the meeting ends or the process stops.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from core import Permission, PermissionDeniedError, Principal
from meetings._control import apply_control, apply_self
from meetings._errors import (
    InvalidMeetingInputError,
    MeetingNotFoundError,
    MeetingStateError,
    NotChairError,
    RoomLockedError,
)
from meetings._room import EventSink, Room, RoomSettings
from meetings._service import MeetingService
from sessions import LiveSettings

__all__ = ["JoinAnswer", "MeetingRooms"]

log = logging.getLogger("gateway.meetings")

MAX_SITE = 40


@dataclass(frozen=True, slots=True)
class JoinAnswer:
    occurrence_id: str
    participant_id: str
    site: str
    sdp: str


class MeetingRooms:
    """The rooms of this process (``node_id``); ``await close()`` ends them all."""

    def __init__(
        self,
        service: MeetingService,
        *,
        node_id: str,
        settings: RoomSettings | None = None,
        live: LiveSettings | None = None,
    ) -> None:
        self.service = service
        self.node_id = node_id
        self.settings = settings or RoomSettings()
        self.live = live or LiveSettings()
        self._rooms: dict[str, Room] = {}
        self._opening = asyncio.Lock()
        self._closed = False

    def room(self, occurrence_id: str) -> Room | None:
        return self._rooms.get(occurrence_id)

    def rooms(self) -> list[Room]:
        return list(self._rooms.values())

    async def join(
        self, principal: Principal, occurrence_id: str, site: str | None, offer: str
    ) -> JoinAnswer:
        view = await self.service.occurrence(principal, occurrence_id)
        if principal.kind != "system" and not principal.has(Permission.MEETING_JOIN):
            raise PermissionDeniedError(
                f"your role ({principal.role}) cannot join meetings", code="role_forbidden"
            )
        if view.state != "running":
            raise MeetingStateError(
                "this meeting has not been started by its chair"
                if view.state == "scheduled"
                else "this meeting has ended"
            )
        name = (site or "").strip() or await self.service.site_name(principal)
        if len(name) > MAX_SITE or any(ord(c) < 32 for c in name):
            raise InvalidMeetingInputError(f"site must be a name of at most {MAX_SITE} characters")
        room = await self._room_for(view.id, view.chair, view.node_id)
        if room.locked and principal.name != view.chair and principal.name not in room.admitted:
            raise RoomLockedError(
                "the chair has locked the meeting room; ask the chair to unlock it or to admit you"
            )
        participant, sdp = await room.join(principal, name, offer)
        return JoinAnswer(view.id, participant.id, participant.site, sdp)

    async def _room_for(self, occurrence_id: str, chair: str, node_id: str | None) -> Room:
        async with self._opening:
            if self._closed:
                raise MeetingStateError("the gateway is shutting down; join again in a moment")
            room = self._rooms.get(occurrence_id)
            if room is None or room.closed:
                if node_id != self.node_id:
                    # the process that started it is gone (or this one restarted): host here
                    await self.service.host(occurrence_id, self.node_id)
                room = Room(
                    occurrence_id,
                    chair=chair,
                    settings=self.settings,
                    live=self.live,
                    on_event=self._recorder(occurrence_id),
                )
                room.start()
                self._rooms[occurrence_id] = room
                log.info("meeting room opened", extra={"meeting": occurrence_id})
            return room

    def _recorder(self, occurrence_id: str) -> EventSink:
        service = self.service

        async def on_event(
            kind: str, participant: str, site: str, actor: str, detail: dict[str, object]
        ) -> None:
            await service.record_event(
                occurrence_id, kind, participant=participant, site=site, actor=actor, detail=detail
            )

        return on_event

    async def leave(self, principal: Principal, occurrence_id: str, participant_id: str) -> None:
        """A participant hangs up (``DELETE`` of its ``Location``): its own, or the chair."""
        room = self._rooms.get(occurrence_id)
        participant = room.participants.get(participant_id) if room is not None else None
        if (
            room is None
            or participant is None
            or (participant.actor != principal.actor and principal.name != room.chair)
        ):
            raise MeetingNotFoundError("no such participant; it has left already")
        await room.leave(participant_id, "left")

    async def control(
        self,
        principal: Principal,
        occurrence_id: str,
        action: str,
        *,
        participant: str | None = None,
        value: object = None,
    ) -> dict[str, object]:
        """A chair's control of the room (403 for anyone else); returns the room's state."""
        view = await self.service.occurrence(principal, occurrence_id)
        if principal.kind != "system" and principal.name != view.chair:
            raise NotChairError(f"only the chair of this meeting ({view.chair}) controls the room")
        room = self._rooms.get(view.id)
        if room is None:
            raise MeetingStateError("nobody has joined the room yet")
        site = room.participants[participant].site if participant in room.participants else ""
        detail = await apply_control(room, action, participant, value, chair=view.chair)
        await self.service.record_event(
            view.id,
            "control",
            participant=participant or "",
            site=site,
            actor=principal.actor,
            detail={"action": action, **detail},
        )
        return room.state()

    async def update_self(
        self,
        principal: Principal,
        occurrence_id: str,
        participant_id: str,
        *,
        muted: bool | None = None,
        hand_raised: bool | None = None,
        answer: bool | None = None,
    ) -> dict[str, object]:
        """A site mutes or unmutes itself, raises its hand, answers the roll call."""
        room = self._rooms.get(occurrence_id)
        participant = room.participants.get(participant_id) if room is not None else None
        if room is None or participant is None or participant.actor != principal.actor:
            raise MeetingNotFoundError("no such participant; it has left already")
        detail = apply_self(room, participant, muted=muted, hand_raised=hand_raised, answer=answer)
        await self.service.record_event(
            occurrence_id,
            "self",
            participant=participant.id,
            site=participant.site,
            actor=principal.actor,
            detail=detail,
        )
        return room.state()

    async def end(self, occurrence_id: str, reason: str = "the meeting ended") -> None:
        room = self._rooms.pop(occurrence_id, None)
        if room is not None:
            await room.close(reason)
            log.info("meeting room closed", extra={"meeting": occurrence_id, "reason": reason})

    async def close(self) -> None:
        """Every room closes (each leave recorded as shutdown); idempotent."""
        async with self._opening:
            self._closed = True
            rooms, self._rooms = list(self._rooms.values()), {}
        await asyncio.gather(*(room.close("the gateway is shutting down") for room in rooms))
