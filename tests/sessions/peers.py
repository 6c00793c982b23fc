"""Real aiortc peers for the sessions tests: a viewer that decodes, a talker with a tone."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.codecs.h264 import h264_depayload
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket
from av import AudioFrame, VideoFrame

from sessions import SessionAnswer

Answerer = Callable[[str], Awaitable[SessionAnswer]]


def split_nals(annexb: bytes) -> tuple[bytes, ...]:
    """NAL units of an Annex-B buffer, start codes removed."""
    out = []
    for chunk in annexb.split(b"\x00\x00\x01"):
        chunk = chunk.rstrip(b"\x00")
        if chunk:
            out.append(chunk)
    return tuple(out)


class ViewerPeer:
    """A WHEP client: recvonly video (+ audio), decodes what arrives, keeps the raw NALs."""

    def __init__(self, *, audio: bool = True) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.video_tx = self.pc.addTransceiver("video", direction="recvonly")
        self.audio_tx = self.pc.addTransceiver("audio", direction="recvonly") if audio else None
        self.frames: list[VideoFrame] = []
        self.frame_times: list[float] = []
        self.audio_frames: list[AudioFrame] = []
        self.access_units: list[tuple[bytes, ...]] = []
        self._au: dict[int, bytearray] = {}
        self.answer: SessionAnswer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.first_frame = asyncio.Event()
        self._observe(self.video_tx.receiver)

    def _observe(self, receiver: RTCRtpReceiver) -> None:
        # Instrument the receiver (not replace it): keep what came off the wire before
        # aiortc decodes it, to compare with what the camera sent.
        # Under load the receiver NACKs lost packets and the gateway resends them as RTX
        # (RFC 4588: the original sequence number, then the original payload). Those are
        # not H.264 payloads: depayloading one raised out of aiortc's DTLS receive loop and
        # closed this viewer's connection — the "only 7 of 9 frames decoded" flake. Only
        # first-hand H.264 packets are recorded; aiortc itself still gets every packet.
        original = receiver._handle_rtp_packet
        codecs: dict[int, Any] = receiver._RTCRtpReceiver__codecs  # type: ignore[attr-defined]

        async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
            codec = codecs.get(packet.payload_type)
            if packet.payload and codec is not None and codec.name == "H264":
                buffer = self._au.setdefault(packet.timestamp, bytearray())
                try:
                    buffer += h264_depayload(packet.payload)
                except ValueError:
                    self._au.pop(packet.timestamp, None)  # a broken access unit is not kept
                else:
                    if packet.marker:
                        self.access_units.append(split_nals(bytes(self._au.pop(packet.timestamp))))
            await original(packet, arrival_time_ms)

        receiver._handle_rtp_packet = handle  # type: ignore[method-assign]

    async def connect(self, answerer: Answerer) -> SessionAnswer:
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        self.answer = await answerer(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(self.answer.sdp, "answer"))
        self._tasks.append(asyncio.create_task(self._read(self.video_tx.receiver.track)))
        if self.audio_tx is not None and self.answer.audio:
            self._tasks.append(asyncio.create_task(self._read(self.audio_tx.receiver.track)))
        return self.answer

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, VideoFrame):
                    self.frames.append(frame)
                    self.frame_times.append(time.monotonic())
                    self.first_frame.set()
                elif isinstance(frame, AudioFrame):
                    self.audio_frames.append(frame)
        except MediaStreamError:
            pass

    async def wait_frames(self, count: int, within: float = 15.0) -> None:
        deadline = time.monotonic() + within
        while len(self.frames) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.frames)} of {count} frames decoded")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.pc.close()


class ToneTrack(MediaStreamTrack):
    """A microphone that plays a sine tone in real time (20 ms frames, 48 kHz)."""

    kind = "audio"

    def __init__(self, frequency: float = 1000.0, rate: int = 48000, level: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self.rate = rate
        self.level = level
        self._samples = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        count = self.rate // 50
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._samples / self.rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        n = np.arange(self._samples, self._samples + count)
        pcm = (self.level * 32767 * np.sin(2 * math.pi * self.frequency * n / self.rate)).astype(
            np.int16
        )
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.rate
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, self.rate)
        self._samples += count
        return frame


class TalkerPeer:
    """A talk client: one send-only microphone track."""

    def __init__(self, track: MediaStreamTrack | None = None) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.track = track or ToneTrack()
        self.pc.addTransceiver(self.track, direction="sendonly")
        self.answer: SessionAnswer | None = None

    async def connect(self, answerer: Answerer) -> SessionAnswer:
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        self.answer = await answerer(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(self.answer.sdp, "answer"))
        return self.answer

    async def close(self) -> None:
        await self.pc.close()


async def wait_for(predicate: Callable[[], Any], within: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.05)
