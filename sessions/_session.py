"""What every live session shares: one peer connection for one camera, from start to end.

A session kind (:class:`~sessions._view_session.ViewSession`,
:class:`~sessions._talk_session.TalkSession`, later the meeting endpoint) answers the
browser's offer with the helpers here, and :class:`PeerSession` does the rest the same way
for all of them: it audits the start, watches the connection, and ends the session — its
peer connection and tracks closed, whatever the kind holds given back, its end audited
with the reason and the duration.  :class:`~sessions.LiveSessions` admits, finds and ends
the sessions.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, Protocol

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
from core import Database, Principal, record
from sessions._errors import InvalidOfferError
from sessions._sdp import add_host_candidates
from sessions._settings import LiveSettings

__all__ = [
    "CameraRef",
    "HubSource",
    "PeerSession",
    "SessionAnswer",
    "SessionInfo",
    "answer_offer",
    "codec_preferences",
    "discard",
    "new_peer",
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


# ---------------------------------------------------------------- peer connections
def new_peer(settings: LiveSettings) -> RTCPeerConnection:
    """A peer connection with the configured ICE servers (none by default: offline LAN)."""
    servers = [
        RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
        for s in settings.ice_servers
    ]
    return RTCPeerConnection(RTCConfiguration(iceServers=servers))


async def answer_offer(pc: RTCPeerConnection, offer: str, settings: LiveSettings) -> str:
    """Answer ``offer`` on ``pc``: the complete answer SDP, with the advertised hosts."""
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        answer = await pc.createAnswer()
        assert answer is not None
        # aiortc gathers every candidate here (no trickle): the answer is complete.
        await pc.setLocalDescription(answer)
    except _NEGOTIATION_ERRORS as exc:
        raise InvalidOfferError(f"the SDP offer cannot be answered: {exc}") from None
    local = pc.localDescription
    return add_host_candidates(local.sdp, settings.advertise_hosts)


def codec_preferences(kind: str, mime_types: tuple[str, ...]) -> list[RTCRtpCodecCapability]:
    """aiortc's codecs of ``kind`` with these MIME types, in this order."""
    codecs = RTCRtpSender.getCapabilities(kind).codecs
    ordered: list[RTCRtpCodecCapability] = []
    for mime in mime_types:
        ordered.extend(c for c in codecs if c.mimeType.lower() == mime.lower())
    return ordered


async def discard(pc: RTCPeerConnection, tracks: Iterable[MediaStreamTrack]) -> None:
    """Stop the tracks and close the peer connection."""
    for track in tracks:
        track.stop()
    await pc.close()


# ------------------------------------------------------------------------ sessions
class PeerSession(abc.ABC):
    """One browser's peer connection for one camera, from its audited start to its
    audited end.

    A kind names itself in ``kind`` (its audit actions are ``live.<kind>.start`` and
    ``live.<kind>.stop``), says what its start records (:meth:`_start_detail`), when it
    must end on its own (:meth:`_end_reason`), what it gives back to others at once when
    it ends (:meth:`_leave`) and what it closes (:meth:`_close`).
    """

    kind: ClassVar[str]

    def __init__(
        self,
        session_id: str,
        camera: CameraRef,
        principal: Principal,
        pc: RTCPeerConnection,
        *,
        db: Database,
        settings: LiveSettings,
        tracks: Iterable[MediaStreamTrack] = (),
    ) -> None:
        self.id = session_id
        self.camera = camera
        self.principal = principal
        self.pc = pc
        self.tracks: list[MediaStreamTrack] = list(tracks)  # outgoing, stopped at the end
        self.settings = settings
        self.opened = time.monotonic()
        self.opened_at = time.time()
        self.connected_at: float | None = None
        self._disconnected_at: float | None = None  # since when ICE says "disconnected"
        self._db = db
        self._changed = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None
        self._closing: asyncio.Future[None] | None = None
        self._on_end: Callable[[PeerSession], None] | None = None

    def info(self) -> SessionInfo:
        return SessionInfo(
            self.id,
            self.kind,
            self.camera.camera_id,
            self.principal.actor,
            self.opened_at,
            self.pc.connectionState,
        )

    # ------------------------------------------------------------------ lifetime
    async def start(self, on_end: Callable[[PeerSession], None]) -> None:
        """Audit the start, then watch the session until it ends; ``on_end`` is told
        first thing when it does.

        A session whose start cannot be audited does not start: what it holds is closed
        and the error raised.
        """
        try:
            await self._audit("start", self._start_detail())
        except BaseException:
            await self._close()
            raise
        self._on_end = on_end
        self.pc.on("connectionstatechange", self._changed.set)
        self._watcher = asyncio.create_task(self._watch(), name=f"session {self.id}")
        log.info(
            "%s session opened",
            self.kind,
            extra={"camera": self.camera.camera_id, "actor": self.principal.actor},
        )

    @property
    def closing(self) -> asyncio.Future[None] | None:
        """Done once the session is torn down (None before :meth:`end` is called)."""
        return self._closing

    async def end(self, reason: str) -> None:
        """Tear the session down; concurrent and repeated calls wait for the first."""
        if self._closing is not None:
            await asyncio.shield(self._closing)
            return
        self._closing = asyncio.get_running_loop().create_future()
        try:
            if self._on_end is not None:
                self._on_end(self)
            self._leave()
            watcher = self._watcher
            if watcher is not None and watcher is not asyncio.current_task():
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            detail: dict[str, object] = {
                "reason": reason,
                "duration_s": round(time.monotonic() - self.opened, 1),
            }
            detail.update(await self._close())
            try:
                await self._audit("stop", detail)
            except Exception:
                # The session is over either way; a lost audit row must be visible.
                log.exception(
                    "could not audit the end of a session",
                    extra={"action": f"live.{self.kind}.stop"},
                )
            log.info(
                "%s session closed",
                self.kind,
                extra={"camera": self.camera.camera_id, "reason": reason},
            )
        finally:
            self._closing.set_result(None)

    async def _watch(self) -> None:
        while True:
            now = time.monotonic()
            if self.pc.connectionState == "connected" and self.connected_at is None:
                self.connected_at = now
            reason = self._end_reason(now)
            if reason is not None:
                await self.end(reason)
                return
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=1.0)

    async def _audit(self, event: str, detail: dict[str, object]) -> None:
        async with self._db.transaction() as db_session:
            await record(
                db_session,
                self.principal,
                f"live.{self.kind}.{event}",
                object_type="camera",
                object_id=self.camera.camera_id,
                unit_code=self.camera.unit_code,
                detail={"session": self.id[:8], **detail},
            )

    # -------------------------------------------------------------- what kinds add
    @abc.abstractmethod
    def _start_detail(self) -> dict[str, object]:
        """What the audit row of the start records besides the session id."""

    def _end_reason(self, now: float) -> str | None:
        """Why the session must end now (checked every second and on every connection
        state change), or None; kinds add their own reasons after these."""
        state = self.pc.connectionState
        if state in ("failed", "closed"):
            return f"disconnected ({state})"
        # A peer that went away (tab closed, network gone) without hanging up: ICE consent
        # checks stop being answered and the state turns "disconnected"; a short grace
        # lets a brief network hiccup recover before the session and its place are freed.
        if state == "disconnected":
            if self._disconnected_at is None:
                self._disconnected_at = now
            elif now - self._disconnected_at > self.settings.disconnect_grace:
                return f"peer gone (disconnected for {self.settings.disconnect_grace:.0f} s)"
        else:
            self._disconnected_at = None
        timeout = self.settings.connect_timeout
        if self.connected_at is None and now - self.opened > timeout:
            return f"not connected within {timeout:.0f} s"
        if any(t.readyState == "ended" for t in self.tracks):
            return "camera removed"  # the hub closed under an outgoing track
        return None

    def _leave(self) -> None:  # noqa: B027 (a hook: most kinds hold nothing others wait for)
        """Give back at once, before any await, what other sessions may be waiting for."""

    async def _close(self) -> dict[str, object]:
        """Close the peer connection and what the kind holds; returns what the audit row
        of the end records besides reason and duration."""
        await discard(self.pc, self.tracks)
        return {}
