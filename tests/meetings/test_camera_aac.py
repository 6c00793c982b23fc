"""A room camera whose microphone sends AAC is heard in the meeting: real AAC access units
(PyAV's encoder, as a camera's RTSP session delivers them to its hub) decoded by the
camera feed into the 48 kHz audio the mix takes."""

from __future__ import annotations

import asyncio
import binascii
import time
from fractions import Fraction

import av
import numpy as np
import pytest
from av.audio.frame import AudioFrame
from av.video.frame import VideoFrame

from camera_registry import HubLease, StreamHub
from media import MediaFrame, TrackInfo
from meetings._camera import AacMicrophone, CameraFeed
from meetings._mix import CHUNK
from tests.meetings.peers import tone_strength

CAMERA_RATE = 16_000


def aac_tone(frequency: float, seconds: float) -> tuple[str, list[bytes]]:
    """A mono tone as AAC-LC: the SDP ``config`` (hex) and the raw access units."""
    encoder = av.CodecContext.create("aac", "w")
    encoder.sample_rate = CAMERA_RATE
    encoder.layout = "mono"
    encoder.format = "fltp"
    encoder.bit_rate = 32_000
    encoder.open()
    t = np.arange(int(seconds * CAMERA_RATE)) / CAMERA_RATE
    pcm = (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    units: list[bytes] = []
    for start in range(0, pcm.size - 1024 + 1, 1024):
        frame = AudioFrame.from_ndarray(
            pcm[start : start + 1024].reshape(1, -1), format="fltp", layout="mono"
        )
        frame.sample_rate = CAMERA_RATE
        frame.pts = start
        frame.time_base = Fraction(1, CAMERA_RATE)
        units += [bytes(p) for p in encoder.encode(frame)]
    units += [bytes(p) for p in encoder.encode(None)]
    return binascii.hexlify(encoder.extradata or b"").decode(), units


def h264_keyframe() -> bytes:
    """One small Annex-B H.264 IDR picture: a camera's hub starts a reader at a keyframe."""
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 64, 64, "yuv420p"
    encoder.time_base = Fraction(1, 25)
    encoder.options = {"tune": "zerolatency"}
    encoder.open()
    frame = VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
    frame.pts = 0
    packets = [bytes(p) for p in encoder.encode(frame.reformat(format="yuv420p"))]
    packets += [bytes(p) for p in encoder.encode(None)]
    return b"".join(packets)


def test_aac_microphone_decodes_and_survives_a_damaged_unit() -> None:
    config, units = aac_tone(440.0, 0.5)
    assert config and len(units) > 5
    mic = AacMicrophone(config, sample_rate=CAMERA_RATE)
    assert mic.decode(b"\xff\x00garbage") == [] and mic.errors == 1  # skipped, counted
    decoded = [f for unit in units for f in mic.decode(unit)]
    assert sum(f.samples for f in decoded) >= 1024 * (len(units) - 3)
    with pytest.raises(ValueError, match="not hexadecimal"):
        AacMicrophone("zz", sample_rate=CAMERA_RATE)


async def test_an_aac_camera_microphone_is_heard_in_the_mix() -> None:
    config, units = aac_tone(300.0, 2.0)
    hub = StreamHub("camera 7 main")
    hub.set_tracks(
        [
            TrackInfo("video", "H264", 96, 90_000, 0, "", "recvonly", {"packetization-mode": "1"}),
            TrackInfo(
                "audio",
                "MPEG4-GENERIC",
                97,
                CAMERA_RATE,
                1,
                "",
                "recvonly",
                {"mode": "AAC-hbr", "config": config, "sizelength": "13"},
            ),
        ]
    )
    feed = CameraFeed(
        HubLease(hub, "main"), lambda _: None, "PCMU", name="7", heard=lambda: None, speak=False
    )
    feed.start()
    heard: list[np.ndarray] = []
    try:
        hub.publish(MediaFrame("video", "H264", 90_000, 0, True, h264_keyframe(), time.monotonic()))
        for index, unit in enumerate(units):
            hub.publish(
                MediaFrame(
                    "audio",
                    "MPEG4-GENERIC",
                    CAMERA_RATE,
                    index * 1024,
                    True,
                    unit,
                    time.monotonic(),
                    discontinuity=index == 0,
                )
            )
            await asyncio.sleep(0.005)
            while (chunk := feed.audio.take()) is not None:
                heard.append(chunk)
        deadline = time.monotonic() + 10
        while sum(c.size for c in heard) < CHUNK * 20 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            while (chunk := feed.audio.take()) is not None:
                heard.append(chunk)
    finally:
        await feed.close()
    assert feed.decoded == 1  # the picture went to the composite too
    samples = np.concatenate(heard).astype(np.float64)
    assert samples.size >= CHUNK * 20, samples.size  # at least 0.4 s reached the mix
    assert tone_strength(samples[-samples.size // 2 :], 300.0) > 0.8
