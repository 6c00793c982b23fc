"""Paces one RTSP session's media onto its TCP connection: video, microphone, RTCP SR.

Replay sessions step through the shared clip on their own clock (each viewer starts at an
IDR at once); live sessions take bursts from the live encoder as they come.  The microphone
is a steady 20 ms G.711 packet train.  When the client reads too slowly the write buffer
is bounded: video is dropped up to the next IDR, as a camera's encoder buffer would.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass

from ._audio import SAMPLE_RATE, SAMPLES_PER_PACKET, AacProgram, program_slice
from ._clip import EncodedClip
from ._config import FaultState
from ._live import LiveSource
from ._rtp import RtpBurst, build_interleaved_rtp, build_sender_report, stamp_burst
from ._sdp import AAC

__all__ = ["MediaPump", "TrackOut"]

_VIDEO_CLOCK = 90_000
_SR_INTERVAL = 5.0
_HIGH_WATER = 4 * 1024 * 1024  # bytes queued in the socket before video is dropped
_NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900 to 1970
_MAX_LAG = 1.0  # seconds behind schedule before the replay clock is rebased


@dataclass(slots=True)
class TrackOut:
    """One outgoing RTP stream of a session."""

    channel: int
    ssrc: int
    sequence: int
    timestamp_base: int
    packets: int = 0
    octets: int = 0

    @classmethod
    def create(cls, channel: int, ssrc: int) -> TrackOut:
        return cls(channel, ssrc, random.randrange(1 << 16), random.randrange(1 << 32))


class MediaPump:
    def __init__(
        self,
        transport: asyncio.WriteTransport,
        faults: FaultState,
        microphone: bytes,
        video: TrackOut | None,
        audio: TrackOut | None,
        fps: int,
        clip: EncodedClip | None,
        live: LiveSource | None,
        *,
        aac: AacProgram | None = None,
    ) -> None:
        if (clip is None) == (live is None):
            raise ValueError("a media pump needs exactly one of a replay clip or a live source")
        self._transport = transport
        self._faults = faults
        self._microphone = microphone
        self._aac = aac
        # the microphone's packet: 20 ms of G.711, or one 64 ms AAC access unit
        self._audio_period = 0.02 if aac is None else aac.samples_per_unit / aac.clock_rate
        self._audio_rate = SAMPLE_RATE if aac is None else aac.clock_rate
        self._video = video
        self._audio = audio
        self._fps = fps
        self._clip = clip
        self._live = live
        self._task: asyncio.Task[None] | None = None
        self._start = 0.0
        self._need_keyframe = True
        self.video_dropped = 0

    def start(self) -> None:
        if self._task is not None:
            return
        loop = asyncio.get_running_loop()
        self._start = loop.time()
        self._need_keyframe = True
        if self._live is not None and self._video is not None:
            self._live.subscribe(self._on_live_burst)
        self._task = asyncio.create_task(self._run(), name="rtsp-media-pump")

    async def close(self) -> None:
        if self._live is not None:
            self._live.unsubscribe(self._on_live_burst)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        return self._task is not None

    def _write_video(self, burst: RtpBurst, timestamp: int) -> None:
        track = self._video
        if track is None or self._faults.stall or self._transport.is_closing():
            return
        if self._need_keyframe and not burst.keyframe:
            return
        if self._transport.get_write_buffer_size() > _HIGH_WATER:
            self.video_dropped += 1
            self._need_keyframe = True
            return
        self._need_keyframe = False
        data = stamp_burst(burst, track.channel, track.ssrc, track.sequence, timestamp)
        track.sequence = (track.sequence + burst.packet_count) & 0xFFFF
        track.packets += burst.packet_count
        track.octets += len(data) - 16 * burst.packet_count
        self._transport.write(data)

    def _on_live_burst(self, burst: RtpBurst, capture: float) -> None:
        if self._video is None:
            return
        elapsed = capture - self._start
        self._write_video(burst, self._video.timestamp_base + round(elapsed * _VIDEO_CLOCK))

    def _write_audio(self, index: int, wall_offset: int) -> None:
        track = self._audio
        if track is None or self._faults.stall or self._transport.is_closing():
            return
        if self._aac is not None:
            payload = self._aac.payload(index)
            payload_type, step, marker = AAC, self._aac.samples_per_unit, True
        else:
            payload = program_slice(self._microphone, wall_offset)
            payload_type, step, marker = 0, SAMPLES_PER_PACKET, index == 0
        self._transport.write(
            build_interleaved_rtp(
                track.channel,
                payload_type,
                marker,
                track.sequence,
                track.timestamp_base + index * step,
                track.ssrc,
                payload,
            )
        )
        track.sequence = (track.sequence + 1) & 0xFFFF
        track.packets += 1
        track.octets += len(payload)

    def _write_sender_reports(self, now: float, clock_rates: tuple[int, int]) -> None:
        if self._faults.stall or self._transport.is_closing():
            return
        ntp = time.time() + _NTP_EPOCH_OFFSET
        for track, rate in zip((self._video, self._audio), clock_rates, strict=True):
            if track is None or track.packets == 0:
                continue
            rtp_now = track.timestamp_base + round((now - self._start) * rate)
            report = build_sender_report(track.ssrc, ntp, rtp_now, track.packets, track.octets)
            self._transport.write(
                b"$" + bytes((track.channel + 1,)) + len(report).to_bytes(2, "big") + report
            )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        frame = 0
        packet = 0
        next_report = self._start + 1.0
        live = self._live is not None
        while not self._transport.is_closing():
            now = loop.time()
            if not live and now - (self._start + frame / self._fps) > _MAX_LAG:
                # Starved of CPU: shift the schedule instead of bursting a backlog.
                self._start = now - frame / self._fps
            if self._clip is not None:
                while self._start + frame / self._fps <= now:
                    burst = self._clip.bursts[frame % len(self._clip.bursts)]
                    if self._video is not None:
                        timestamp = self._video.timestamp_base + frame * _VIDEO_CLOCK // self._fps
                        self._write_video(burst, timestamp)
                    frame += 1
            while self._start + packet * self._audio_period <= now:
                if live:
                    # Live: the beep follows the wall clock, like the clock on the picture.
                    offset = int(time.time() % 1.0 * SAMPLE_RATE)
                else:
                    offset = packet * SAMPLES_PER_PACKET
                self._write_audio(packet, offset)
                packet += 1
            if now >= next_report:
                self._write_sender_reports(now, (_VIDEO_CLOCK, self._audio_rate))
                next_report = now + _SR_INTERVAL
            next_video = self._start + frame / self._fps if self._clip is not None else now + 1
            next_audio = self._start + packet * self._audio_period
            await asyncio.sleep(max(0.0, min(next_video, next_audio, next_report) - loop.time()))

    def rtp_info(self) -> list[tuple[str, TrackOut]]:
        return [(name, t) for name, t in (("video", self._video), ("audio", self._audio)) if t]
