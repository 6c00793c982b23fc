"""Talk-back: the browser microphone, received by aiortc, to the camera speaker.

aiortc always decodes what it receives; the browser is asked for the camera's own G.711
law first, so the decoded frames are already 8 kHz mono and re-encoding them is exact.
Otherwise (Opus) they are resampled to 8 kHz mono.  Two tasks per talker:

- the **reader** turns received frames into G.711 and appends them to a small buffer
  (at most ``max_buffer`` seconds: older audio is dropped so latency cannot grow);
- the **pacer** sends one 20 ms packet (160 bytes) every 20 ms on a drift-free
  schedule, so the camera hears a steady stream whatever the network jitter.  A short
  underrun is filled with silence; after ``silence_fill`` seconds without audio it stops
  sending and the next audio starts a new talkspurt.

Resampling and G.711 encoding of one 20 ms frame cost a few microseconds (a table
lookup), less than a thread hand-off would, so they run on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler

from camera_registry import CameraError
from media import g711_encode

__all__ = ["PACKET_BYTES", "TalkPump"]

log = logging.getLogger("gateway.sessions.talk")

RATE = 8000
PACKET_BYTES = 160  # 20 ms of G.711
PACKET_SECONDS = PACKET_BYTES / RATE
_SILENCE = {"PCMU": b"\xff" * PACKET_BYTES, "PCMA": b"\xd5" * PACKET_BYTES}


class TalkPump:
    """Moves one talker's audio from a received track to ``send`` (``CameraIngest.send_talk``).

    Without a track (a GB/T 28181 broadcast) audio comes only through :meth:`feed`.
    """

    def __init__(
        self,
        track: MediaStreamTrack | None,
        send: Callable[[bytes], None],
        codec: str,
        *,
        max_buffer: float = 0.2,
        silence_fill: float = 0.5,
        name: str = "talk",
    ) -> None:
        if codec not in _SILENCE:
            raise ValueError(f"the camera backchannel codec must be PCMU or PCMA, not {codec!r}")
        self._track = track
        self._send = send
        self.codec = codec
        self._max_bytes = int(max_buffer * RATE)
        self._fill_packets = int(silence_fill / PACKET_SECONDS)
        self._name = name
        self._buffer = bytearray()
        self._data = asyncio.Event()
        self._resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
        self._tasks: list[asyncio.Task[None]] = []
        self.frames_received = 0
        self.packets_sent = 0
        self.silence_packets = 0
        self.dropped_bytes = 0
        self.send_errors = 0
        self.last_audio_at = time.monotonic()
        self.ended = asyncio.Event()  # set when the browser's track ends

    def start(self) -> None:
        """Start reader and pacer; idempotent."""
        if self._tasks:
            return
        self._tasks = [asyncio.create_task(self._pace(), name=f"{self._name} pacer")]
        if self._track is not None:
            self._tasks.append(asyncio.create_task(self._read(), name=f"{self._name} reader"))

    async def close(self) -> None:
        """Stop both tasks; idempotent, leaves no task behind."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _encode(self, frame: AudioFrame) -> bytes:
        chunks = []
        for out in self._resampler.resample(frame):
            chunks.append(out.to_ndarray().reshape(-1).astype(np.int16, copy=False))
        if not chunks:
            return b""
        return g711_encode(np.concatenate(chunks), self.codec)

    def feed(self, g711: bytes) -> None:
        """Queue encoded audio for the pacer (the reader calls this; so may tests)."""
        if not g711:
            return
        self._buffer += g711
        overflow = len(self._buffer) - self._max_bytes
        if overflow > 0:
            # Keep the newest audio: a talker hears the room live, so late speech is worse
            # than a lost syllable.
            del self._buffer[:overflow]
            self.dropped_bytes += overflow
        self.last_audio_at = time.monotonic()
        self._data.set()

    async def _read(self) -> None:
        assert self._track is not None
        try:
            while True:
                frame = await self._track.recv()
                if not isinstance(frame, AudioFrame):
                    continue
                self.frames_received += 1
                self.feed(self._encode(frame))
        except MediaStreamError:
            pass
        finally:
            self.ended.set()

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # Wait for audio, then start a talkspurt on a fresh schedule.
            await self._data.wait()
            deadline = loop.time()
            empty_ticks = 0
            while empty_ticks <= self._fill_packets:
                if len(self._buffer) >= PACKET_BYTES:
                    packet = bytes(self._buffer[:PACKET_BYTES])
                    del self._buffer[:PACKET_BYTES]
                    empty_ticks = 0
                else:
                    packet = _SILENCE[self.codec]
                    empty_ticks += 1
                    self.silence_packets += 1
                self._deliver(packet)
                deadline += PACKET_SECONDS
                delay = deadline - loop.time()
                if delay < -0.1:
                    deadline = loop.time()  # the loop stalled: do not burst to catch up
                    delay = 0.0
                await asyncio.sleep(max(delay, 0.0))
            self._data.clear()
            if len(self._buffer) >= PACKET_BYTES:
                self._data.set()

    def _deliver(self, packet: bytes) -> None:
        try:
            self._send(packet)
            self.packets_sent += 1
        except CameraError as exc:
            # Offline or reconnecting: drop this packet; the talker stays connected and the
            # speaker comes back with the camera.
            self.send_errors += 1
            if self.send_errors in (1, 100) or self.send_errors % 1000 == 0:
                log.info("talk audio not delivered", extra={"error": exc.message})
