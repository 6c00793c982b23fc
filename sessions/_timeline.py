"""One viewer's outgoing media clock.  Pure core.

The RTP timestamps a viewer receives must only move forward and must follow real time,
whatever the camera does:

- **The cached GOP** a new viewer starts with arrived before the viewer did.  Sent with
  its own timestamps, the browser would believe it is a second behind and keep that
  delay; so backlog frames are squeezed to 1 ms apart and the browser decodes them at
  once, showing the newest picture right away.
- **A camera reconnect** restarts the camera's timestamps at a random value (the frame
  is marked ``discontinuity``): the timeline re-anchors there, advancing by the wall
  time that passed, so the viewer's stream continues as if nothing happened.
- **A jump** (timestamps going backwards or leaping ahead by minutes without a marked
  discontinuity) is treated the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Timeline"]

_MAX_JUMP_SECONDS = 10.0


@dataclass(slots=True)
class Timeline:
    """Maps a camera track's extended RTP timestamps to a viewer's monotonic ones."""

    clock_rate: int
    #: ``time.monotonic()`` when the viewer subscribed: frames that arrived earlier are
    #: the cached backlog.
    started: float
    _in_anchor: int | None = None
    _out_anchor: int = 0
    _last_out: int | None = None
    _last_wall: float = 0.0
    reanchors: int = 0

    def place(self, timestamp: int, arrival: float, *, discontinuity: bool, now: float) -> int:
        """The viewer's timestamp (in ``clock_rate`` units) for a frame sent at ``now``."""
        tick = max(self.clock_rate // 1000, 1)
        if arrival < self.started:
            # Backlog: decode at once.  The first live frame re-anchors after it.
            out = 0 if self._last_out is None else self._last_out + tick
            self._in_anchor = None
            return self._remember(out, now)
        if self._in_anchor is not None and not discontinuity and self._last_out is not None:
            out = self._out_anchor + (timestamp - self._in_anchor)
            if self._last_out < out <= self._last_out + int(_MAX_JUMP_SECONDS * self.clock_rate):
                return self._remember(out, now)
        # (Re)anchor: continue from the last timestamp by the wall time that passed.
        if self._last_out is None:
            out = 0
        else:
            elapsed = round((now - self._last_wall) * self.clock_rate)
            out = self._last_out + max(elapsed, tick)
            self.reanchors += 1
        self._in_anchor = timestamp
        self._out_anchor = out
        return self._remember(out, now)

    def _remember(self, out: int, now: float) -> int:
        self._last_out = out
        self._last_wall = now
        return out
