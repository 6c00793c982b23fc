"""G.711 against the reference behaviour and against FFmpeg's codec."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from simulator import alaw_decode, alaw_encode, dominant_frequency, ulaw_decode, ulaw_encode
from tests.simulator.conftest import require_tool


def test_silence_and_extremes_have_their_standard_codes() -> None:
    assert ulaw_encode(np.zeros(1, np.int16)) == b"\xff"
    assert alaw_encode(np.zeros(1, np.int16)) == b"\xd5"
    assert ulaw_decode(b"\x00")[0] == -32124
    assert alaw_decode(b"\x2a")[0] == -32256


@pytest.mark.parametrize(
    ("encode", "decode"), [(ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)]
)
def test_round_trip_error_is_within_the_segment_step(encode, decode) -> None:  # type: ignore[no-untyped-def]
    pcm = np.arange(-32768, 32768, 7, dtype=np.int32).astype(np.int16)
    back = decode(encode(pcm)).astype(np.int32)
    error = np.abs(back - pcm.astype(np.int32))
    # G.711 is logarithmic: the step is about 1/16 of the magnitude (plus a floor).
    assert np.all(error <= np.abs(pcm.astype(np.int32)) // 16 + 64)
    assert np.array_equal(decode(encode(back.astype(np.int16))), back.astype(np.int16))


async def test_ffmpeg_mulaw_tone_decodes_to_its_frequency() -> None:
    ffmpeg = require_tool("ffmpeg")
    process = await asyncio.create_subprocess_exec(
        ffmpeg,
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=1000:duration=1:sample_rate=8000",
        "-f",
        "mulaw",
        "-",
        stdout=asyncio.subprocess.PIPE,
    )
    data, _ = await process.communicate()
    assert process.returncode == 0
    frequency = dominant_frequency(ulaw_decode(data))
    assert frequency is not None and abs(frequency - 1000) < 20


async def test_ffmpeg_decodes_our_alaw_like_we_do() -> None:
    ffmpeg = require_tool("ffmpeg")
    t = np.arange(8000) / 8000
    pcm = (np.sin(2 * np.pi * 440 * t) * 12000).astype(np.int16)
    encoded = alaw_encode(pcm)
    process = await asyncio.create_subprocess_exec(
        ffmpeg,
        "-v",
        "error",
        "-f",
        "alaw",
        "-ar",
        "8000",
        "-ac",
        "1",
        "-i",
        "-",
        "-f",
        "s16le",
        "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    data, _ = await process.communicate(encoded)
    assert np.array_equal(np.frombuffer(data, dtype="<i2"), alaw_decode(encoded))


def test_silence_has_no_dominant_frequency() -> None:
    assert dominant_frequency(np.zeros(8000, np.int16)) is None
