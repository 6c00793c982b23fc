"""When each recorded frame is due: the pacing of a GB/T 28181 playback.  Pure core.

A playback maps media time (seconds from the start of the requested range) onto the
wall clock.  The platform steers it with MANSRTSP (in SIP INFO): ``PAUSE``, ``PLAY``
(resume), ``PLAY`` with ``Range: npt=`` (seek) and ``Scale`` (speed, 0.5–4×; a download
runs at its ``downloadspeed``).  Every change re-anchors the mapping at the current
position, so none of them makes a frame jump or repeat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from media import MansRtsp

__all__ = ["MAX_SCALE", "MIN_SCALE", "PlaybackClock", "PlaybackCommand", "interpret"]

MIN_SCALE = 0.5
MAX_SCALE = 4.0
#: Frames may leave this much media time early, so scheduling jitter never starves the
#: platform's jitter buffer.
LEAD = 0.05


class PlaybackClock:
    """Media time ↔ wall time (any steady clock in seconds, e.g. ``time.monotonic()``)."""

    __slots__ = ("_anchor_media", "_anchor_wall", "paused", "scale")

    def __init__(self, now: float, *, position: float = 0.0, scale: float = 1.0) -> None:
        self._anchor_wall = now
        self._anchor_media = position
        self.scale = scale
        self.paused = False

    def position(self, now: float) -> float:
        """The media time being played now."""
        if self.paused:
            return self._anchor_media
        return self._anchor_media + max(0.0, now - self._anchor_wall) * self.scale

    def due_in(self, media_time: float, now: float) -> float:
        """Seconds until a frame at ``media_time`` should leave (≤ 0: now; inf: paused)."""
        if self.paused:
            return math.inf
        return (media_time - LEAD - self.position(now)) / self.scale

    def pause(self, now: float) -> None:
        if not self.paused:
            self._anchor_media = self.position(now)
            self.paused = True

    def resume(self, now: float) -> None:
        if self.paused:
            self._anchor_wall = now
            self.paused = False

    def set_scale(self, scale: float, now: float) -> None:
        if not MIN_SCALE <= scale <= MAX_SCALE:
            raise ValueError(f"playback scale {scale} is outside {MIN_SCALE}–{MAX_SCALE}")
        self._anchor_media = self.position(now)
        self._anchor_wall = now
        self.scale = scale

    def seek(self, media_time: float, now: float) -> None:
        self._anchor_media = max(0.0, media_time)
        self._anchor_wall = now


@dataclass(frozen=True, slots=True)
class PlaybackCommand:
    """What one MANSRTSP body asks of a playback, checked against its range."""

    pause: bool = False
    resume: bool = False
    seek: float | None = None  # seconds from the start of the range
    scale: float | None = None
    teardown: bool = False


def interpret(command: MansRtsp, duration: float) -> PlaybackCommand:
    """Check a MANSRTSP command against a playback of ``duration`` seconds.

    Raises ``ValueError`` with the reason for what a playback cannot do: a seek outside
    the range, reverse play, or a speed outside 0.5–4×.  Range values are seconds from
    the start of the played range (wvp sends them so).
    """
    if command.method == "TEARDOWN":
        return PlaybackCommand(teardown=True)
    if command.method == "PAUSE":
        return PlaybackCommand(pause=True)
    scale = command.scale
    if scale is not None:
        if scale < 0:
            raise ValueError("reverse playback is not offered (the segments are forward-only)")
        if not MIN_SCALE <= scale <= MAX_SCALE:
            raise ValueError(f"playback speed {scale:g}× is outside {MIN_SCALE:g}–{MAX_SCALE:g}×")
    seek = command.range_start
    if seek is not None and not 0 <= seek <= duration:
        raise ValueError(f"seek to {seek:g} s is outside the played range of {duration:g} s")
    # PLAY always plays: a seek or a new speed while paused resumes too (as devices do)
    return PlaybackCommand(resume=True, seek=seek, scale=scale)
