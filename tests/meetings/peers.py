"""Synthetic meeting participants: real aiortc peers that send a solid colour and a tone,
and keep what the room sends back (the composite picture, the mix they hear)."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import math
import time
from typing import Any

import aiohttp
import numpy as np
from aiohttp.test_utils import TestClient
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from gateway._demo import DEMO_PASSWORD

RATE = 48_000


class ColourTrack(MediaStreamTrack):
    """A solid colour (BGR), 320×240 at 15 frames a second."""

    kind = "video"

    def __init__(self, bgr: tuple[int, int, int], fps: int = 15) -> None:
        super().__init__()
        self.bgr = bgr
        self._fps = fps
        self._start: float | None = None
        self._n = 0

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._n / self._fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        image = np.empty((240, 320, 3), dtype=np.uint8)
        image[:] = self.bgr
        frame = VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = self._n * (90_000 // self._fps)
        frame.time_base = fractions.Fraction(1, 90_000)
        self._n += 1
        return frame


class ToneTrack(MediaStreamTrack):
    """A sine tone, 48 kHz mono, 20 ms frames in real time."""

    kind = "audio"

    def __init__(self, frequency: float, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self._start: float | None = None
        self._n = 0
        self.silent = False

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._n * 0.02
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        t = (np.arange(960) + self._n * 960) / RATE
        level = 0.0 if self.silent else self.amplitude
        samples = (level * 32767 * np.sin(2 * math.pi * self.frequency * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._n * 960
        frame.time_base = fractions.Fraction(1, RATE)
        self._n += 1
        return frame


async def signed_in(
    client: TestClient, username: str
) -> tuple[aiohttp.ClientSession, dict[str, str]]:
    """A separate HTTP session (own cookie jar) signed in as ``username``; its CSRF header."""
    session = aiohttp.ClientSession(
        base_url=str(client.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
    )
    async with session.post(
        "/api/session", json={"username": username, "password": DEMO_PASSWORD}
    ) as response:
        assert response.status == 200, await response.text()
        csrf = (await response.json())["csrf_token"]
    return session, {"X-CSRF-Token": csrf}


class MeetingPeer:
    """One site: sends ``colour``/``tone`` (or nothing, as a listener), keeps the newest
    composite picture and every received audio sample."""

    def __init__(
        self,
        *,
        colour: tuple[int, int, int] | None = None,
        tone: float | None = None,
        receive: bool = True,
    ) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.colour = ColourTrack(colour) if colour is not None else None
        self.tone = ToneTrack(tone) if tone is not None else None
        video_dir = "sendrecv" if self.colour else "recvonly"
        audio_dir = "sendrecv" if self.tone else "recvonly"
        self.video_tx = self.pc.addTransceiver(self.colour or "video", direction=video_dir)
        self.audio_tx = self.pc.addTransceiver(self.tone or "audio", direction=audio_dir)
        self.receive = receive
        self.picture: VideoFrame | None = None
        self.pictures = 0
        self.audio: list[np.ndarray[Any, Any]] = []
        self.location: str | None = None
        self.participant_id: str | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def offer(self) -> str:
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        return str(self.pc.localDescription.sdp)

    async def join(
        self, session: aiohttp.ClientSession, headers: dict[str, str], occurrence: str, site: str
    ) -> aiohttp.ClientResponse:
        sdp = await self.offer()
        response = await session.post(
            f"/api/meetings/occurrences/{occurrence}/join",
            params={"site": site},
            data=sdp,
            headers={**headers, "Content-Type": "application/sdp"},
        )
        if response.status != 201:
            return response
        self.location = response.headers["Location"]
        self.participant_id = self.location.rsplit("/", 1)[-1]
        answer = await response.text()
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        if self.receive:
            self._tasks.append(asyncio.create_task(self._read_video()))
            self._tasks.append(asyncio.create_task(self._read_audio()))
        return response

    async def _read_video(self) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await self.video_tx.receiver.track.recv()
                self.picture = frame  # type: ignore[assignment]
                self.pictures += 1

    async def _read_audio(self) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await self.audio_tx.receiver.track.recv()
                assert isinstance(frame, AudioFrame)
                data = frame.to_ndarray().reshape(-1)
                channels = len(frame.layout.channels)
                self.audio.append(data.reshape(-1, channels)[:, 0].astype(np.float64))

    def samples(self, seconds: float) -> np.ndarray[Any, Any]:
        """The last ``seconds`` of what this site heard (48 kHz mono)."""
        if not self.audio:
            return np.zeros(0)
        joined = np.concatenate(self.audio[-int(seconds * 50) - 5 :])
        return joined[-int(seconds * RATE) :]

    def image(self) -> np.ndarray[Any, Any]:
        assert self.picture is not None, "no composite picture received"
        return np.asarray(self.picture.to_ndarray(format="bgr24"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.pc.close()


def tone_strength(samples: np.ndarray[Any, Any], frequency: float) -> float:
    """Magnitude of ``frequency`` in ``samples`` relative to the strongest component (0…1),
    from a Hann-windowed FFT; 0 for silence."""
    if samples.size < RATE // 4:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    peak = float(spectrum.max())
    if peak < 1e-3 * samples.size:
        return 0.0
    freqs = np.fft.rfftfreq(samples.size, 1 / RATE)
    band = (freqs > frequency * 0.98) & (freqs < frequency * 1.02)
    return float(spectrum[band].max()) / peak


def colour_near(
    pixel: np.ndarray[Any, Any], bgr: tuple[int, int, int], tolerance: int = 45
) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.array(bgr)) <= tolerance))
