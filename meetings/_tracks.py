"""The room's media tracks: what each participant receives, and inboxes for what it sends.

Outgoing, nothing is encoded per participant: :class:`CompositeTrack` hands aiortc the
room's shared H.264 access units as ``av.Packet`` (the sender only packetizes them) and
:class:`MixTrack` the Opus packets of the mix this participant hears.  Each has its own
bounded queue: a participant whose sender falls behind loses its own queued pictures —
and then waits for the next keyframe, which it asks for — while the others go on.

Incoming, aiortc has decoded the participant's media already (it always does):
:class:`VideoInbox` keeps only the newest picture, :class:`AudioInbox` a short buffer of
48 kHz mono samples from which the mixer takes 20 ms a tick (older audio is dropped, so
delay cannot build up).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.video.frame import VideoFrame

from meetings._compose import EncodedFrame
from meetings._mix import CHUNK, RATE

__all__ = ["AudioInbox", "CompositeTrack", "MixTrack", "PacketQueue", "VideoInbox"]

_VIDEO_TIME_BASE = Fraction(1, 90_000)
_AUDIO_TIME_BASE = Fraction(1, RATE)


class PacketQueue:
    """A bounded queue of encoded pictures for one participant.

    When it overflows, everything queued is dropped (the pictures depend on each other,
    so the oldest alone cannot go) and pictures are skipped until the next keyframe;
    ``on_overflow`` asks the room for one.
    """

    def __init__(self, maxlen: int, on_overflow: Callable[[], None] | None = None) -> None:
        self._items: deque[EncodedFrame] = deque()
        self._maxlen = maxlen
        self._ready = asyncio.Event()
        self._on_overflow = on_overflow
        self.need_keyframe = True  # a new participant starts at a keyframe
        self.dropped = 0
        self.skipped = 0
        self.closed = False

    def __len__(self) -> int:
        return len(self._items)

    def push(self, frame: EncodedFrame) -> None:
        if self.closed:
            return
        if self.need_keyframe:
            if not frame.keyframe:
                self.skipped += 1
                return
            self.need_keyframe = False
        if len(self._items) >= self._maxlen:
            self.dropped += len(self._items)
            self._items.clear()
            if not frame.keyframe:
                self.need_keyframe = True
                self.skipped += 1
                if self._on_overflow is not None:
                    self._on_overflow()
                return
        self._items.append(frame)
        self._ready.set()

    async def get(self) -> EncodedFrame:
        while not self._items:
            if self.closed:
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def close(self) -> None:
        self.closed = True
        self._ready.set()


class CompositeTrack(MediaStreamTrack):
    """The room's composite picture for one participant, as packets (no encode here)."""

    kind = "video"

    def __init__(self, queue: PacketQueue) -> None:
        super().__init__()
        self.queue = queue
        self.sent = 0

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self.queue.get()
        packet = av.Packet(frame.data)
        packet.pts = frame.pts
        packet.time_base = _VIDEO_TIME_BASE
        self.sent += 1
        return packet

    def stop(self) -> None:
        self.queue.close()
        super().stop()


class MixTrack(MediaStreamTrack):
    """The Opus packets of the mix one participant hears (shared or its own)."""

    kind = "audio"

    def __init__(self, maxlen: int = 10) -> None:
        super().__init__()
        self._items: deque[tuple[bytes, int]] = deque(maxlen=maxlen)
        self._ready = asyncio.Event()
        self.sent = 0
        self.dropped = 0

    def push(self, payload: bytes, pts: int) -> None:
        if len(self._items) == self._items.maxlen:
            self.dropped += 1  # the oldest goes: late audio is worse than a lost syllable
        self._items.append((payload, pts))
        self._ready.set()

    async def recv(self) -> av.Packet[Any]:
        while not self._items:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        payload, pts = self._items.popleft()
        packet = av.Packet(payload)
        packet.pts = pts
        packet.time_base = _AUDIO_TIME_BASE
        self.sent += 1
        return packet

    def stop(self) -> None:
        super().stop()
        self._ready.set()


class VideoInbox:
    """The newest decoded picture a participant sent, and when it came."""

    def __init__(self) -> None:
        self.frame: VideoFrame | None = None
        self.at = 0.0
        self.frames = 0

    def put(self, frame: VideoFrame) -> None:
        self.frame = frame
        self.at = time.monotonic()
        self.frames += 1


class AudioInbox:
    """A participant's decoded audio as 48 kHz mono int16, at most ``max_seconds`` of it."""

    def __init__(self, max_seconds: float = 0.2) -> None:
        self._resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
        self._buffer = np.zeros(0, dtype=np.int16)
        self._max = int(max_seconds * RATE)
        self.frames = 0
        self.dropped = 0
        self.at = 0.0

    def put(self, frame: AudioFrame) -> None:
        chunks = [out.to_ndarray().reshape(-1) for out in self._resampler.resample(frame)]
        if not chunks:
            return
        self.frames += 1
        self.at = time.monotonic()
        self.feed(np.concatenate([self._buffer, *chunks]).astype(np.int16, copy=False))

    def feed(self, samples: np.ndarray[Any, np.dtype[np.int16]]) -> None:
        overflow = samples.size - self._max
        if overflow > 0:
            samples = samples[overflow:]
            self.dropped += overflow
        self._buffer = samples

    def take(self) -> np.ndarray[Any, np.dtype[np.int16]] | None:
        """20 ms of audio, or None when less than that is buffered (silence this tick)."""
        if self._buffer.size < CHUNK:
            return None
        chunk, self._buffer = self._buffer[:CHUNK], self._buffer[CHUNK:]
        return chunk
