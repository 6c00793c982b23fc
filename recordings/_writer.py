"""RecordingWriter: subscribes to a camera's hub and writes a recording, segment by segment.

The event loop only reads the hub, timestamps frames and decides about gaps; everything
that touches files or encodes (PyAV muxing, AAC, hashing, fsync, the signed manifest) runs
in the writer's own worker thread, handed batches of frames through a one-thread executor
(FIFO, so order is kept).  When the disk cannot keep up, the batches in flight grow: past
``max_inflight`` the writer reports back-pressure (an event and a counter) and stops
reading until the oldest batch is written; the hub then cuts the subscription back to the
next keyframe, and the frames it dropped become a gap record with that reason — never a
silent hole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from camera_registry import IngestEvent, StreamClosedError, StreamHub
from media import MediaFrame

from ._manifest import Gap, Manifest, SegmentEntry, TalkSpan
from ._mux import SegmentMuxer, TrackPlan
from ._store import RecordingFiles

__all__ = ["RecordingWriter", "WriterEvent", "WriterStats"]

log = logging.getLogger(__name__)

TALK_IDLE = 2.0  # seconds without talk audio that end a talk span


@dataclass(frozen=True, slots=True)
class WriterEvent:
    recording_id: str
    kind: str  # "segment", "gap", "backpressure", "error", "stopped"
    detail: str
    segment: SegmentEntry | None = None
    gap: Gap | None = None


@dataclass
class WriterStats:
    frames: int = 0
    segments: int = 0
    bytes: int = 0
    gaps: int = 0
    backpressure: int = 0  # times the disk did not keep up
    frames_lost: int = 0  # frames the hub dropped while the writer was behind


def _utc(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, UTC)


Command = tuple[Any, ...]


class _Worker:
    """The thread side: owns the open segment and the recording's files."""

    def __init__(self, files: RecordingFiles, segment_seconds: float) -> None:
        self.files = files
        self.segment_seconds = segment_seconds
        self.plan = TrackPlan(audio_codec=None, talk=False)
        self.muxer: SegmentMuxer | None = None

    def run(self, commands: list[Command]) -> list[SegmentEntry | Gap | Manifest]:
        out: list[SegmentEntry | Gap | Manifest] = []
        for command in commands:
            kind = command[0]
            if kind == "frame":
                self._frame(command[1], command[2], command[3], out)
            elif kind == "plan":
                self.plan = command[1]
            elif kind == "cut":
                self._cut(out)
            elif kind == "gap":
                self.files.add_gap(command[1])
                out.append(command[1])
            elif kind == "talk":
                self.files.add_talk(command[1])
            elif kind == "finish":
                self._cut(out)
                out.append(self.files.finish(command[1], command[2]))
        return out

    def _frame(self, frame: MediaFrame, wall: float, talker: str | None, out: list[Any]) -> None:
        muxer = self.muxer
        is_key = frame.kind == "video" and frame.keyframe
        if muxer is not None and is_key and muxer.offset(frame) >= self.segment_seconds:
            self._cut(out)
            muxer = None
        if muxer is None:
            if not is_key:
                return
            start = _utc(wall)
            muxer = SegmentMuxer(
                self.files.part_path(self.files.next_index, start), start, self.plan
            )
            self.muxer = muxer
        muxer.write(frame, wall, talker)

    def _cut(self, out: list[Any]) -> None:
        muxer, self.muxer = self.muxer, None
        if muxer is None:
            return
        end = muxer.close()
        if not muxer.video_frames:
            muxer.path.unlink(missing_ok=True)
            return
        out.append(self.files.commit_segment(muxer.path, end, talkers=tuple(sorted(muxer.talkers))))


class RecordingWriter:
    """Records one camera's hub into one recording directory until stopped."""

    def __init__(
        self,
        hub: StreamHub,
        files: RecordingFiles,
        *,
        segment_seconds: float = 60.0,
        gap_after: float = 3.0,
        state: Callable[[], IngestEvent | None] | None = None,
        on_event: Callable[[WriterEvent], None] | None = None,
        max_inflight: int = 32,
        batch_frames: int = 16,
        queue_frames: int = 2000,
        queue_bytes: int = 48 << 20,
        opening_gap: Gap | None = None,
    ) -> None:
        """``opening_gap``: a gap to record first (the camera was taken over from another
        gateway process, which stopped writing at its start)."""
        if segment_seconds <= 0 or gap_after <= 0:
            raise ValueError("segment length and gap threshold must be positive seconds")
        self.hub = hub
        self.recording_id = files.manifest.recording_id
        self.stats = WriterStats()
        self.manifest: Manifest = files.manifest
        self._worker = _Worker(files, segment_seconds)
        self._gap_after = gap_after
        self._state = state
        self._on_event = on_event
        self._max_inflight = max_inflight
        self._batch_frames = batch_frames
        self._queue_limits = (queue_frames, queue_bytes)
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop_reason: str | None = None
        self._inflight: deque[asyncio.Future[list[SegmentEntry | Gap | Manifest]]] = deque()
        self._inflight_frames: deque[tuple[int, int]] = deque()  # per batch: frames, bytes
        self._batch: list[Command] = []
        self._talker: str | None = None
        self._talk_open: tuple[float, str] | None = None
        self._talk_last = 0.0
        self.error: BaseException | None = None
        self._opening_gap = opening_gap

    # ------------------------------------------------------------------ control

    async def start(self) -> None:
        """Subscribe and start writing; idempotent."""
        if self._task is not None:
            return
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"rec-{self.recording_id}")
        # Generous: a minute of a 1080p camera, so a short disk stall costs nothing.
        frames, size = self._queue_limits
        self._sub = self.hub.subscribe(max_frames=frames, max_bytes=size)
        if self._opening_gap is not None:
            await self._gap(self._opening_gap)
        self._task = asyncio.create_task(self._run(), name=f"recording {self.recording_id}")

    def queued(self) -> tuple[int, int]:
        """Frames and bytes taken from the camera but not yet on disk (queue + batches)."""
        frames = sum(f for f, _ in self._inflight_frames) + len(self._batch)
        size = sum(b for _, b in self._inflight_frames)
        sub = getattr(self, "_sub", None)
        if sub is not None:
            frames += sub.queued
            size += sub.queued_bytes
        return frames, size

    def set_talker(self, talker: str | None) -> None:
        """Who is talking into the room now (for the talk-back track's metadata)."""
        self._talker = talker

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self, reason: str) -> Manifest:
        """Finish the open segment, write the final manifest; idempotent."""
        if self._task is None:
            raise RuntimeError("the recording writer was never started")
        if self._stop_reason is None:
            self._stop_reason = reason
        self._sub.close()  # wakes the reader; it drains what is queued, then finishes
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(self._task)
        return self.manifest

    async def close(self) -> None:
        if self._task is not None:
            await self.stop("gateway shutting down")

    # ------------------------------------------------------------------ loop side

    def _emit(self, event: WriterEvent) -> None:
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:  # a listener's bug must not stop a recording
                log.exception("recording event listener failed")

    def _offline_reason(self) -> str:
        state = self._state() if self._state is not None else None
        if state is not None and not state.online:
            return f"camera offline: {state.reason}"
        return f"no media from the camera for more than {self._gap_after:g} s"

    def _plan(self) -> TrackPlan:
        audio = next(
            (t.codec for t in self.hub.tracks if t.kind == "audio" and t.direction == "recvonly"),
            None,
        )
        # The talk-back track is always declared: the fMP4 header is written before anyone
        # can know whether someone will talk during the segment.
        return TrackPlan(audio if audio in ("PCMU", "PCMA") else None, talk=True)

    async def _run(self) -> None:
        sub = self._sub
        last_wall: float | None = None
        gap_open: tuple[float, str] | None = None
        cutbacks, dropped = sub.cutbacks, sub.dropped
        plan: TrackPlan | None = None
        try:
            while True:
                frame = sub.get_nowait()
                if frame is None:
                    try:
                        async with asyncio.timeout(self._gap_after):
                            frame = await sub.get()
                    except TimeoutError:
                        if gap_open is None:
                            start = last_wall if last_wall is not None else time.time()
                            gap_open = (start, self._offline_reason())
                            self._queue(("cut",), flush=True)
                        elif gap_open[1].startswith("no media"):
                            gap_open = (gap_open[0], self._offline_reason())
                        await self._close_idle_talk(time.time(), force=False)
                        continue
                wall = time.time() - (time.monotonic() - frame.arrival)
                if sub.cutbacks != cutbacks:
                    lost = sub.dropped - dropped
                    cutbacks, dropped = sub.cutbacks, sub.dropped
                    self.stats.frames_lost += lost
                    reason = f"recorder fell behind (disk too slow): {lost} frame(s) dropped"
                    self._queue(("cut",))
                    await self._gap(Gap(_utc(last_wall or wall), _utc(wall), reason))
                if gap_open is not None:
                    await self._gap(Gap(_utc(gap_open[0]), _utc(wall), gap_open[1]))
                    gap_open = None
                elif frame.discontinuity and frame.kind == "video" and last_wall is not None:
                    self._queue(("cut",))
                    if wall - last_wall > 1.0:
                        reason = "camera stream restarted (reconnect or reboot)"
                        await self._gap(Gap(_utc(last_wall), _utc(wall), reason))
                if frame.kind == "video" and frame.keyframe:
                    current = self._plan()
                    if current != plan:
                        plan = current
                        self._queue(("plan", plan))
                talker = None
                if frame.kind == "talk":
                    talker = self._talker or "unknown"
                    if self._talk_open is not None and self._talk_open[1] != talker:
                        await self._close_idle_talk(wall, force=True)
                    if self._talk_open is None:
                        self._talk_open = (wall, talker)
                    self._talk_last = wall
                elif self._talk_open is not None:
                    await self._close_idle_talk(wall, force=False)
                self.stats.frames += 1
                last_wall = max(wall, last_wall or wall)
                flush = frame.keyframe or len(self._batch) >= self._batch_frames
                self._queue(("frame", frame, wall, talker), flush=flush)
                await self._backpressure()
        except StreamClosedError:
            pass
        except Exception as exc:
            self.error = exc
            log.exception("recording %s failed", self.recording_id)
            self._emit(WriterEvent(self.recording_id, "error", f"recording failed: {exc}"))
        finally:
            await self._finish(gap_open, last_wall)

    async def _finish(self, gap_open: tuple[float, str] | None, last_wall: float | None) -> None:
        now = time.time()
        # Without a stop reason or an error, only the hub closing ends the loop, and the
        # manager closes a hub only when the camera is removed or disabled.
        closed = (
            self.hub.close_reason or "camera removed or disabled in the gateway: its stream ended"
        )
        reason = self._stop_reason or (f"error: {self.error}" if self.error else closed)
        self._sub.close()
        try:
            if self._talk_open is not None:
                await self._close_idle_talk(now, force=True)
            if gap_open is not None:
                await self._gap(Gap(_utc(gap_open[0]), _utc(now), gap_open[1]))
            self._queue(("finish", _utc(now), reason), flush=True)
            while self._inflight:
                await self._complete(self._inflight.popleft())
        except Exception as exc:
            self.error = self.error or exc
            log.exception("recording %s could not be finished", self.recording_id)
        finally:
            executor, self._executor = self._executor, None
            if executor is not None:
                await asyncio.to_thread(executor.shutdown, wait=True)
        self._emit(WriterEvent(self.recording_id, "stopped", reason))

    async def _close_idle_talk(self, wall: float, *, force: bool) -> None:
        span = self._talk_open
        if span is None or (not force and wall - self._talk_last < TALK_IDLE):
            return
        self._talk_open = None
        end = max(self._talk_last, span[0])
        self._queue(("talk", TalkSpan(_utc(span[0]), _utc(end), span[1])), flush=True)

    async def _gap(self, gap: Gap) -> None:
        self.stats.gaps += 1
        self._queue(("gap", gap), flush=True)

    def _queue(self, command: Command, *, flush: bool = False) -> None:
        self._batch.append(command)
        if flush or command[0] != "frame":
            batch, self._batch = self._batch, []
            assert self._executor is not None
            loop = asyncio.get_running_loop()
            self._inflight.append(loop.run_in_executor(self._executor, self._worker.run, batch))
            frames = [c[1] for c in batch if c[0] == "frame"]
            self._inflight_frames.append((len(frames), sum(len(f.data) for f in frames)))

    async def _backpressure(self) -> None:
        while self._inflight and self._inflight[0].done():
            await self._complete(self._inflight.popleft())
        if len(self._inflight) <= self._max_inflight:
            return
        self.stats.backpressure += 1
        detail = f"disk is not keeping up: {len(self._inflight)} batches waiting to be written"
        self._emit(WriterEvent(self.recording_id, "backpressure", detail))
        while len(self._inflight) > self._max_inflight // 2:
            await self._complete(self._inflight.popleft())

    async def _complete(self, future: asyncio.Future[list[SegmentEntry | Gap | Manifest]]) -> None:
        outcomes = await future
        if self._inflight_frames:
            self._inflight_frames.popleft()
        for outcome in outcomes:
            if isinstance(outcome, SegmentEntry):
                self.stats.segments += 1
                self.stats.bytes += outcome.bytes
                self._emit(WriterEvent(self.recording_id, "segment", outcome.name, segment=outcome))
            elif isinstance(outcome, Gap):
                self._emit(WriterEvent(self.recording_id, "gap", outcome.reason, gap=outcome))
            else:
                self.manifest = outcome
        self.manifest = self._worker.files.manifest
