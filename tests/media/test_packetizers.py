"""Packetizers both ways: media's own H.264/H.265 packetizers against the depacketizers,
real x264/x265 streams through them and decoded by FFmpeg, the SPS reader against x264,
the G.711 packetizer's talkspurts, and the bound on an access unit that never ends."""

from __future__ import annotations

import tracemalloc
from fractions import Fraction

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media import (
    G711Packetizer,
    H264Depacketizer,
    H264Error,
    H264Packetizer,
    H265Depacketizer,
    H265Packetizer,
    build_rtp,
    parse_rtp,
    parse_sps,
    split_annexb,
)
from tests.media.h264_streams import encode_clip

SC = b"\x00\x00\x00\x01"


def _depacketize(
    dep_cls: type, packets: list[bytes], sprop: tuple[bytes, ...] = ()
) -> tuple[list[tuple[bytes, bool, int]], object]:
    out: list[tuple[bytes, bool, int]] = []
    dep = dep_cls(lambda d, k, t: out.append((d, k, t)), sprop)
    for pkt in packets:
        p = parse_rtp(pkt)
        dep.push(p.payload, p.timestamp, p.marker, p.sequence)
    return out, dep


def _h264_nal(nal_type: int, body: bytes) -> bytes:
    return bytes([0x60 | nal_type]) + body


@given(
    # a NAL unit never contains 00 00 0x (x ≤ 3): emulation prevention removes it
    st.lists(
        st.binary(min_size=1, max_size=4000).filter(lambda b: b"\x00\x00" not in b),
        min_size=1,
        max_size=6,
    ),
    st.integers(64, 1500),
)
@settings(max_examples=150, deadline=None)
def test_h264_packetizer_round_trips(bodies: list[bytes], mtu: int) -> None:
    sps, pps = bytes.fromhex("6742c01fda0507ec05a8"), bytes.fromhex("68ce3c80")
    # bodies end in a non-zero byte, as every NAL unit does (rbsp_stop_one_bit)
    idr = _h264_nal(5, bodies[0] + b"\x80")
    aus = [SC + sps + SC + pps + SC + idr] + [SC + _h264_nal(1, b + b"\x80") for b in bodies[1:]]
    packetizer = H264Packetizer(96, ssrc=7, sequence=65530, mtu=mtu)
    packets = [p for i, au in enumerate(aus) for p in packetizer.packetize(au, i * 3600)]
    assert all(len(p) - 12 <= mtu for p in packets)
    markers = [parse_rtp(p).marker for p in packets]
    assert sum(markers) == len(aus) and markers[-1]
    out, dep = _depacketize(H264Depacketizer, packets)
    assert [d for d, _, _ in out] == aus
    assert [k for _, k, _ in out] == [True] + [False] * (len(aus) - 1)
    assert dep.gaps == 0 and dep.dropped == 0  # type: ignore[attr-defined]


def _encode(codec: str, frames: int, width: int, height: int) -> list[bytes]:
    ctx = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base = Fraction(1, 25)
    if codec == "libx265":
        ctx.options = {"preset": "ultrafast", "x265-params": "bframes=0:keyint=10:log-level=none"}
    else:
        ctx.options = {"bframes": "0", "g": "10", "preset": "ultrafast"}
    out: list[bytes] = []
    for i in range(frames):
        img = np.full((height, width, 3), (i * 7) % 255, dtype=np.uint8)
        img[: height // 2, : width // 3] = (250, 20, 20)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        out.extend(bytes(p) for p in ctx.encode(frame))
    out.extend(bytes(p) for p in ctx.encode(None))
    return out


def _decode(codec: str, aus: list[bytes]) -> list[av.VideoFrame]:
    decoder = av.CodecContext.create(codec, "r")
    frames = []
    for au in aus:
        frames += decoder.decode(av.Packet(au))
    frames += decoder.decode(None)
    return frames


@pytest.mark.parametrize(
    ("encoder", "decoder", "packetizer", "depacketizer"),
    [
        ("libx264", "h264", H264Packetizer, H264Depacketizer),
        ("libx265", "hevc", H265Packetizer, H265Depacketizer),
    ],
)
def test_real_streams_through_both_directions_decode(
    encoder: str, decoder: str, packetizer: type, depacketizer: type
) -> None:
    aus = _encode(encoder, 30, 320, 240)
    pk = packetizer(96, mtu=600)
    packets = [p for i, au in enumerate(aus) for p in pk.packetize(au, i * 3600)]
    out, dep = _depacketize(depacketizer, packets)
    assert len(out) == 30 and dep.dropped == 0  # type: ignore[attr-defined]
    assert sum(k for _, k, _ in out) == 3  # keyint 10
    frames = _decode(decoder, [d for d, _, _ in out])
    assert len(frames) == 30 and (frames[0].width, frames[0].height) == (320, 240)


def test_h265_parameter_sets_from_the_sdp_go_before_each_keyframe() -> None:
    aus = _encode("libx265", 12, 160, 128)
    units = [split_annexb(au) for au in aus]
    params = [n for au in units for n in au if (n[0] >> 1) & 0x3F in (32, 33, 34)]
    vps, sps, pps = params[:3]
    stripped = [
        b"".join(SC + n for n in au if (n[0] >> 1) & 0x3F not in (32, 33, 34)) for au in units
    ]
    packets = [
        p for i, au in enumerate(stripped) for p in H265Packetizer(96, sequence=0).packetize(au, i)
    ]
    # one packetizer per AU restarts the sequence: number them again for the depacketizer
    packets = [
        build_rtp(
            96,
            n,
            parse_rtp(p).timestamp,
            1,
            bytes(parse_rtp(p).payload),
            marker=parse_rtp(p).marker,
        )
        for n, p in enumerate(packets)
    ]
    out, _ = _depacketize(H265Depacketizer, packets, (vps, sps, pps))
    assert len(out) == 12
    assert out[0][0].startswith(SC + vps + SC + sps + SC + pps)
    assert len(_decode("hevc", [d for d, _, _ in out])) == 12


@pytest.mark.parametrize(("width", "height"), [(320, 240), (1920, 1080), (640, 360), (176, 144)])
def test_sps_dimensions_match_x264(width: int, height: int) -> None:
    au = encode_clip(1, width, height)[0]
    sps = next(n for n in split_annexb(au) if n[0] & 0x1F == 7)
    parsed = parse_sps(sps)
    assert (parsed.width, parsed.height) == (width, height)
    assert parsed.profile_level_id == sps[1:4].hex()


@given(st.binary(max_size=64))
@settings(max_examples=500)
def test_sps_garbage_raises_only_h264_error(data: bytes) -> None:
    try:
        sps = parse_sps(b"\x67" + data)
    except H264Error:
        return
    assert sps.width > 0 and sps.height > 0


@given(st.binary(max_size=1500), st.integers(0, 0xFFFF), st.booleans())
@settings(max_examples=500)
def test_h265_garbage_never_raises(payload: bytes, seq: int, marker: bool) -> None:
    dep = H265Depacketizer(lambda d, k, t: None)
    dep.push(memoryview(payload), 1, marker, seq)
    dep.push(memoryview(payload[::-1]), 2, True, seq + 1)


def test_g711_packetizer_talkspurts() -> None:
    pk = G711Packetizer(8, ssrc=5, sequence=65535, timestamp=1000)
    first, packets = pk.packetize(bytes(400), now=10.0)
    parsed = [parse_rtp(p) for p in packets]
    assert first == 1000
    assert [len(p.payload) for p in parsed] == [160, 160, 80]
    assert [p.sequence for p in parsed] == [65535, 0, 1]
    assert [p.timestamp for p in parsed] == [1000, 1160, 1320]
    assert [p.marker for p in parsed] == [True, False, False]
    # steady: the next 20 ms continue without a marker
    first, packets = pk.packetize(bytes(160), now=10.05)
    assert first == 1400 and not parse_rtp(packets[0]).marker
    # a dropped chunk keeps the timeline; a pause of 1 s is a new talkspurt
    assert pk.skip(160, now=10.07) == 1560
    first, packets = pk.packetize(bytes(160), now=11.2)
    assert parse_rtp(packets[0]).marker
    assert abs(first - (1720 + (11.2 - 10.09) * 8000)) <= 1  # the pause is kept in the timeline


def test_hostile_access_unit_without_end_is_bounded() -> None:
    """One timestamp, no marker, forever: memory stays flat and the loss is counted."""
    out: list[bytes] = []
    dep = H264Depacketizer(lambda d, k, t: out.append(d), max_bytes=1 << 20)
    payload = memoryview(b"\x61" + bytes(1399))  # single NAL units, type 1
    tracemalloc.start()
    try:
        for seq in range(5000):  # 7 MB sent
            dep.push(payload, 1234, False, seq & 0xFFFF)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 << 20
    assert dep.oversized == 1 and out == []
    # the stream recovers at the next keyframe with parameter sets
    dep.push(memoryview(bytes.fromhex("6742c01fda0507ec05a8")), 5000, False, 5000)
    dep.push(memoryview(bytes.fromhex("68ce3c80")), 5000, False, 5001)
    dep.push(memoryview(b"\x65" + bytes(100)), 5000, True, 5002)
    assert len(out) == 1
