"""LiveSessions: who may open a live session, and every session this process runs.

:class:`LiveSessions` answers WHEP-style offers for each kind (:class:`ViewSession`,
:class:`TalkSession`), admits the session — authorized by unit scope, within the
process's limit, its start audited — and owns it until it ends.  A session ends — its
peer connection closed, its tracks and hub subscriptions released, its talk floor given
back, its end audited with the duration — on hang-up (``DELETE``), on disconnect
(ICE/DTLS failure, the browser's track ending), on timeout (never connected, talk time
limit, no talk audio), when taken over, when its camera is removed, and on shutdown.
"""

from __future__ import annotations

import asyncio

from aiortc import MediaStreamTrack

from camera_registry import Stream
from core import Database, Level, Permission, Principal, authorize, can
from sessions._broadcast import BroadcastTalk
from sessions._errors import LiveLimitError, SessionNotFoundError, SessionsClosedError
from sessions._floor import FloorHolder, TalkFloors
from sessions._session import CameraRef, HubSource, PeerSession, SessionAnswer, SessionInfo
from sessions._settings import LiveSettings
from sessions._talk import TalkPump
from sessions._talk_session import TalkListener, TalkSession
from sessions._view_session import ViewSession

__all__ = ["LiveSessions"]


class LiveSessions:
    """Every live-view and talk session of this process; ``await close()`` ends them all."""

    def __init__(
        self,
        source: HubSource,
        db: Database,
        settings: LiveSettings | None = None,
        *,
        on_talker: TalkListener | None = None,
    ) -> None:
        self._source = source
        # Where every start and end is audited: there is no session without its audit rows.
        self._db = db
        # Told who talks into a camera's room (None when nobody), e.g. so the recorder can
        # name the talker beside the talk-back track.
        self._on_talker = on_talker
        self.settings = settings or LiveSettings()
        self._sessions: dict[str, PeerSession] = {}
        self._broadcasts: dict[str, BroadcastTalk] = {}
        self._floors = TalkFloors()
        self._ending: set[PeerSession] = set()  # ended, still tearing down
        self._closed = False

    # ------------------------------------------------------------------ queries
    def floor(self, camera_id: int) -> FloorHolder | None:
        """Who talks into the camera's room now, if anyone."""
        return self._floors.holder(str(camera_id))

    def viewers(self, camera_id: int) -> int:
        return sum(
            1
            for s in self._sessions.values()
            if isinstance(s, ViewSession) and s.camera.camera_id == camera_id
        )

    def sessions(self) -> list[SessionInfo]:
        return [s.info() for s in self._sessions.values()]

    def tracks(self, session_id: str) -> list[MediaStreamTrack]:
        """The session's outgoing tracks (statistics for tests and benchmarks)."""
        session = self._sessions.get(session_id)
        return list(session.tracks) if session is not None else []

    def can_take_over(self, principal: Principal, camera: CameraRef) -> bool:
        """Whether ``principal`` may take the floor from another talker (chair, admin)."""
        return can(principal, Permission.CAMERA_TALK_TAKEOVER, camera.unit_code)

    def pump(self, session_id: str) -> TalkPump | None:
        session = self._sessions.get(session_id)
        return session.pump if isinstance(session, TalkSession) else None

    # ------------------------------------------------------------------ opening
    async def open_view(
        self, principal: Principal, camera: CameraRef, offer: str, *, stream: Stream = "main"
    ) -> SessionAnswer:
        """Answer a WHEP offer: the camera's H.264 as received, its audio if it has any.

        ``stream="sub"`` serves the camera's sub stream (grid tiles), or main when it has
        none; the answer's ``stream`` says which.
        """
        authorize(principal, Permission.CAMERA_VIEW, camera.unit_code)
        self._check_open(principal, camera)
        session, answer = await ViewSession.negotiate(
            self._source,
            principal,
            camera,
            offer,
            stream=stream,
            db=self._db,
            settings=self.settings,
        )
        await self._admit(session)
        return answer

    async def open_talk(
        self, principal: Principal, camera: CameraRef, offer: str, *, takeover: bool = False
    ) -> SessionAnswer:
        """Answer a talk offer (send-only microphone) and take the camera's talk floor."""
        authorize(principal, Permission.CAMERA_TALK, camera.unit_code)
        self._check_open(principal, camera)
        session, answer = await TalkSession.negotiate(
            self._source,
            principal,
            camera,
            offer,
            takeover=takeover,
            floors=self._floors,
            on_talker=self._on_talker,
            db=self._db,
            settings=self.settings,
        )
        await self._end_displaced(session.displaced, principal)
        await self._admit(session)
        return answer

    async def open_broadcast(
        self,
        principal: Principal,
        camera: CameraRef,
        *,
        source: str,
        name: str | None = None,
        actor: str | None = None,
        takeover: bool = False,
    ) -> BroadcastTalk:
        """Take the camera's talk floor for audio that is not a browser's (a GB/T 28181
        voice broadcast from ``source``) and start playing what is fed to it.

        The caller has decided that ``principal`` may broadcast to this camera (the
        platform sees it); ``actor`` names the talker in the audit log and on the floor
        when the principal's own name would not (``platform:<name>``).  A busy floor raises :class:`TalkFloorBusyError` unless
        ``takeover``; the talker taken over is hung up, audited like any takeover.
        """
        self._check_open()
        talk = BroadcastTalk.claim(
            self._source,
            principal,
            camera,
            source=source,
            holder_name=name or principal.name,
            takeover=takeover,
            actor=actor,
            floors=self._floors,
            on_talker=self._on_talker,
            db=self._db,
            settings=self.settings,
        )
        await self._end_displaced(talk.displaced, principal)
        await talk.start(on_end=self._forget_broadcast)
        self._broadcasts[talk.id] = talk
        return talk

    def _forget_broadcast(self, talk: BroadcastTalk) -> None:
        self._broadcasts.pop(talk.id, None)

    def broadcasts(self) -> list[BroadcastTalk]:
        return list(self._broadcasts.values())

    async def _end_displaced(self, displaced: FloorHolder | None, by: Principal) -> None:
        if displaced is None:
            return
        reason = f"taken over by {by.name}"
        if displaced.session_id in self._sessions:
            await self._sessions[displaced.session_id].end(reason)
        elif displaced.session_id in self._broadcasts:
            await self._broadcasts[displaced.session_id].end(reason)

    # --------------------------------------------------------- other talkers
    async def take_floor(
        self, camera: CameraRef, holder: FloorHolder, *, takeover: bool = False
    ) -> None:
        """Another kind of talker (a meeting playing into the room) takes the camera's
        floor: refused with who holds it (409) unless ``takeover``; a talk session it
        displaces is hung up.  Give it back with :meth:`release_floor`."""
        self._check_open()
        displaced = self._floors.claim(str(camera.camera_id), holder, takeover=takeover)
        if displaced is not None:
            reason = f"taken over by {holder.name}"
            if displaced.session_id in self._sessions:
                await self._sessions[displaced.session_id].end(reason)
            elif displaced.session_id in self._broadcasts:
                await self._broadcasts[displaced.session_id].end(reason)
        if self._on_talker is not None:
            self._on_talker(camera.camera_id, holder.name)

    def release_floor(self, camera_id: int, session_id: str) -> None:
        """Give back a floor taken with :meth:`take_floor` (nothing if it was taken over)."""
        if self._floors.release(str(camera_id), session_id) and self._on_talker is not None:
            self._on_talker(camera_id, None)

    # ------------------------------------------------------------------ closing
    async def hang_up(self, principal: Principal, session_id: str, *, kind: str) -> None:
        """End a session on its owner's request (DELETE of the WHEP resource)."""
        session = self._sessions.get(session_id)
        if (
            session is None
            or session.kind != kind
            or (session.principal.actor != principal.actor and principal.kind != "system")
        ):
            raise SessionNotFoundError(
                "no such session; it has ended already or belongs to someone else"
            )
        await session.end("hang-up")

    async def close(self) -> None:
        """End every session (audited as shutdown); idempotent."""
        self._closed = True
        sessions = [*self._sessions.values(), *self._ending]
        await asyncio.gather(*(s.end("shutdown") for s in sessions))
        self._ending.clear()
        await asyncio.gather(*(b.end("shutdown") for b in list(self._broadcasts.values())))

    # ---------------------------------------------------------------- internals
    def _check_open(
        self, principal: Principal | None = None, camera: CameraRef | None = None
    ) -> None:
        if self._closed:
            raise SessionsClosedError("the gateway is shutting down; try again in a moment")
        settings = self.settings
        total = len(self._sessions)
        if total >= settings.max_sessions:
            raise SessionsClosedError(
                f"this gateway already serves {total} live sessions, its limit; "
                "close some views or use another gateway"
            )
        if principal is None or principal.kind == "system":
            return
        mine = sum(
            1
            for s in self._sessions.values()
            if (s.principal.kind, s.principal.id) == (principal.kind, principal.id)
        )
        if mine >= settings.per_caller(principal.level):
            raise LiveLimitError(
                f"you already have {mine} live sessions open, the most one caller may; "
                "close a view first"
            )
        if camera is not None:
            on_camera = sum(
                1 for s in self._sessions.values() if s.camera.camera_id == camera.camera_id
            )
            if on_camera >= settings.max_per_camera:
                raise LiveLimitError(
                    f"this camera already has {on_camera} live sessions, its limit; "
                    "try again when one closes"
                )
        if total >= settings.max_sessions - settings.county_reserve and (
            principal.level is not Level.COUNTY
        ):
            raise LiveLimitError(
                "the gateway's last live places are kept for the county centre; "
                "try again when a session closes"
            )

    async def _admit(self, session: PeerSession) -> None:
        """Start the session (its start audited) and keep it until it ends."""
        await session.start(on_end=self._forget)
        self._sessions[session.id] = session

    def _forget(self, session: PeerSession) -> None:
        self._sessions.pop(session.id, None)
        # Its place is free now, but its teardown (peer connection, audit row) goes on:
        # close() waits for it, so a shutdown loses no session's end.
        self._ending.add(session)
        closing = session.closing
        if closing is not None:
            closing.add_done_callback(lambda _done: self._ending.discard(session))
