"""StreamHub: one per camera, fans the RTSP session's frames out to every consumer.

- Keeps the frames since the last video keyframe (the current GOP) so a new subscriber
  (a WebRTC viewer, the recorder) starts at a keyframe immediately instead of waiting
  for the camera's next IDR.
- Every subscriber has a bounded queue (frames and bytes).  A subscriber that falls
  behind is cut back: its queue is emptied and it resumes at the next keyframe, counted
  in ``cutbacks``.  :meth:`StreamHub.publish` never blocks and never waits for anyone.
- Memory is bounded: queues by their limits, the GOP cache by ``gop_max_bytes`` (a
  camera with an absurdly long GOP simply gets no cache until its next keyframe).

``publish`` is synchronous and called from the RTSP client's ``data_received``; readers
are woken through a future each, created only while they wait.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable

from camera_registry._errors import StreamClosedError
from camera_registry._stats import HubStats, LateFrames, RateMeter
from media import MediaFrame, TrackInfo

__all__ = ["HubStats", "StreamHub", "Subscription"]

ALL_KINDS = frozenset({"video", "audio", "talk"})


class Subscription:
    """A consumer's view of a hub: ``async for frame in sub`` or ``await sub.get()``."""

    __slots__ = (
        "_bytes",
        "_closed",
        "_hub",
        "_queue",
        "_waiter",
        "_waiting_key",
        "cutbacks",
        "dropped",
        "kinds",
        "max_bytes",
        "max_frames",
    )

    def __init__(
        self, hub: StreamHub, kinds: frozenset[str], max_frames: int, max_bytes: int
    ) -> None:
        self._hub = hub
        self.kinds = kinds
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self._queue: deque[MediaFrame] = deque()
        self._bytes = 0
        self._waiter: asyncio.Future[None] | None = None
        self._waiting_key = "video" in kinds
        self._closed = False
        self.cutbacks = 0
        self.dropped = 0

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def queued_bytes(self) -> int:
        """Payload bytes waiting in this subscription's queue."""
        return self._bytes

    @property
    def queued(self) -> int:
        return len(self._queue)

    def _offer(self, frame: MediaFrame) -> None:
        if frame.kind not in self.kinds:
            return
        if self._waiting_key:
            if not (frame.keyframe and frame.kind == "video"):
                return
            self._waiting_key = False
        queue = self._queue
        if len(queue) >= self.max_frames or self._bytes + len(frame.data) > self.max_bytes:
            # Too slow: start over at the next keyframe rather than stall the reader or
            # grow memory; the keyframe itself may be this frame.
            lost = len(queue)
            self.cutbacks += 1
            self.dropped += lost
            queue.clear()
            self._bytes = 0
            self._hub._count_cutback(lost)
            if not (frame.keyframe and frame.kind == "video") and "video" in self.kinds:
                self._waiting_key = True
                return
        queue.append(frame)
        self._bytes += len(frame.data)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _backlog(self, frames: Iterable[MediaFrame]) -> None:
        for frame in frames:
            self._offer(frame)

    def get_nowait(self) -> MediaFrame | None:
        """The next queued frame, or None; raises :class:`StreamClosedError` once closed."""
        if self._queue:
            frame = self._queue.popleft()
            self._bytes -= len(frame.data)
            return frame
        if self._closed:
            raise StreamClosedError("the camera stream subscription is closed")
        return None

    async def get(self) -> MediaFrame:
        """Wait for the next frame; raises :class:`StreamClosedError` once closed."""
        while True:
            frame = self.get_nowait()
            if frame is not None:
                return frame
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> MediaFrame:
        try:
            return await self.get()
        except StreamClosedError:
            raise StopAsyncIteration from None

    def close(self) -> None:
        """Stop receiving; idempotent.  Queued frames can still be read."""
        if self._closed:
            return
        self._closed = True
        self._hub._remove(self)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class StreamHub:
    """Fan-out of one camera's frames to any number of bounded subscribers."""

    def __init__(
        self,
        camera_id: str,
        *,
        gop_max_bytes: int = 16 * 1024 * 1024,
        stats_window: float = 5.0,
    ) -> None:
        self.camera_id = camera_id
        self.tracks: tuple[TrackInfo, ...] = ()
        self._subs: list[Subscription] = []
        self._gop: list[MediaFrame] = []
        self._gop_bytes = 0
        self._gop_valid = False
        self._gop_max_bytes = gop_max_bytes
        self._meter = RateMeter(stats_window)
        self._late = LateFrames()
        self._frames = 0
        self._audio_frames = 0
        self._keyframes = 0
        self._bytes = 0
        self._cutbacks = 0
        self._dropped = 0
        self._last_arrival: float | None = None
        self._closed = False
        self.close_reason: str | None = None

    def set_tracks(self, tracks: Iterable[TrackInfo]) -> None:
        """The tracks of the current RTSP session (codecs, sprop …) for consumers."""
        self.tracks = tuple(tracks)

    def discontinuity(self) -> None:
        """A new session or SSRC: the cached GOP no longer matches what comes next."""
        self._gop = []
        self._gop_bytes = 0
        self._gop_valid = False

    @property
    def keyframe(self) -> MediaFrame | None:
        """The latest keyframe of the current session (the head of the cached GOP)."""
        return self._gop[0] if self._gop_valid and self._gop else None

    def publish(self, frame: MediaFrame) -> None:
        """Hand a frame to every subscriber; never blocks.  Called on the event loop."""
        if self._closed:
            return
        size = len(frame.data)
        now = frame.arrival
        is_video = frame.kind == "video"
        if is_video or frame.kind == "audio":  # "talk" is what we sent, not received
            self._last_arrival = now
            self._bytes += size
            self._meter.add(now, size, is_video)
            if is_video:
                self._frames += 1
                if frame.discontinuity:
                    self._late.reset()
                self._late.frame(now, frame.timestamp, frame.clock_rate)
            else:
                self._audio_frames += 1
        if is_video and frame.keyframe:
            self._keyframes += 1
            self._gop = [frame]
            self._gop_bytes = size
            self._gop_valid = True
        elif self._gop_valid:
            self._gop.append(frame)
            self._gop_bytes += size
            if self._gop_bytes > self._gop_max_bytes:
                self._gop = []
                self._gop_bytes = 0
                self._gop_valid = False
        for sub in self._subs:
            sub._offer(frame)

    def subscribe(
        self,
        kinds: Iterable[str] = ALL_KINDS,
        *,
        max_frames: int = 400,
        max_bytes: int = 24 * 1024 * 1024,
    ) -> Subscription:
        """A new subscriber; with video it starts at the cached keyframe when there is one."""
        if self._closed:
            raise StreamClosedError(f"the stream hub of camera {self.camera_id} is closed")
        wanted = frozenset(kinds)
        unknown = wanted - ALL_KINDS
        if unknown or not wanted:
            raise ValueError(f"subscription kinds must be among {sorted(ALL_KINDS)}: {kinds!r}")
        sub = Subscription(self, wanted, max_frames, max_bytes)
        if self._gop_valid and "video" in wanted:
            sub._backlog(self._gop)
        self._subs.append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def _count_cutback(self, dropped: int) -> None:
        self._cutbacks += 1
        self._dropped += dropped

    def stats(self) -> HubStats:
        now = time.monotonic()
        fps, bitrate = self._meter.rates(now)
        return HubStats(
            window=self._meter.window,
            fps=fps,
            bitrate=bitrate,
            frames=self._frames,
            audio_frames=self._audio_frames,
            keyframes=self._keyframes,
            bytes=self._bytes,
            late_frames=self._late.late,
            subscribers=len(self._subs),
            cutbacks=self._cutbacks,
            dropped=self._dropped,
            gop_frames=len(self._gop),
            gop_bytes=self._gop_bytes,
            last_frame_age=None if self._last_arrival is None else now - self._last_arrival,
        )

    def close(self, reason: str | None = None) -> None:
        """End every subscription; idempotent.  ``reason`` tells the consumers why (a
        recording names it as its stop reason)."""
        if self._closed:
            return
        self._closed = True
        self.close_reason = reason
        for sub in list(self._subs):
            sub.close()
        self._gop = []
        self._gop_bytes = 0
        self._gop_valid = False
