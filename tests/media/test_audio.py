"""G.711 against FFmpeg's codecs (through PyAV), and RFC 3640 AAC depacketizing."""

from __future__ import annotations

import contextlib

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media import (
    AacDepacketizer,
    AudioFormatError,
    alaw_decode,
    alaw_encode,
    g711_decode,
    g711_encode,
    ulaw_decode,
    ulaw_encode,
)


def _ffmpeg_decode(codec: str, data: bytes) -> np.ndarray:
    ctx = av.CodecContext.create(codec, "r")
    ctx.sample_rate = 8000
    ctx.layout = "mono"
    return np.concatenate([f.to_ndarray().reshape(-1) for f in ctx.decode(av.Packet(data))])


def _ffmpeg_encode(codec: str, pcm: np.ndarray) -> bytes:
    ctx = av.CodecContext.create(codec, "w")
    ctx.sample_rate, ctx.format, ctx.layout = 8000, "s16", "mono"
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = 8000
    return b"".join(bytes(p) for p in [*ctx.encode(frame), *ctx.encode(None)])


@pytest.mark.parametrize(
    ("codec", "decode", "encode"),
    [("pcm_mulaw", ulaw_decode, ulaw_encode), ("pcm_alaw", alaw_decode, alaw_encode)],
)
def test_g711_matches_ffmpeg(codec: str, decode, encode) -> None:  # type: ignore[no-untyped-def]
    codes = bytes(range(256))
    assert np.array_equal(decode(codes), _ffmpeg_decode(codec, codes))
    pcm = np.arange(-32768, 32768, dtype=np.int16)
    mine = decode(encode(pcm)).astype(np.int32)
    theirs = decode(_ffmpeg_encode(codec, pcm)).astype(np.int32)
    # nearest-code quantisation: never worse than FFmpeg's table, equal almost everywhere
    assert np.all(np.abs(mine - pcm) <= np.abs(theirs - pcm))
    assert np.mean(mine == theirs) > 0.99
    # every code survives decode → encode (µ-law's two zeros both map to a zero)
    again = np.frombuffer(encode(decode(codes)), dtype=np.uint8)
    assert np.array_equal(decode(again.tobytes()), decode(codes))


def test_tone_survives_g711_round_trip() -> None:
    t = np.arange(8000) / 8000
    pcm = (10000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    for codec in ("PCMU", "PCMA"):
        back = g711_decode(g711_encode(pcm, codec), codec)
        spectrum = np.abs(np.fft.rfft(back))
        assert abs(np.argmax(spectrum) - 1000) <= 2
    with pytest.raises(ValueError, match="PCMU or PCMA"):
        g711_encode(pcm, "G726")
    with pytest.raises(ValueError, match="int16"):
        ulaw_encode(np.zeros(4, dtype=np.float32))


def _aac_packet(sizes: list[int], data: bytes) -> bytes:
    bits = 0
    for size in sizes:
        bits = (bits << 16) | (size << 3)  # 13-bit size + 3-bit index(-delta) = 0
    header_bits = 16 * len(sizes)
    return header_bits.to_bytes(2, "big") + bits.to_bytes(2 * len(sizes), "big") + data


FMTP = {"sizelength": "13", "indexlength": "3", "indexdeltalength": "3", "mode": "AAC-hbr"}


def test_aac_several_aus_per_packet() -> None:
    out: list[tuple[bytes, int]] = []
    dep = AacDepacketizer(lambda au, ts: out.append((au, ts)), FMTP)
    dep.push(memoryview(_aac_packet([3, 5], b"abc12345")), 1000, True, 1)
    assert out == [(b"abc", 1000), (b"12345", 2024)]


def test_aac_fragmented_au_and_loss() -> None:
    out: list[tuple[bytes, int]] = []
    dep = AacDepacketizer(lambda au, ts: out.append((au, ts)), FMTP)
    au = bytes(range(200)) * 2
    dep.push(memoryview(_aac_packet([400], au[:150])), 5000, False, 10)
    dep.push(memoryview(_aac_packet([400], au[150:300])), 5000, False, 11)
    dep.push(memoryview(_aac_packet([400], au[300:])), 5000, True, 12)
    assert out == [(au, 5000)]
    dep.push(memoryview(_aac_packet([400], au[:150])), 6024, False, 13)
    dep.push(memoryview(_aac_packet([400], au[300:])), 6024, True, 15)  # 14 lost
    assert len(out) == 1 and dep.dropped == 1


@given(st.binary(max_size=100))
@settings(max_examples=300)
def test_aac_garbage_raises_only_malformed(payload: bytes) -> None:
    dep = AacDepacketizer(lambda au, ts: None, FMTP)
    with contextlib.suppress(AudioFormatError):
        dep.push(memoryview(payload), 0, True, 0)
