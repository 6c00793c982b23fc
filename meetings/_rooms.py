"""Every meeting room this process hosts, and who may enter which.

:class:`MeetingRooms` admits a participant to the room of a running occurrence — visible
to the caller (404 otherwise), started by the chair (409 before), not locked (403 with
the reason, except for the chair) — opening the room on the first join, and owns the
rooms until the meeting ends or the process stops.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from camera_registry import CameraManager, CameraNotFoundError
from core import (
    SYSTEM,
    Permission,
    PermissionDeniedError,
    Principal,
    UnavailableError,
    authorize,
)
from meetings._camera import CameraFeed
from meetings._control import apply_control, apply_self
from meetings._errors import (
    InvalidMeetingInputError,
    MeetingNotFoundError,
    MeetingStateError,
    NotChairError,
    RoomLockedError,
)
from meetings._inputs import OccurrenceView
from meetings._room import EventSink, Participant, Room, RoomSettings
from meetings._service import MeetingService
from recordings import RecordingService
from sessions import CameraRef, FloorHolder, LiveSessions, LiveSettings

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
        cameras: CameraManager | None = None,
        sessions: LiveSessions | None = None,
        recorder: RecordingService | None = None,
        is_live: Callable[[str], bool] | None = None,
    ) -> None:
        self.service = service
        #: the running cameras (room cameras join from their hubs) and the live sessions
        #: whose talk floor a room camera's speaker shares
        self.cameras = cameras
        self.sessions = sessions
        #: records each room's composite and mix, tied to the occurrence by its events
        self.recorder = recorder
        #: whether a gateway process is alive (a room hosted by a live sibling is not
        #: taken over here; the web layer forwards to it)
        self.is_live = is_live or (lambda node: False)
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
        room = await self._room_for(view)
        if room.locked and principal.name != view.chair and principal.name not in room.admitted:
            raise RoomLockedError(
                "the chair has locked the meeting room; ask the chair to unlock it or to admit you"
            )
        participant, sdp = await room.join(principal, name, offer)
        return JoinAnswer(view.id, participant.id, participant.site, sdp)

    async def _room_for(self, view: OccurrenceView) -> Room:
        occurrence_id, chair, node_id = view.id, view.chair, view.node_id
        async with self._opening:
            if self._closed:
                raise MeetingStateError("the gateway is shutting down; join again in a moment")
            room = self._rooms.get(occurrence_id)
            if room is None or room.closed:
                if node_id != self.node_id:
                    if node_id is not None and self.is_live(node_id):
                        raise UnavailableError(
                            "another gateway process hosts this meeting's room; try again"
                        )
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
                await self._start_recording(room, view)
            return room

    async def _start_recording(self, room: Room, view: OccurrenceView) -> None:
        """Record the composite and the mix while the room is open (the meeting's record);
        a recording that cannot start is logged and noted, the meeting goes on."""
        if self.recorder is None or not self.settings.record:
            return
        try:
            row = await self.recorder.start_stream(
                SYSTEM,
                room.hub,
                source=f"meeting:{view.id}",
                unit_code=view.unit,
                reason=f"视频会议「{view.title}」{view.local_start}，主持人 {view.chair}",
            )
        except Exception as exc:
            log.exception("the meeting could not be recorded", extra={"meeting": view.id})
            await self.service.record_event(
                view.id, "recording", detail={"state": "failed", "error": str(exc)[:200]}
            )
            return
        room.recording_id = row.id
        await self.service.record_event(
            view.id, "recording", detail={"state": "started", "recording": row.id}
        )

    async def _stop_recording(self, room: Room, reason: str) -> None:
        rid, room.recording_id = room.recording_id, None
        if rid is None or self.recorder is None:
            return
        try:
            row = await self.recorder.stop_recording(SYSTEM, rid, reason)
        except Exception:
            log.exception("the meeting's recording did not stop cleanly", extra={"recording": rid})
            return
        await self.service.record_event(
            room.occurrence_id,
            "recording",
            detail={"state": "stopped", "recording": rid, "segments": row.segment_count},
        )

    def _recorder(self, occurrence_id: str) -> EventSink:
        service = self.service

        async def on_event(
            kind: str, participant: str, site: str, actor: str, detail: dict[str, object]
        ) -> None:
            await service.record_event(
                occurrence_id, kind, participant=participant, site=site, actor=actor, detail=detail
            )

        return on_event

    async def add_camera(
        self,
        principal: Principal,
        occurrence_id: str,
        camera_id: int,
        *,
        site: str | None = None,
        takeover: bool = False,
    ) -> JoinAnswer:
        """The chair adds a room camera: its picture decoded from its hub while it is in
        the meeting, the meeting's mix played through its backchannel (holding its talk
        floor: 409 with who talks there now unless ``takeover``)."""
        view = await self.service.occurrence(principal, occurrence_id)
        if principal.kind != "system" and principal.name != view.chair:
            raise NotChairError(f"only the chair of this meeting ({view.chair}) adds cameras")
        if view.state != "running":
            raise MeetingStateError("start the meeting before adding its room cameras")
        cameras, sessions = self.cameras, self.sessions
        if cameras is None or sessions is None:
            raise UnavailableError("cameras are not running in this gateway process")
        try:
            spec = cameras.spec(camera_id)
        except CameraNotFoundError:
            raise MeetingNotFoundError(
                f"camera {camera_id} is not running on this gateway process"
            ) from None
        authorize(principal, Permission.CAMERA_TALK, spec.unit_code)
        room = await self._room_for(view)
        if any(p.camera_id == camera_id for p in room.participants.values()):
            raise MeetingStateError("this camera is in the meeting already")
        client = cameras.ingest(camera_id).client
        backchannel = client.backchannel if client is not None else None
        name = (site or "").strip() or spec.name
        if len(name) > MAX_SITE:
            raise InvalidMeetingInputError(f"site must be at most {MAX_SITE} characters")
        pid = secrets.token_urlsafe(9)
        ref = CameraRef(camera_id, spec.unit_code, spec.name)
        if backchannel is not None:
            holder = FloorHolder(pid, principal.actor, f"视频会议：{view.title}", time.time())
            await sessions.take_floor(ref, holder, takeover=takeover)
        try:
            lease = await cameras.acquire_hub(camera_id, "sub")
        except BaseException:
            sessions.release_floor(camera_id, pid)
            raise
        participant = Participant(pid, name, principal, None, kind="camera", camera_id=camera_id)
        ingest = cameras.ingest(camera_id)

        def play(packet: bytes) -> None:
            # Only while the meeting holds the floor: a chair who took it over talks alone.
            holder = sessions.floor(camera_id)
            if holder is not None and holder.session_id == pid:
                ingest.send_talk(packet)

        feed = CameraFeed(
            lease,
            play,
            backchannel.codec if backchannel is not None else "PCMU",
            name=str(camera_id),
            heard=participant.heard,
            speak=backchannel is not None,
        )
        participant.video_in, participant.audio_in = feed.video, feed.audio
        participant.pcm_out = feed.mix if backchannel is not None else None

        async def close_feed() -> None:
            await feed.close()
            sessions.release_floor(camera_id, pid)

        participant.on_leave = close_feed
        room.admit(participant)
        feed.start()
        await self.service.record_event(
            view.id,
            "join",
            participant=pid,
            site=name,
            actor=principal.actor,
            detail={
                "camera": camera_id,
                "unit": spec.unit_code,
                "speaker": backchannel is not None,
            },
        )
        return JoinAnswer(view.id, pid, name, "")

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
            await self._stop_recording(room, reason)
            await room.close(reason)
            log.info("meeting room closed", extra={"meeting": occurrence_id, "reason": reason})

    async def close(self) -> None:
        """Every room closes (each leave recorded as shutdown); idempotent."""
        async with self._opening:
            self._closed = True
            rooms, self._rooms = list(self._rooms.values()), {}
        reason = "the gateway is shutting down"
        await asyncio.gather(*(self._stop_recording(room, reason) for room in rooms))
        await asyncio.gather(*(room.close(reason) for room in rooms))
