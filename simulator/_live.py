"""Live picture: drawn and encoded in real time on a worker thread, fanned out on the loop.

The thread paces itself by the monotonic clock, draws the wall clock into each frame,
encodes it and packetizes it into an :class:`RtpBurst`.  The hand-off to the event loop is
bounded: when the loop has not yet taken the previous bursts, the thread drops the frame
and forces the next one to be an IDR, so a busy loop costs frames, never memory.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from ._config import StreamProfile
from ._h264 import H264Encoder, parameter_sets
from ._picture import Painter
from ._rtp import RtpBurst, build_burst, h264_payloads
from ._sdp import VIDEO_PAYLOAD_TYPE, SdpVideo

__all__ = ["LiveSource", "probe_parameter_sets"]

logger = logging.getLogger(__name__)

Subscriber = Callable[[RtpBurst, float], None]  # (burst, capture time on the loop clock)

_MAX_IN_FLIGHT = 2


def probe_parameter_sets(profile: StreamProfile) -> SdpVideo:
    """SPS/PPS of the live encoder, for DESCRIBE before any frame is encoded (blocking).

    libx264's parameter sets depend only on its settings, so one throw-away frame tells.
    """
    encoder = H264Encoder(profile)
    blank = Painter("", "", profile.width, profile.height)
    units = encoder.encode(blank.i420(blank.draw(0.0, 0)), force_keyframe=True) + encoder.flush()
    sets = parameter_sets(units[0].nals) if units else None
    if sets is None:
        raise RuntimeError("libx264 produced no SPS/PPS for the live stream")
    return SdpVideo(sets[0], sets[1], profile.fps, profile.width, profile.height)


class _Worker(threading.Thread):
    def __init__(self, source: LiveSource, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(name=f"live-{source.profile.token}-{source.title}", daemon=True)
        self.source = source
        self.loop = loop
        self.stop_event = threading.Event()
        self.force_keyframe = threading.Event()
        self.force_keyframe.set()
        self._in_flight = 0
        self._lock = threading.Lock()

    def delivered(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def run(self) -> None:
        profile = self.source.profile
        painter = Painter(self.source.title, self.source.subtitle, profile.width, profile.height)
        encoder = H264Encoder(profile, threads=1)
        interval = 1.0 / profile.fps
        started = time.monotonic()
        index = 0
        while not self.stop_event.is_set():
            due = started + index * interval
            delay = due - time.monotonic()
            if delay > 0:
                self.stop_event.wait(delay)
                continue
            if -delay > 2 * interval:  # fell behind (CPU starved): skip to the present
                skipped = int(-delay / interval)
                index += skipped
                self.source.frames_skipped += skipped
                continue
            # The nominal capture time, not the measured one: RTP timestamps then step by
            # exactly one frame interval, as a camera's encoder clock does.
            capture = due
            frame = painter.draw(time.time(), index)
            units = encoder.encode(painter.i420(frame), force_keyframe=self.force_keyframe.is_set())
            index += 1
            for unit in units:
                if unit.keyframe:
                    self.force_keyframe.clear()
                burst = build_burst(
                    h264_payloads(unit.nals, self.source.mtu), VIDEO_PAYLOAD_TYPE, unit.keyframe
                )
                with self._lock:
                    full = self._in_flight >= _MAX_IN_FLIGHT
                    if not full:
                        self._in_flight += 1
                if full:
                    self.source.frames_dropped += 1
                    self.force_keyframe.set()
                    continue
                try:
                    self.loop.call_soon_threadsafe(self.source._deliver, self, burst, capture)
                except RuntimeError:  # the loop is closed: nobody is listening any more
                    return


class LiveSource:
    """One live stream of a camera; the encoder runs only while someone subscribes."""

    def __init__(self, title: str, subtitle: str, profile: StreamProfile, mtu: int) -> None:
        self.title = title
        self.subtitle = subtitle
        self.profile = profile
        self.mtu = mtu
        self.frames_dropped = 0
        self.frames_skipped = 0
        self._subscribers: list[Subscriber] = []
        self._worker: _Worker | None = None
        self._stopped_workers: list[_Worker] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)
        if self._worker is None:
            self._worker = _Worker(self, asyncio.get_running_loop())
            self._worker.start()
        else:
            self._worker.force_keyframe.set()  # the newcomer starts at an IDR right away

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)
        if not self._subscribers and self._worker is not None:
            self._worker.stop_event.set()
            self._stopped_workers = [w for w in self._stopped_workers if w.is_alive()]
            self._stopped_workers.append(self._worker)
            self._worker = None

    def _deliver(self, worker: _Worker, burst: RtpBurst, capture: float) -> None:
        worker.delivered()
        if worker is not self._worker:
            return
        for subscriber in list(self._subscribers):
            subscriber(burst, capture)

    async def close(self) -> None:
        self._subscribers.clear()
        if self._worker is not None:
            self._worker.stop_event.set()
            self._stopped_workers.append(self._worker)
            self._worker = None
        workers, self._stopped_workers = self._stopped_workers, []
        for worker in workers:
            await asyncio.to_thread(worker.join)
