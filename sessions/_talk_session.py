"""A talker's session: the browser microphone into the camera's room, holding its floor.

The browser is asked for the camera's own G.711 law first; a :class:`TalkPump` turns what
it sends into steady 20 ms packets on the camera's ONVIF backchannel.  One talker per
camera (the talk floor, :mod:`sessions._floor`): a second one is refused with who holds
it, unless a chair or administrator takes it over.  Besides the ways every session ends,
a talk session ends when the microphone track ends, after ``talk_idle_seconds`` without
audio, and at the talk time limit — a forgotten session must not keep the room's speaker.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from aiortc import RTCPeerConnection

from core import Database, Permission, Principal, authorize
from sessions._errors import CameraNotLiveError, ListenOnlyError, TalkFloorBusyError
from sessions._floor import FloorHolder, TalkFloors
from sessions._sdp import check_talk_offer, talk_codec_order
from sessions._session import (
    CameraRef,
    HubSource,
    PeerSession,
    SessionAnswer,
    answer_offer,
    codec_preferences,
    discard,
    new_peer,
)
from sessions._settings import LiveSettings
from sessions._talk import TalkPump

__all__ = ["TalkListener", "TalkSession"]

#: Told who talks into a camera's room: ``(camera_id, name)``, ``None`` when nobody does.
TalkListener = Callable[[int, str | None], None]


class TalkSession(PeerSession):
    """One talker into one camera's room, holding that camera's talk floor."""

    kind = "talk"

    def __init__(
        self,
        session_id: str,
        camera: CameraRef,
        principal: Principal,
        pc: RTCPeerConnection,
        pump: TalkPump,
        *,
        floors: TalkFloors,
        displaced: FloorHolder | None,
        browser_codec: str | None,
        on_talker: TalkListener | None,
        db: Database,
        settings: LiveSettings,
    ) -> None:
        super().__init__(session_id, camera, principal, pc, db=db, settings=settings)
        self.pump = pump
        #: Who held the floor before this session took it (their session is to be ended).
        self.displaced = displaced
        self.browser_codec = browser_codec  # what the browser sends
        self._floors = floors
        self._on_talker = on_talker

    @classmethod
    async def negotiate(
        cls,
        source: HubSource,
        principal: Principal,
        camera: CameraRef,
        offer: str,
        *,
        takeover: bool,
        floors: TalkFloors,
        on_talker: TalkListener | None,
        db: Database,
        settings: LiveSettings,
    ) -> tuple[TalkSession, SessionAnswer]:
        """Answer a talk offer (send-only microphone) and take the camera's talk floor.

        The session is ready to :meth:`start`; whoever it took the floor from is in
        ``displaced``.  The caller has authorized ``principal`` to talk.
        """
        check_talk_offer(offer)
        _check_floor(floors, principal, camera, takeover)
        ingest = source.ingest(camera.camera_id)
        client = ingest.client
        if client is None:
            raise CameraNotLiveError(
                "the camera is offline; talk-back is possible again once it reconnects"
            )
        if client.backchannel is None:
            raise ListenOnlyError(client.listen_only_reason or "the camera has no backchannel")
        codec = client.backchannel.codec
        pc = new_peer(settings)
        try:
            transceiver = pc.addTransceiver("audio", direction="recvonly")
            transceiver.setCodecPreferences(
                codec_preferences("audio", tuple(talk_codec_order(codec)))
            )
            answer = await answer_offer(pc, offer, settings)
        except BaseException:
            await discard(pc, [])
            raise
        session_id = secrets.token_urlsafe(18)
        holder = FloorHolder(session_id, principal.actor, principal.name, time.time())
        try:
            # Someone may have taken the floor while we negotiated: claim re-checks.
            _check_floor(floors, principal, camera, takeover)
            displaced = floors.claim(str(camera.camera_id), holder, takeover=True)
        except BaseException:
            await discard(pc, [])
            raise
        pump = TalkPump(
            transceiver.receiver.track, ingest.send_talk, codec, name=f"talk {camera.camera_id}"
        )
        session = cls(
            session_id,
            camera,
            principal,
            pc,
            pump,
            floors=floors,
            displaced=displaced,
            browser_codec=_negotiated_codec(answer),
            on_talker=on_talker,
            db=db,
            settings=settings,
        )
        return session, SessionAnswer(session.id, answer, session.browser_codec)

    async def start(self, on_end: Callable[[PeerSession], None]) -> None:
        """Audit the start, then send the talker's audio to the speaker."""
        try:
            await super().start(on_end)
        except BaseException:
            self._floors.release(str(self.camera.camera_id), self.id)
            raise
        self.pump.start()
        if self._on_talker is not None:
            self._on_talker(self.camera.camera_id, self.principal.name)

    def _start_detail(self) -> dict[str, object]:
        detail: dict[str, object] = {"codec": self.pump.codec, "browser": self.browser_codec}
        if self.displaced is not None:
            # A takeover (or the same person replacing a stale session of theirs): the
            # taker's row says whose floor it took, the other's stop row says by whom.
            detail["displaced"] = self.displaced.actor
            detail["displaced_session"] = self.displaced.session_id[:8]
        return detail

    def _end_reason(self, now: float) -> str | None:
        reason = super()._end_reason(now)
        if reason is not None:
            return reason
        settings, pump = self.settings, self.pump
        if pump.ended.is_set():
            return "microphone track ended"
        if now - self.opened > settings.talk_max_seconds:
            return f"talk time limit ({settings.talk_max_seconds / 60:.0f} min)"
        heard = max(pump.last_audio_at, self.connected_at or now)
        if now - heard > settings.talk_idle_seconds:
            return f"no audio for {settings.talk_idle_seconds:.0f} s"
        return None

    def _leave(self) -> None:
        key = str(self.camera.camera_id)
        self._floors.release(key, self.id)
        if self._on_talker is not None and self._floors.holder(key) is None:
            self._on_talker(self.camera.camera_id, None)

    async def _close(self) -> dict[str, object]:
        await self.pump.close()
        detail: dict[str, object] = {"packets": self.pump.packets_sent}
        detail.update(await super()._close())
        return detail


def _check_floor(
    floors: TalkFloors, principal: Principal, camera: CameraRef, takeover: bool
) -> None:
    """Refuse when someone else holds the camera's floor, unless ``takeover`` is asked by
    one who may (chair, administrator); the same person may always replace their own."""
    current = floors.holder(str(camera.camera_id))
    if current is None or current.actor == principal.actor:
        return
    if not takeover:
        raise TalkFloorBusyError(current.name, current.since)
    authorize(principal, Permission.CAMERA_TALK_TAKEOVER, camera.unit_code)


def _negotiated_codec(sdp: str) -> str | None:
    """The first audio codec of an answer (the one the browser will send)."""
    in_audio = False
    for line in sdp.splitlines():
        if line.startswith("m="):
            in_audio = line.startswith("m=audio")
        elif in_audio and line.startswith("a=rtpmap:"):
            return line.split(" ", 1)[1].split("/")[0]
    return None
