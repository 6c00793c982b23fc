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
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from camera_registry._errors import (
    BackchannelUnavailableError,
    CameraAuthError,
    CameraConnectionError,
    CameraError,
    CameraTimeoutError,
    MalformedMediaError,
    RtspStatusError,
)
from camera_registry._hub import StreamHub
from camera_registry._rtsp_client import RtspClient
from media import MediaFrame

__all__ = ["BACKOFF_STEPS", "CameraIngest", "IngestEvent", "describe_error"]

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
        self.sessions = 0  # sessions that reached PLAY

    @property
    def client(self) -> RtspClient | None:
        """The RTSP session while online, else None."""
        return self._client

    @property
    def online(self) -> bool:
        return self.state is not None and self.state.online

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
        client, self._client = self._client, None
        if client is not None:
            await client.close()

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
        self.hub.note_gap()
        self._emit(True, message)

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
            self.sessions += 1
            frames_before = self.hub.stats().frames
            self.hub.discontinuity()
            self.hub.set_tracks(client.tracks)
            self._emit(True, "connected")
            reason = await self._watch(client)
            gaps = client.gaps
            self._client = None
            await client.close()
            self.hub.note_gap(gaps)
            if self.hub.stats().frames > frames_before:
                attempt = 0  # the session delivered media; start the backoff over
            delay = self._delay(attempt)
            attempt += 1
            self._emit(False, reason, retry_in=delay)
            await asyncio.sleep(delay)

    async def _watch(self, client: RtspClient) -> str:
        """Wait until the session ends or stalls; the reason it went offline."""
        check = min(1.0, self._stall_timeout / 4)
        closed = asyncio.ensure_future(client.wait_closed())
        try:
            while True:
                done, _ = await asyncio.wait({closed}, timeout=check)
                if done:
                    error = closed.result()
                    return describe_error(error) if error else "session closed"
                silent = time.monotonic() - client.last_media_at
                if silent > self._stall_timeout:
                    return f"stalled: no media for {silent:.0f} s"
        finally:
            closed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await closed
