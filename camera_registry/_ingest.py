"""CameraIngest: owns one camera's RTSP session and StreamHub, and keeps them alive.

The supervisor task connects, publishes frames into the hub, and watches the session:
a lost connection, a refused password or a stream that stops sending media turns the
camera offline with a reason a person can act on, and it reconnects with backoff plus
jitter (about 1, 2, 5, 10, 20, 30, 60 s; reset once a session has delivered media).
The hub outlives sessions, so subscribers simply resume at the next keyframe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from camera_registry._errors import (
    BackchannelUnavailableError,
    CameraAuthError,
    CameraConnectionError,
    CameraError,
    CameraTimeoutError,
    MalformedMediaError,
    RtspStatusError,
)
from camera_registry._health import decode_keyframe
from camera_registry._hub import StreamHub
from camera_registry._rtsp_client import RtspClient
from camera_registry._stats import GapEvent, IngestStats
from media import MediaFrame, TrackInfo

__all__ = ["BACKOFF_STEPS", "CameraIngest", "IngestEvent", "describe_error", "stall_reason"]

log = logging.getLogger("gateway.cameras")

BACKOFF_STEPS: tuple[float, ...] = (1, 2, 5, 10, 20, 30, 60)


@dataclass(frozen=True, slots=True)
class IngestEvent:
    """A state change of one camera's ingest, for health, UI and metrics."""

    camera_id: str
    online: bool
    reason: str  # "connected", "wrong password", "stalled: no media for 10 s" …
    at: float  # time.time()
    listen_only_reason: str | None = None  # why talk-back is unavailable, None if it works
    retry_in: float | None = None  # seconds until the next attempt when offline


def describe_error(exc: CameraError) -> str:
    """A short reason for an offline event."""
    if isinstance(exc, CameraAuthError):
        return "wrong password" if "wrong" in exc.message else exc.message
    if isinstance(exc, CameraConnectionError) and "refused" in exc.message:
        return "connection refused"
    if isinstance(exc, CameraTimeoutError):
        return f"timeout: {exc.message}"
    if isinstance(exc, MalformedMediaError):
        return f"malformed response: {exc.message}"
    if isinstance(exc, RtspStatusError):
        return f"camera answered {exc.status} {exc.reason} to {exc.method}"
    return exc.message


class CameraIngest:
    """Supervisor for one camera: ``await start()`` returns at once; ``await close()``."""

    def __init__(
        self,
        camera_id: str,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        hub: StreamHub | None = None,
        on_event: Callable[[IngestEvent], None] | None = None,
        backchannel: bool = True,
        stall_timeout: float = 10.0,
        request_timeout: float = 10.0,
        backoff: Sequence[float] = BACKOFF_STEPS,
        rng: random.Random | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.url = url
        self.hub = hub if hub is not None else StreamHub(camera_id)
        self._username = username
        self._password = password
        self._on_event = on_event
        self._backchannel = backchannel
        self._stall_timeout = stall_timeout
        self._request_timeout = request_timeout
        self._backoff = tuple(backoff)
        self._rng = rng or random.Random()
        self._task: asyncio.Task[None] | None = None
        self._client: RtspClient | None = None
        self.state: IngestEvent | None = None
        self._past = IngestStats()  # counters of the sessions that ended
        self._last_gap: GapEvent | None = None
        self._gap_logged = 0.0

    @property
    def client(self) -> RtspClient | None:
        """The RTSP session while online, else None."""
        return self._client

    @property
    def online(self) -> bool:
        return self.state is not None and self.state.online

    @property
    def sessions(self) -> int:
        """RTSP sessions that reached PLAY since the camera was added."""
        return self.stats().sessions

    def stats(self) -> IngestStats:
        """Every session's counters so far, the running one included."""
        client = self._client
        total = self._past.plus(client.stats()) if client is not None else self._past
        return replace(total, last_gap=self._last_gap)

    async def start(self) -> None:
        """Start the supervisor task; idempotent."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"ingest {self.camera_id}")

    async def close(self) -> None:
        """Stop the task and the session (TEARDOWN); idempotent, leaves no task behind."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client = self._retire()
        if client is not None:
            await client.close()

    def _retire(self) -> RtspClient | None:
        """Drop the running session, keeping its counters in the totals."""
        client, self._client = self._client, None
        if client is not None:
            self._past = self._past.plus(client.stats())
        return client

    def send_talk(self, g711: bytes) -> None:
        """Send talk audio (the backchannel codec, G.711) and publish it as the talk track."""
        client = self._client
        if client is None or client.backchannel is None:
            reason = client.listen_only_reason if client else "camera is offline"
            raise BackchannelUnavailableError(f"cannot talk to camera {self.camera_id}: {reason}")
        ts = client.send_backchannel(g711)
        codec = client.backchannel.codec
        self.hub.publish(MediaFrame("talk", codec, 8000, ts, False, g711, time.monotonic()))

    def _emit(self, online: bool, reason: str, *, retry_in: float | None = None) -> None:
        client = self._client
        event = IngestEvent(
            self.camera_id,
            online,
            reason,
            time.time(),
            client.listen_only_reason if client is not None and online else None,
            retry_in,
        )
        self.state = event
        if self._on_event is not None:
            self._on_event(event)

    def _delay(self, attempt: int) -> float:
        base = self._backoff[min(attempt, len(self._backoff) - 1)]
        return base * self._rng.uniform(0.8, 1.2)

    def _client_event(self, message: str) -> None:
        # SSRC change inside a session: the camera restarted its encoder or rebooted.
        self.hub.discontinuity()
        self._gap(message, 0)
        state = self.state
        # Only a camera that shows a picture says so while online, and the same news at most
        # once per 10 s: a hostile one can change its SSRC with every packet.
        if (
            state is not None
            and state.online
            and (state.reason != message or time.time() - state.at >= 10.0)
        ):
            self._emit(True, message)

    def _client_gap(self, track: TrackInfo, packets: int) -> None:
        self._gap(
            f"{packets} RTP packet{'s' if packets != 1 else ''} missing from the {track.kind} "
            "stream: dropped by the camera or its server (nothing is lost in transit over "
            "TCP), so the frames until the next keyframe are lost",
            packets,
        )

    def _gap(self, reason: str, packets: int) -> None:
        now = time.time()
        self._last_gap = GapEvent(now, packets, reason)
        if now - self._gap_logged >= 10.0:  # a lossy camera must not flood the log
            self._gap_logged = now
            log.warning("camera stream gap", extra={"camera": self.camera_id, "reason": reason})

    async def _run(self) -> None:
        attempt = 0
        while True:
            client = RtspClient(
                self.url,
                on_frame=self.hub.publish,
                username=self._username,
                password=self._password,
                backchannel=self._backchannel,
                request_timeout=self._request_timeout,
                on_event=self._client_event,
                on_gap=self._client_gap,
            )
            self._client = client
            try:
                await client.start()
            except CameraError as exc:
                self._client = None
                delay = self._delay(attempt)
                attempt += 1
                self._emit(False, describe_error(exc), retry_in=delay)
                await asyncio.sleep(delay)
                continue
            frames_before = self.hub.stats().frames
            self.hub.discontinuity()
            self.hub.set_tracks(client.tracks)
            reason = await self._watch(client)
            self._retire()
            await client.close()
            if self.hub.stats().frames > frames_before:
                attempt = 0  # the session delivered media; start the backoff over
            delay = self._delay(attempt)
            attempt += 1
            self._emit(False, reason, retry_in=delay)
            await asyncio.sleep(delay)

    async def _watch(self, client: RtspClient) -> str:
        """Wait until the session ends or stalls; the reason it went offline.

        The camera turns online with its first keyframe that decodes (H.264, strictly,
        on a worker thread), not at PLAY: a camera that answers RTSP but sends nothing
        that decodes stays offline, and after the stall timeout says why.
        """
        check = min(1.0, self._stall_timeout / 4)
        closed = asyncio.ensure_future(client.wait_closed())
        pictured = False
        probe: asyncio.Future[bool] | None = None
        probed: MediaFrame | None = None
        undecodable = 0
        try:
            while True:
                waiting: set[asyncio.Future[Any]] = {closed} if probe is None else {closed, probe}
                done, _ = await asyncio.wait(
                    waiting, timeout=check if pictured else 0.1, return_when="FIRST_COMPLETED"
                )
                if closed in done:
                    error = closed.result()
                    return describe_error(error) if error else "session closed"
                if probe is not None and probe.done():
                    if probe.result():
                        pictured = True
                        self._emit(True, "connected")
                    else:
                        undecodable += 1
                    probe = None
                if not pictured and probe is None and client.has_picture:
                    keyframe = self.hub.keyframe
                    if not self._needs_decode(client):
                        pictured = True
                        self._emit(True, "connected")
                    elif keyframe is not None and keyframe is not probed:
                        probed = keyframe
                        probe = asyncio.ensure_future(asyncio.to_thread(_decodes, keyframe.data))
                now = time.monotonic()
                silent = now - client.last_media_at
                if not pictured and client.has_picture:
                    silent = now - client.played_at  # whole frames, none that decodes
                if silent > self._stall_timeout:
                    stats = client.stats()
                    if undecodable:
                        stats = replace(stats, undecodable_keyframes=undecodable)
                    reason = stall_reason(silent, now - client.last_packet_at, stats)
                    log.warning(
                        "camera stalled", extra={"camera": self.camera_id, "reason": reason}
                    )
                    return reason
        finally:
            for future in (closed, probe):
                if future is not None:
                    future.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await future

    @staticmethod
    def _needs_decode(client: RtspClient) -> bool:
        """Whether the first picture must prove it decodes (H.264 video; else a whole frame)."""
        return any(t.kind == "video" and t.codec == "H264" for t in client.tracks)


def _decodes(keyframe: bytes) -> bool:
    try:
        decode_keyframe(keyframe, strict=True)
    except MalformedMediaError:
        return False
    return True


def stall_reason(silent: float, since_packet: float, stats: IngestStats) -> str:
    """Why a session that reached PLAY shows no picture: silence, or data that never decodes."""
    if since_packet > silent / 2:
        return f"stalled: no media for {silent:.0f} s"
    parts = []
    if stats.undecodable_keyframes:
        parts.append(f"{stats.undecodable_keyframes} keyframes that do not decode")
    if stats.oversized_frames:
        parts.append(f"{stats.oversized_frames} access units over the size bound")
    if stats.broken_frames - stats.oversized_frames > 0:
        parts.append(f"{stats.broken_frames - stats.oversized_frames} broken access units")
    if stats.malformed:
        parts.append(f"{stats.malformed} packets that are not RTP")
    detail = ", ".join(parts) or "no access unit ever ends"
    return (
        f"stalled: no decodable picture for {silent:.0f} s although the camera sends data "
        f"({detail})"
    )
