"""WHEP-style live-view and talk sessions: who may open them, and how long they live.

:class:`LiveSessions` owns every peer connection it creates.  A session ends — its peer
connection closed, its tracks and hub subscriptions released, its talk floor given back,
its end audited with the duration — on hang-up (``DELETE``), on disconnect (ICE/DTLS
failure, the browser's track ending), on timeout (never connected, talk time limit, no
talk audio), when taken over, when its camera is removed, and on shutdown.

A viewer survives a camera reconnect: its subscription is to the camera's hub, which
outlives RTSP sessions; the timeline re-anchors and the picture resumes at the next
keyframe.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError

from camera_registry import CameraIngest, HubLease, Stream, StreamHub
from core import Database, Permission, Principal, WebRtcSettings, authorize, can, record
from sessions._errors import (
    CameraNotLiveError,
    InvalidOfferError,
    ListenOnlyError,
    SessionNotFoundError,
    SessionsClosedError,
    TalkFloorBusyError,
)
from sessions._floor import FloorHolder, TalkFloors
from sessions._hub_tracks import HubVideoTrack, audio_track_for
from sessions._sdp import add_host_candidates, check_talk_offer, check_view_offer, talk_codec_order
from sessions._talk import TalkPump

__all__ = [
    "CameraRef",
    "HubSource",
    "IceServer",
    "LiveSessions",
    "LiveSettings",
    "SessionAnswer",
    "SessionInfo",
]

log = logging.getLogger("gateway.sessions")

_NEGOTIATION_ERRORS = (
    ValueError,
    InternalError,
    InvalidAccessError,
    InvalidStateError,
    OperationError,
)


class HubSource(Protocol):
    """Where the running cameras are (``camera_registry.CameraManager`` is one)."""

    def hub(self, camera_id: int) -> StreamHub: ...

    async def acquire_hub(self, camera_id: int, stream: Stream | str = "main") -> HubLease: ...

    def ingest(self, camera_id: int) -> CameraIngest: ...


@dataclass(frozen=True, slots=True)
class CameraRef:
    """The camera a session is for, with the unit that decides who may open it."""

    camera_id: int
    unit_code: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class IceServer:
    """A STUN or TURN server (``turn:host:3478?transport=udp``) with its credentials."""

    urls: str
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True, slots=True)
class LiveSettings:
    #: No STUN by default: on an offline LAN aiortc would wait for Google's server.
    ice_servers: tuple[IceServer, ...] = ()
    #: Extra addresses to advertise as host candidates (1:1 NAT, a second interface).
    advertise_hosts: tuple[str, ...] = ()
    connect_timeout: float = 20.0  # seconds for ICE + DTLS to connect
    talk_max_seconds: float = 15 * 60.0  # a forgotten talk session ends by itself
    talk_idle_seconds: float = 15.0  # no audio from the browser for this long: hung up
    max_sessions: int = 256  # per gateway process
    video_max_lag: float = 1.0  # seconds a viewer may fall behind before skipping ahead

    @classmethod
    def from_settings(cls, webrtc: WebRtcSettings) -> LiveSettings:
        """From the ``[webrtc]`` settings; a bad address raises ``ValueError`` naming it."""
        hosts = tuple(h.strip() for h in webrtc.advertise_hosts.split(",") if h.strip())
        for host in hosts:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                raise ValueError(
                    f"setting webrtc.advertise_hosts must list IP addresses, got {host!r}"
                ) from None
        servers: tuple[IceServer, ...] = ()
        if webrtc.ice_url:
            if not webrtc.ice_url.startswith(("stun:", "turn:", "turns:")):
                raise ValueError(
                    f"setting webrtc.ice_url must be a stun:, turn: or turns: URL, "
                    f"got {webrtc.ice_url!r}"
                )
            servers = (
                IceServer(webrtc.ice_url, webrtc.ice_username or None, webrtc.ice_password or None),
            )
        return cls(
            ice_servers=servers,
            advertise_hosts=hosts,
            talk_max_seconds=webrtc.talk_max_minutes * 60.0,
        )


@dataclass(frozen=True, slots=True)
class SessionAnswer:
    session_id: str
    sdp: str
    audio: str | None = None  # the audio MIME type sent (view) or received (talk)
    stream: Stream | None = None  # the camera stream served (view): main, or sub for grids


@dataclass(frozen=True, slots=True)
class SessionInfo:
    session_id: str
    kind: str  # "view" or "talk"
    camera_id: int
    actor: str
    opened_at: float  # time.time()
    state: str  # the peer connection's connectionState


@dataclass(eq=False)
class _Session:
    id: str
    kind: str
    camera: CameraRef
    principal: Principal
    pc: RTCPeerConnection
    tracks: list[MediaStreamTrack]
    opened: float = field(default_factory=time.monotonic)
    opened_at: float = field(default_factory=time.time)
    pump: TalkPump | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    watcher: asyncio.Task[None] | None = None
    connected_at: float | None = None
    closing: asyncio.Future[None] | None = None
    lease: HubLease | None = None  # the hub a viewer watches, released when it ends


class LiveSessions:
    """Every live-view and talk session of this process; ``await close()`` ends them all."""

    def __init__(
        self,
        source: HubSource,
        db: Database,
        settings: LiveSettings | None = None,
        *,
        on_talker: Callable[[int, str | None], None] | None = None,
    ) -> None:
        self._source = source
        # Every start and end is audited: there is no session without its audit rows.
        self._db = db
        # Told who talks into a camera's room (None when nobody), e.g. so the recorder can
        # name the talker beside the talk-back track.
        self._on_talker = on_talker
        self.settings = settings or LiveSettings()
        self._sessions: dict[str, _Session] = {}
        self._floors = TalkFloors()
        self._closed = False

    # ------------------------------------------------------------------ queries
    def floor(self, camera_id: int) -> FloorHolder | None:
        """Who talks into the camera's room now, if anyone."""
        return self._floors.holder(str(camera_id))

    def viewers(self, camera_id: int) -> int:
        return sum(
            1
            for s in self._sessions.values()
            if s.kind == "view" and s.camera.camera_id == camera_id
        )

    def sessions(self) -> list[SessionInfo]:
        return [
            SessionInfo(
                s.id,
                s.kind,
                s.camera.camera_id,
                s.principal.actor,
                s.opened_at,
                s.pc.connectionState,
            )
            for s in self._sessions.values()
        ]

    def tracks(self, session_id: str) -> list[MediaStreamTrack]:
        """The session's outgoing tracks (statistics for tests and benchmarks)."""
        session = self._sessions.get(session_id)
        return list(session.tracks) if session is not None else []

    def can_take_over(self, principal: Principal, camera: CameraRef) -> bool:
        """Whether ``principal`` may take the floor from another talker (chair, admin)."""
        return can(principal, Permission.CAMERA_TALK_TAKEOVER, camera.unit_code)

    def pump(self, session_id: str) -> TalkPump | None:
        session = self._sessions.get(session_id)
        return session.pump if session is not None else None

    # ------------------------------------------------------------------ opening
    async def open_view(
        self, principal: Principal, camera: CameraRef, offer: str, *, stream: Stream = "main"
    ) -> SessionAnswer:
        """Answer a WHEP offer: the camera's H.264 as received, its audio if it has any.

        ``stream="sub"`` serves the camera's sub stream (grid tiles), or main when it has
        none; the answer's ``stream`` says which.
        """
        authorize(principal, Permission.CAMERA_VIEW, camera.unit_code)
        self._check_open()
        offered = check_view_offer(offer)
        lease = await self._source.acquire_hub(camera.camera_id, stream)
        hub = lease.hub
        pc = self._peer()
        tracks: list[MediaStreamTrack] = []
        audio_mime: str | None = None
        try:
            video = HubVideoTrack(hub, max_lag=self.settings.video_max_lag)
            tracks.append(video)
            transceiver = pc.addTransceiver(video, direction="sendonly")
            transceiver.setCodecPreferences(_capabilities("video", ("video/H264", "video/rtx")))
            audio, mime = audio_track_for(hub)
            wanted = {
                f"audio/{c}".lower()
                for m in offered
                if m.kind == "audio" and m.receives
                for c in m.codecs
            }
            if audio is not None and mime is not None and mime.lower() in wanted:
                tracks.append(audio)
                transceiver = pc.addTransceiver(audio, direction="sendonly")
                transceiver.setCodecPreferences(_capabilities("audio", (mime,)))
                audio_mime = mime
            elif audio is not None:
                audio.stop()  # the browser cannot take this codec: video only
            answer = await self._negotiate(pc, offer)
        except BaseException:
            await _discard(pc, tracks)
            lease.release()
            raise
        session = _Session(secrets.token_urlsafe(18), "view", camera, principal, pc, tracks)
        session.lease = lease
        try:
            await self._admit(
                session, "live.view.start", {"audio": audio_mime, "stream": lease.stream}
            )
        except BaseException:
            lease.release()
            raise
        return SessionAnswer(session.id, answer, audio_mime, lease.stream)

    async def open_talk(
        self, principal: Principal, camera: CameraRef, offer: str, *, takeover: bool = False
    ) -> SessionAnswer:
        """Answer a talk offer (send-only microphone) and take the camera's talk floor."""
        authorize(principal, Permission.CAMERA_TALK, camera.unit_code)
        self._check_open()
        check_talk_offer(offer)
        key = str(camera.camera_id)
        self._check_floor(principal, camera, takeover)
        ingest = self._source.ingest(camera.camera_id)
        client = ingest.client
        if client is None:
            raise CameraNotLiveError(
                "the camera is offline; talk-back is possible again once it reconnects"
            )
        if client.backchannel is None:
            raise ListenOnlyError(client.listen_only_reason or "the camera has no backchannel")
        codec = client.backchannel.codec
        pc = self._peer()
        try:
            transceiver = pc.addTransceiver("audio", direction="recvonly")
            transceiver.setCodecPreferences(_capabilities("audio", tuple(talk_codec_order(codec))))
            answer = await self._negotiate(pc, offer)
        except BaseException:
            await _discard(pc, [])
            raise
        session_id = secrets.token_urlsafe(18)
        holder = FloorHolder(session_id, principal.actor, principal.name, time.time())
        try:
            # Someone may have taken the floor while we negotiated: claim re-checks.
            self._check_floor(principal, camera, takeover)
            displaced = self._floors.claim(key, holder, takeover=True)
        except BaseException:
            await _discard(pc, [])
            raise
        session = _Session(session_id, "talk", camera, principal, pc, [])
        session.pump = TalkPump(
            transceiver.receiver.track, ingest.send_talk, codec, name=f"talk {camera.camera_id}"
        )
        if displaced is not None and displaced.session_id in self._sessions:
            await self._end(self._sessions[displaced.session_id], f"taken over by {principal.name}")
        received = _negotiated_codec(answer)
        try:
            await self._admit(session, "live.talk.start", {"codec": codec, "browser": received})
        except BaseException:
            self._floors.release(key, session_id)
            raise
        session.pump.start()
        if self._on_talker is not None:
            self._on_talker(camera.camera_id, principal.name)
        return SessionAnswer(session.id, answer, received)

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
        await self._end(session, "hang-up")

    async def close(self) -> None:
        """End every session (audited as shutdown); idempotent."""
        self._closed = True
        sessions = list(self._sessions.values())
        await asyncio.gather(*(self._end(s, "shutdown") for s in sessions))

    # ---------------------------------------------------------------- internals
    def _check_open(self) -> None:
        if self._closed:
            raise SessionsClosedError("the gateway is shutting down; try again in a moment")
        if len(self._sessions) >= self.settings.max_sessions:
            raise SessionsClosedError(
                f"this gateway already serves {len(self._sessions)} live sessions, its limit; "
                "close some views or use another gateway"
            )

    def _check_floor(self, principal: Principal, camera: CameraRef, takeover: bool) -> None:
        current = self._floors.holder(str(camera.camera_id))
        if current is None or current.actor == principal.actor:
            return
        if not takeover:
            raise TalkFloorBusyError(current.name, current.since)
        authorize(principal, Permission.CAMERA_TALK_TAKEOVER, camera.unit_code)

    def _peer(self) -> RTCPeerConnection:
        servers = [
            RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
            for s in self.settings.ice_servers
        ]
        return RTCPeerConnection(RTCConfiguration(iceServers=servers))

    async def _negotiate(self, pc: RTCPeerConnection, offer: str) -> str:
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            answer = await pc.createAnswer()
            assert answer is not None
            # aiortc gathers every candidate here (no trickle): the answer is complete.
            await pc.setLocalDescription(answer)
        except _NEGOTIATION_ERRORS as exc:
            raise InvalidOfferError(f"the SDP offer cannot be answered: {exc}") from None
        local = pc.localDescription
        return add_host_candidates(local.sdp, self.settings.advertise_hosts)

    async def _admit(self, session: _Session, action: str, detail: dict[str, object]) -> None:
        """Register the session, audit its start, and start watching it."""
        try:
            await self._audit(session, action, detail)
        except BaseException:
            await _discard(session.pc, session.tracks)
            raise
        self._sessions[session.id] = session
        session.pc.on("connectionstatechange", session.changed.set)
        session.watcher = asyncio.create_task(self._watch(session), name=f"session {session.id}")
        log.info(
            "%s session opened",
            session.kind,
            extra={"camera": session.camera.camera_id, "actor": session.principal.actor},
        )

    async def _watch(self, session: _Session) -> None:
        settings = self.settings
        reason = "ended"
        while True:
            now = time.monotonic()
            state = session.pc.connectionState
            if state == "connected" and session.connected_at is None:
                session.connected_at = now
            if state in ("failed", "closed"):
                reason = f"disconnected ({state})"
                break
            if session.connected_at is None and now - session.opened > settings.connect_timeout:
                reason = f"not connected within {settings.connect_timeout:.0f} s"
                break
            if any(t.readyState == "ended" for t in session.tracks):
                reason = "camera removed"
                break
            pump = session.pump
            if pump is not None:
                if pump.ended.is_set():
                    reason = "microphone track ended"
                    break
                if now - session.opened > settings.talk_max_seconds:
                    reason = f"talk time limit ({settings.talk_max_seconds / 60:.0f} min)"
                    break
                heard = max(pump.last_audio_at, session.connected_at or now)
                if now - heard > settings.talk_idle_seconds:
                    reason = f"no audio for {settings.talk_idle_seconds:.0f} s"
                    break
            session.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.changed.wait(), timeout=1.0)
        await self._end(session, reason)

    async def _end(self, session: _Session, reason: str) -> None:
        """Tear one session down; concurrent and repeated calls wait for the first."""
        if session.closing is not None:
            await asyncio.shield(session.closing)
            return
        session.closing = asyncio.get_running_loop().create_future()
        try:
            self._sessions.pop(session.id, None)
            if session.kind == "talk":
                self._floors.release(str(session.camera.camera_id), session.id)
                if self._on_talker is not None and self.floor(session.camera.camera_id) is None:
                    self._on_talker(session.camera.camera_id, None)
            watcher = session.watcher
            if watcher is not None and watcher is not asyncio.current_task():
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            detail: dict[str, object] = {
                "reason": reason,
                "duration_s": round(time.monotonic() - session.opened, 1),
            }
            if session.pump is not None:
                await session.pump.close()
                detail["packets"] = session.pump.packets_sent
            await _discard(session.pc, session.tracks)
            if session.lease is not None:
                session.lease.release()
            action = "live.view.stop" if session.kind == "view" else "live.talk.stop"
            try:
                await self._audit(session, action, detail)
            except Exception:
                # The session is over either way; a lost audit row must be visible.
                log.exception("could not audit the end of a session", extra={"action": action})
            log.info(
                "%s session closed",
                session.kind,
                extra={"camera": session.camera.camera_id, "reason": reason},
            )
        finally:
            session.closing.set_result(None)

    async def _audit(self, session: _Session, action: str, detail: dict[str, object]) -> None:
        async with self._db.transaction() as db_session:
            await record(
                db_session,
                session.principal,
                action,
                object_type="camera",
                object_id=session.camera.camera_id,
                unit_code=session.camera.unit_code,
                detail={"session": session.id[:8], **detail},
            )


def _capabilities(kind: str, mime_types: tuple[str, ...]) -> list[RTCRtpCodecCapability]:
    codecs = RTCRtpSender.getCapabilities(kind).codecs
    ordered: list[RTCRtpCodecCapability] = []
    for mime in mime_types:
        ordered.extend(c for c in codecs if c.mimeType.lower() == mime.lower())
    return ordered


def _negotiated_codec(sdp: str) -> str | None:
    """The first audio codec of an answer (the one the browser will send)."""
    in_audio = False
    for line in sdp.splitlines():
        if line.startswith("m="):
            in_audio = line.startswith("m=audio")
        elif in_audio and line.startswith("a=rtpmap:"):
            return line.split(" ", 1)[1].split("/")[0]
    return None


async def _discard(pc: RTCPeerConnection, tracks: list[MediaStreamTrack]) -> None:
    for track in tracks:
        track.stop()
    await pc.close()
