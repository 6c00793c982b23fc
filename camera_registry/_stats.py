"""Per-camera statistics that tell the truth: counters since the camera was added, and
rates over a stated window.  Pure core, on the hot path (one call per frame or packet).

- :class:`RateMeter`: frames and bytes per second over the last ``window`` seconds, from
  fixed time buckets (O(1) per frame, no per-frame list); the rate is what arrived in
  the window divided by the window, never a span between two arrivals (which batching
  and bursts distort).
- :class:`LateFrames`: a video frame is *late* when it arrives more than
  ``LATE_AFTER`` seconds behind the camera's own timing (its RTP timestamp), measured
  against the quickest frame of the last ``BASELINE_PERIOD`` seconds — so a stall or a
  backed-up reader shows, and the slow drift between the camera clock and ours does not.
- :class:`HubStats` (what reached the hub) and :class:`IngestStats` (what the RTSP
  sessions saw: packets, losses from sequence numbers, broken frames, reconnects).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GapEvent", "HubStats", "IngestStats", "LateFrames", "RateMeter"]

LATE_AFTER = 0.25
BASELINE_PERIOD = 10.0


class RateMeter:
    """Video frames, all frames and bytes per second over a sliding window of buckets."""

    __slots__ = ("_bytes", "_current", "_video", "_width", "buckets", "window")

    def __init__(self, window: float = 5.0, buckets: int = 10) -> None:
        self.window = window
        self.buckets = buckets
        self._width = window / buckets
        self._current = 0  # index of the bucket being filled (time // width)
        self._video = [0] * buckets
        self._bytes = [0] * buckets

    def _advance(self, index: int) -> None:
        if index <= self._current:
            return
        steps = min(index - self._current, self.buckets)
        for k in range(1, steps + 1):
            slot = (self._current + k) % self.buckets
            self._video[slot] = 0
            self._bytes[slot] = 0
        self._current = index

    def add(self, now: float, size: int, video: bool) -> None:
        index = int(now / self._width)
        if index != self._current:
            self._advance(index)
        slot = index % self.buckets
        self._bytes[slot] += size
        if video:
            self._video[slot] += 1

    def rates(self, now: float) -> tuple[float, float]:
        """(video frames/s, bits/s) over the last ``window`` seconds before ``now``."""
        self._advance(int(now / self._width))
        # the bucket being filled covers only part of its width: count the window as the
        # whole buckets before it plus the elapsed part of the current one
        elapsed = now - self._current * self._width
        span = (self.buckets - 1) * self._width + elapsed
        if span <= 0:
            return 0.0, 0.0
        return sum(self._video) / span, sum(self._bytes) * 8 / span


class LateFrames:
    """Counts video frames that arrive well behind the camera's own timing."""

    __slots__ = ("_base", "_next_base", "_period_end", "late")

    def __init__(self) -> None:
        self._base: float | None = None
        self._next_base: float | None = None
        self._period_end = 0.0
        self.late = 0

    def reset(self) -> None:
        """A discontinuity (reconnect, new SSRC): timestamps start over."""
        self._base = self._next_base = None

    def frame(self, arrival: float, timestamp: int, clock_rate: int) -> bool:
        transit = arrival - timestamp / clock_rate
        if arrival >= self._period_end:
            # a new period: the best of the last one becomes the baseline
            self._base = self._next_base if self._next_base is not None else self._base
            self._next_base = None
            self._period_end = arrival + BASELINE_PERIOD
        if self._next_base is None or transit < self._next_base:
            self._next_base = transit
        base = self._base
        if base is None or transit < base:
            self._base = base = transit
        if transit - base > LATE_AFTER:
            self.late += 1
            return True
        return False


@dataclass(frozen=True, slots=True)
class HubStats:
    """What reached a camera's hub (every consumer sees the same)."""

    window: float  # seconds the rates are measured over
    fps: float  # video frames per second over the window
    bitrate: float  # bits per second of all tracks over the window
    frames: int  # video frames published since the camera was added
    audio_frames: int
    keyframes: int
    bytes: int  # payload bytes of every track
    late_frames: int  # video frames more than 0.25 s behind the camera's timing
    subscribers: int
    cutbacks: int  # times a slow subscriber was cut back to the next keyframe
    dropped: int  # frames slow subscribers lost through cut-backs
    gop_frames: int  # frames in the cached GOP
    gop_bytes: int
    last_frame_age: float | None  # seconds since the last frame, None if none yet


@dataclass(frozen=True, slots=True)
class GapEvent:
    """The latest loss seen on a camera's stream, with the reason in words."""

    at: float  # time.time()
    packets: int
    reason: str


@dataclass(frozen=True, slots=True)
class IngestStats:
    """What the camera's RTSP sessions saw, summed over every session since it was added."""

    packets: int = 0  # RTP packets received, every track
    packets_lost: int = 0  # from sequence numbers (RFC 3550 A.3)
    gaps: int = 0  # loss events: one or more packets missing at once
    broken_frames: int = 0  # access units discarded (damaged, undecodable, oversized)
    oversized_frames: int = 0  # access units over the size bound (a broken or hostile camera)
    malformed: int = 0  # packets that were not RTP/RTCP
    undecodable_keyframes: int = 0  # whole keyframes the decoder refused (before online)
    sessions: int = 0  # RTSP sessions that reached PLAY
    last_gap: GapEvent | None = None

    @property
    def reconnects(self) -> int:
        return max(0, self.sessions - 1)

    def plus(self, other: IngestStats) -> IngestStats:
        """Counters of two periods added (``last_gap``: the later one)."""
        last = other.last_gap or self.last_gap
        if self.last_gap and other.last_gap and self.last_gap.at > other.last_gap.at:
            last = self.last_gap
        return IngestStats(
            packets=self.packets + other.packets,
            packets_lost=self.packets_lost + other.packets_lost,
            gaps=self.gaps + other.gaps,
            broken_frames=self.broken_frames + other.broken_frames,
            oversized_frames=self.oversized_frames + other.oversized_frames,
            malformed=self.malformed + other.malformed,
            undecodable_keyframes=self.undecodable_keyframes + other.undecodable_keyframes,
            sessions=self.sessions + other.sessions,
            last_gap=last,
        )
