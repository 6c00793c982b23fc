"""A paced playback of recorded segments: what a GB/T 28181 ``s=Playback``/``s=Download``
session sends, steered by MANSRTSP (pause, resume, seek, scale).

:class:`RecordedPlayback` looks to the media sender like a camera hub's subscription —
``await get()`` returns the next :class:`media.MediaFrame` when it is due and raises
:class:`camera_registry.StreamClosedError` at the end of the range — so the live sender
(PS mux → RTP over UDP/TCP) sends recordings without knowing where frames come from.

Frame timestamps are the position in the played range (90 kHz video, 8 kHz audio; plus
:data:`TIMESTAMP_BASE`), so
a seek shows as a jump of the timestamps (``discontinuity`` on the first frame after
it), as a platform's player expects of a device.  Reading runs in worker threads, a
bounded number of frames ahead; the event loop only waits and hands frames out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

from camera_registry import StreamClosedError
from media import MediaFrame
from uplink._playback_clock import PlaybackClock, PlaybackCommand
from uplink._recorded import RecordedFrame, SegmentRef, read_segment

__all__ = ["RecordedPlayback"]

log = logging.getLogger("gateway.uplink.playback")

#: Timestamps are this many seconds plus the position: a playback may start at the
#: keyframe before the range, and timestamps are never negative.
TIMESTAMP_BASE = 3600.0
BATCH = 48  # frames read per hand-off from the reading thread
AHEAD = 4  # batches buffered ahead of the clock


def _take(frames: Iterator[RecordedFrame], count: int) -> list[RecordedFrame]:
    out: list[RecordedFrame] = []
    for item in frames:
        out.append(item)
        if len(out) >= count:
            break
    return out


class RecordedPlayback:
    """Frames of ``segments`` between the Unix times ``start`` and ``end``, paced."""

    def __init__(
        self,
        segments: Sequence[SegmentRef],
        start: float,
        end: float,
        *,
        scale: float = 1.0,
        audio: bool = True,
    ) -> None:
        if end <= start:
            raise ValueError("a playback range must end after it starts")
        self.segments = sorted(
            (s for s in segments if s.end > start and s.start < end), key=lambda s: s.start
        )
        self.start = start
        self.end = end
        self.duration = end - start
        self.audio = audio
        self._clock = PlaybackClock(time.monotonic(), scale=scale)
        self._queue: asyncio.Queue[list[RecordedFrame] | None] = asyncio.Queue(AHEAD)
        self._reader: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()
        self._batch: list[RecordedFrame] = []
        self._changed = asyncio.Event()
        self._reanchor = True  # the next frame sets the clock (start, after a seek)
        self._discontinuity = False
        self._closed = False
        self.finished = False  # the end of the range was reached (not closed early)
        self.frames_sent = 0

    # ------------------------------------------------------------------ control
    @property
    def paused(self) -> bool:
        return self._clock.paused

    @property
    def scale(self) -> float:
        return self._clock.scale

    @property
    def position(self) -> float:
        """Seconds into the played range."""
        return min(self.duration, self._clock.position(time.monotonic()))

    def control(self, command: PlaybackCommand) -> None:
        """Apply a checked MANSRTSP command (see :func:`uplink._playback_clock.interpret`)."""
        now = time.monotonic()
        if command.teardown:
            self._closed = True
        if command.pause:
            self._clock.pause(now)
        if command.scale is not None:
            self._clock.set_scale(command.scale, now)
        if command.seek is not None:
            self._seek(command.seek, now)
        if command.resume:
            self._clock.resume(now)
        self._changed.set()

    def _seek(self, position: float, now: float) -> None:
        self._clock.seek(position, now)
        self._stop_reader()
        self._queue = asyncio.Queue(AHEAD)
        self._batch = []
        self._reanchor = True
        self._discontinuity = True
        self._start_reader(position)

    # ------------------------------------------------------------------ reading
    def _start_reader(self, position: float) -> None:
        self._reader = asyncio.create_task(
            self._read(position, self._queue), name="playback reader"
        )

    def _stop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            self._stopping.add(reader)  # held until it has ended
            reader.add_done_callback(self._stopping.discard)

    async def _read(
        self, position: float, queue: asyncio.Queue[list[RecordedFrame] | None]
    ) -> None:
        """Frames from ``position`` on: from the last keyframe at or before it (a decoder
        needs one), audio from the position itself."""
        pending: list[RecordedFrame] = []  # the GOP before the position, held back
        last: dict[str, float] = {}  # the last media time of each kind
        started = False
        try:
            for segment in self.segments:
                if segment.end - self.start <= position:
                    continue
                # Not closed explicitly: a cancelled read may still run in its thread; the
                # file closes when the last reference to the generator goes.
                frames = read_segment(segment.path, audio=self.audio)
                base = segment.start - self.start
                while True:
                    batch = await asyncio.to_thread(_take, frames, BATCH)
                    if not batch:
                        break
                    out: list[RecordedFrame] = []
                    for item in batch:
                        media = base + item.offset
                        # segments' wall-clock starts and their first frames may
                        # disagree by a few ms: never let a track's time step back
                        kind = item.frame.kind
                        if media <= last.get(kind, -1e9):
                            media = last[kind] + 0.001
                        last[kind] = media
                        if media > self.duration:
                            await queue.put(out)
                            await queue.put(None)
                            return
                        placed = RecordedFrame(media, item.frame)
                        if started:
                            out.append(placed)
                            continue
                        video = item.frame.kind == "video"
                        if media < position:
                            if video and item.frame.keyframe:
                                pending = [placed]
                            elif video and pending:
                                pending.append(placed)
                            continue
                        started = True
                        if video and item.frame.keyframe:
                            pending = []
                        out.extend(pending)
                        out.append(placed)
                        pending = []
                    if out:
                        await queue.put(out)
            await queue.put(None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("playback could not read the recording: %s", exc)
            await queue.put(None)

    # ------------------------------------------------------------------ sending
    async def get(self) -> MediaFrame:
        """The next frame when it is due; :class:`StreamClosedError` at the end."""
        if self._reader is None and not self._closed and not self.finished:
            self._start_reader(0.0)
        while True:
            if self._closed or self.finished:
                raise StreamClosedError("the played range is over" if self.finished else "closed")
            if not self._batch:
                queue = self._queue
                batch = await queue.get()
                if queue is not self._queue:
                    continue  # a seek replaced the reader while we waited
                if batch is None:
                    self.finished = True
                    continue
                self._batch = batch
                continue
            item = self._batch[0]
            now = time.monotonic()
            if self._reanchor:
                self._clock.seek(item.offset, now)  # start at the keyframe, not mid-GOP
                self._reanchor = False
            wait = self._clock.due_in(item.offset, now)
            if wait > 0:
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), None if math.isinf(wait) else wait)
                continue
            self._batch.pop(0)
            frame = replace(
                item.frame,
                timestamp=round((TIMESTAMP_BASE + item.offset) * item.frame.clock_rate),
                arrival=now,
                discontinuity=self._discontinuity,
            )
            self._discontinuity = False
            self.frames_sent += 1
            return frame

    def __aiter__(self) -> RecordedPlayback:
        return self

    async def __anext__(self) -> MediaFrame:
        try:
            return await self.get()
        except StreamClosedError:
            raise StopAsyncIteration from None

    async def close(self) -> None:
        """Stop reading; idempotent.  ``get`` raises from now on."""
        self._closed = True
        self._changed.set()
        self._stop_reader()
        for task in list(self._stopping):
            with contextlib.suppress(asyncio.CancelledError):
                await task
