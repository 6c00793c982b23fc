"""Media tracks that feed one viewer's RTP senders from a camera's stream hub.

No video transcoding: :class:`HubVideoTrack` returns ``av.Packet``\\ s (the hub's Annex-B
access units, SPS/PPS before every IDR) so aiortc's sender only packetizes them
(``encoder.pack()``).  Camera G.711 passes through the same way
(:class:`HubG711Track`); AAC, which browsers cannot take over RTP, is decoded and encoded
to Opus in a worker thread (:class:`HubAacTrack`).

Each track owns one bounded hub subscription — the per-viewer queue.  A viewer that
falls behind is cut back to the next keyframe by the hub; one whose frames have grown
older than ``max_lag`` (the sender is starved of CPU) skips to the next keyframe too,
so latency never builds up.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from camera_registry import StreamClosedError, StreamHub, Subscription
from media import MediaFrame
from sessions._aac import AacToOpus
from sessions._timeline import Timeline

__all__ = ["HubAacTrack", "HubG711Track", "HubVideoTrack", "TrackStats", "audio_track_for"]

VIDEO_CLOCK = 90_000
OPUS_CLOCK = 48_000


@dataclass(slots=True)
class TrackStats:
    frames: int = 0  # frames handed to the sender
    bytes: int = 0
    skipped: int = 0  # frames dropped while waiting for a keyframe (lag, reconnect)
    first_frame_at: float | None = None  # monotonic time the first frame went out


class _HubTrack(MediaStreamTrack):
    """Common part: one subscription, a timeline, and ``stop()`` that frees both."""

    def __init__(
        self, hub: StreamHub, kinds: tuple[str, ...], *, max_frames: int, max_bytes: int
    ) -> None:
        super().__init__()
        self.hub = hub
        self.stats = TrackStats()
        self._subscription: Subscription = hub.subscribe(
            kinds, max_frames=max_frames, max_bytes=max_bytes
        )

    @property
    def cutbacks(self) -> int:
        return self._subscription.cutbacks

    async def _next(self) -> MediaFrame:
        if self.readyState != "live":
            raise MediaStreamError
        try:
            return await self._subscription.get()
        except StreamClosedError:
            # The camera was removed: end the track, and the sender with it.
            self.stop()
            raise MediaStreamError from None

    def _sent(self, size: int) -> None:
        stats = self.stats
        stats.frames += 1
        stats.bytes += size
        if stats.first_frame_at is None:
            stats.first_frame_at = time.monotonic()

    def stop(self) -> None:
        self._subscription.close()
        super().stop()


class HubVideoTrack(_HubTrack):
    """H.264 access units from the hub, as packets: the sender packs them, no encode."""

    kind = "video"

    def __init__(
        self,
        hub: StreamHub,
        *,
        max_frames: int = 150,
        max_bytes: int = 16 * 1024 * 1024,
        max_lag: float = 1.0,
    ) -> None:
        # The queue must hold a whole cached GOP, or a new viewer would be cut back to
        # the next keyframe before its first frame.
        super().__init__(hub, ("video",), max_frames=max_frames, max_bytes=max_bytes)
        self._timeline = Timeline(VIDEO_CLOCK, started=time.monotonic())
        self._max_lag = max_lag
        self._need_keyframe = False
        self._time_base = Fraction(1, VIDEO_CLOCK)

    async def recv(self) -> av.Packet[Any]:
        while True:
            frame = await self._next()
            now = time.monotonic()
            live = frame.arrival >= self._timeline.started
            if frame.discontinuity or (live and now - frame.arrival > self._max_lag):
                # After a reconnect the references are gone; when the sender lags, the
                # only way to catch up without a decoder is the next keyframe.
                self._need_keyframe = True
            if self._need_keyframe:
                if not frame.keyframe:
                    self.stats.skipped += 1
                    continue
                self._need_keyframe = False
            pts = self._timeline.place(
                frame.timestamp, frame.arrival, discontinuity=frame.discontinuity, now=now
            )
            packet = av.Packet(frame.data)
            packet.pts = pts
            packet.time_base = self._time_base
            self._sent(len(frame.data))
            return packet


class HubG711Track(_HubTrack):
    """The camera microphone's G.711 frames, passed through as packets."""

    kind = "audio"

    def __init__(self, hub: StreamHub, codec: str, *, max_frames: int = 50) -> None:
        super().__init__(hub, ("audio",), max_frames=max_frames, max_bytes=64 * 1024)
        self.codec = codec
        self._timeline = Timeline(8000, started=time.monotonic())
        self._time_base = Fraction(1, 8000)

    async def recv(self) -> av.Packet[Any]:
        while True:
            frame = await self._next()
            if frame.codec != self.codec:
                # The camera changed its audio codec on reconnect: the negotiated payload
                # type no longer fits; better silence than noise.
                self.stats.skipped += 1
                continue
            pts = self._timeline.place(
                frame.timestamp,
                frame.arrival,
                discontinuity=frame.discontinuity,
                now=time.monotonic(),
            )
            packet = av.Packet(frame.data)
            packet.pts = pts
            packet.time_base = self._time_base
            self._sent(len(frame.data))
            return packet


class HubAacTrack(_HubTrack):
    """Camera AAC → Opus, encoded in a worker thread (20 ms packets, 48 kHz)."""

    kind = "audio"

    def __init__(self, hub: StreamHub, *, config: str, sample_rate: int, channels: int = 1) -> None:
        super().__init__(hub, ("audio",), max_frames=50, max_bytes=256 * 1024)
        self._transcoder = AacToOpus(config, sample_rate=sample_rate, channels=channels)
        self._timeline = Timeline(sample_rate, started=time.monotonic())
        self._sample_rate = sample_rate
        self._pending: deque[bytes] = deque()
        self._pts: int | None = None
        self._time_base = Fraction(1, OPUS_CLOCK)

    async def recv(self) -> av.Packet[Any]:
        loop = asyncio.get_running_loop()
        while not self._pending:
            frame = await self._next()
            if frame.codec != "MPEG4-GENERIC":
                self.stats.skipped += 1
                continue
            placed = self._timeline.place(
                frame.timestamp,
                frame.arrival,
                discontinuity=frame.discontinuity,
                now=time.monotonic(),
            )
            target = placed * OPUS_CLOCK // self._sample_rate
            # Decoding and encoding are CPU work: hand them to a thread, one at a time.
            payloads = await loop.run_in_executor(None, self._transcoder.feed, frame.data)
            if self._pts is None or abs(self._pts - target) > OPUS_CLOCK // 5:
                self._pts = target  # first packet, or a reconnect moved the clock
            self._pending.extend(payloads)
        payload = self._pending.popleft()
        assert self._pts is not None
        packet = av.Packet(payload)
        packet.pts = self._pts
        packet.time_base = self._time_base
        self._pts += OPUS_CLOCK // 50
        self._sent(len(payload))
        return packet


def audio_track_for(hub: StreamHub) -> tuple[MediaStreamTrack | None, str | None]:
    """The audio track for a viewer of ``hub`` and the MIME type the answer must use.

    ``(None, None)`` when the camera sends no audio the gateway can forward.
    """
    for track in hub.tracks:
        if track.kind != "audio" or track.direction == "sendonly":
            continue
        if track.codec in ("PCMU", "PCMA") and track.clock_rate == 8000:
            return HubG711Track(hub, track.codec), f"audio/{track.codec}"
        if track.codec == "MPEG4-GENERIC" and track.fmtp.get("config"):
            return (
                HubAacTrack(
                    hub,
                    config=track.fmtp["config"],
                    sample_rate=track.clock_rate,
                    channels=max(track.channels, 1),
                ),
                "audio/opus",
            )
    return None, None
