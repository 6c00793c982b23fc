"""MPEG-PS for GB/T 28181: muxer ↔ demuxer round trips, the layout platforms need (checked
by an independent walker), RTP packetizing, RFC 4571 framing, FFmpeg reading real x264
and x265 streams out of our PS, and garbage that only ever raises PsError."""

from __future__ import annotations

import contextlib
import random
import subprocess
from fractions import Fraction

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media import (
    MediaFrame,
    PsDemuxer,
    PsError,
    PsFrame,
    PsMuxer,
    PsPacketizer,
    Rfc4571Decoder,
    RtpError,
    build_rtp,
    encode_rfc4571,
    parse_rtp,
)

SSRC = int("0200009319")
# mostly small frames, some larger than one PES (64 KiB)
_SIZES = st.one_of(st.integers(0, 3000), st.integers(65_000, 200_000))


def _crc32_mpeg2(data: bytes) -> int:
    """Bit-by-bit CRC-32/MPEG-2: an oracle independent of the muxer's table."""
    crc = 0xFFFFFFFF
    for byte in data:
        for bit in range(7, -1, -1):
            top = ((crc >> 31) & 1) ^ ((byte >> bit) & 1)
            crc = ((crc << 1) & 0xFFFFFFFF) ^ (0x04C11DB7 if top else 0)
    return crc


def _pts(b: bytes, i: int) -> int:
    return (
        ((b[i] >> 1) & 7) << 30
        | b[i + 1] << 22
        | (b[i + 2] >> 1) << 15
        | b[i + 3] << 7
        | b[i + 4] >> 1
    )


def _walk(ps: bytes) -> list[tuple[str, int, bytes]]:
    """Units of a PS buffer as (kind, stream id, bytes), asserting the framing."""
    units: list[tuple[str, int, bytes]] = []
    pos = 0
    while pos < len(ps):
        assert ps[pos : pos + 3] == b"\x00\x00\x01", f"no start code at {pos}"
        sid = ps[pos + 3]
        if sid == 0xBA:
            assert ps[pos + 4] >> 6 == 1  # MPEG-2 pack header
            size = 14 + (ps[pos + 13] & 7)
            units.append(("pack", sid, ps[pos : pos + size]))
        else:
            size = 6 + int.from_bytes(ps[pos + 4 : pos + 6], "big")
            kind = {0xBB: "system", 0xBC: "psm"}.get(sid, "pes")
            units.append((kind, sid, ps[pos : pos + size]))
        pos += size
    assert pos == len(ps)
    return units


def _frames(seed: int, sizes: list[int]) -> list[bytes]:
    rng = random.Random(seed)
    return [b"\x00\x00\x00\x01\x65" + rng.randbytes(size) for size in sizes]


def _feed_in_chunks(demuxer: PsDemuxer, data: bytes, rng: random.Random) -> list[PsFrame]:
    out: list[PsFrame] = []
    pos = 0
    while pos < len(data):
        step = rng.choice((1, 7, 188, 1400, 5000, 70000))
        out += demuxer.feed(data[pos : pos + step])
        pos += step
    return out + demuxer.flush()


@given(
    st.lists(
        st.tuples(st.sampled_from(["video", "audio"]), _SIZES, st.booleans()),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from([("H264", "PCMA"), ("H265", "PCMU")]),
    st.integers(0, 2**32),
    st.integers(0, 2**33 - 1),
)
@settings(max_examples=60, deadline=None)
def test_mux_demux_round_trip(
    events: list[tuple[str, int, bool]], codecs: tuple[str, str], seed: int, start: int
) -> None:
    rng = random.Random(seed)
    muxer = PsMuxer(*codecs)
    wire = b""
    videos: list[tuple[int, bytes]] = []
    audios: list[tuple[int, bytes]] = []
    for index, (kind, size, key) in enumerate(events):
        pts = (start + index * 3600) % 2**33
        if kind == "video":
            data = b"\x00\x00\x00\x01\x65" + rng.randbytes(size)
            wire += muxer.mux_video(data, pts, keyframe=key)
            videos.append((pts, data))
        else:
            data = rng.randbytes(size % 1600 + 1)
            wire += muxer.mux_audio(data, pts)
            audios.append((pts, data))
    demuxer = PsDemuxer()
    out = _feed_in_chunks(demuxer, wire, rng)
    assert [(f.pts, f.data) for f in out if f.kind == "video"] == videos
    assert [(f.pts, f.data) for f in out if f.kind == "audio"] == audios
    assert {f.codec for f in out} <= set(codecs)
    assert demuxer.skipped == 0 and demuxer.dropped == 0


@given(st.lists(_SIZES, min_size=1, max_size=6), st.integers(0, 2**32))
@settings(max_examples=40, deadline=None)
def test_layout_platforms_expect(sizes: list[int], seed: int) -> None:
    muxer = PsMuxer("H264", "PCMA")
    for index, frame in enumerate(_frames(seed, sizes)):
        keyframe = index % 3 == 0
        pts = 90_000 + index * 3600
        units = _walk(muxer.mux_video(frame, pts, keyframe=keyframe))
        kinds = [kind for kind, _, _ in units]
        assert kinds[0] == "pack"  # every packet starts with a pack header …
        scr = units[0][2]
        scr_base = (
            ((scr[4] >> 3) & 7) << 30
            | (scr[4] & 3) << 28
            | scr[5] << 20
            | (scr[6] >> 3) << 15
            | (scr[6] & 3) << 13
            | scr[7] << 5
            | scr[8] >> 3
        )
        assert scr_base == pts - 3600  # … with the SCR 40 ms before the PTS
        if keyframe or index == 0:  # system header + PSM after it on every keyframe
            assert kinds[1:3] == ["system", "psm"]
            psm = units[2][2]
            assert _crc32_mpeg2(psm) == 0
            assert psm[12:20] == bytes((0x1B, 0xE0, 0, 0, 0x90, 0xC0, 0, 0))
        else:
            assert "psm" not in kinds and "system" not in kinds
        pes = [unit for kind, _, unit in units if kind == "pes"]
        assert all(len(p) < 65536 and len(p) - 6 <= 0xFF80 for p in pes)
        assert pes[0][6] == 0x84 and pes[0][7] == 0xC0  # aligned, PTS and DTS
        assert _pts(pes[0], 9) == pts and _pts(pes[0], 14) == pts
        assert all(p[7] == 0 for p in pes[1:])  # the rest of a split frame carries none
        assert b"".join(p[9 + p[8] :] for p in pes) == frame


def test_audio_packets_and_audio_only_psm() -> None:
    muxer = PsMuxer(None, "PCMA")
    packets = [muxer.mux_audio(bytes(160), i * 1800) for i in range(61)]
    with_psm = [i for i, p in enumerate(packets) if any(k == "psm" for k, _, _ in _walk(p))]
    assert with_psm == [0, 30, 60]
    kind, sid, pes = _walk(packets[1])[1]
    assert (kind, sid) == ("pes", 0xC0) and _pts(pes, 9) == 1800 and pes[7] == 0x80
    frames = PsDemuxer().feed(b"".join(packets))
    assert [f.codec for f in frames] == ["PCMA"] * 61 and frames[2].pts == 3600


def test_mux_media_frames_rescales_to_90khz() -> None:
    muxer = PsMuxer("H265", "PCMU")
    video = MediaFrame("video", "H265", 90000, 123456, True, b"\x00\x00\x01\x26\x01\xaa", 0.0)
    audio = MediaFrame("audio", "PCMU", 8000, 8000, False, b"\xff" * 160, 0.0)
    demuxer = PsDemuxer()
    (video_pts, video_ps), (audio_pts, audio_ps) = muxer.mux(video), muxer.mux(audio)
    assert (video_pts, audio_pts) == (123456, 90000)
    out = demuxer.feed(video_ps + audio_ps) + demuxer.flush()
    assert [(f.codec, f.pts) for f in out] == [("PCMU", 90000), ("H265", 123456)]
    with pytest.raises(ValueError, match="does not carry"):
        muxer.mux(MediaFrame("audio", "PCMA", 8000, 0, False, b"", 0.0))


def test_demuxer_without_system_header_or_psm_and_with_repeated_pts() -> None:
    h264 = b"\x00\x00\x00\x01\x09\xf0\x00\x00\x00\x01\x67\x42"
    h265 = b"\x00\x00\x00\x01\x46\x01\x50\x00\x00\x00\x01\x40\x01\x0c"
    for codec, au in (("H264", h264), ("H265", h265)):
        units = [
            unit
            for n in (1, 2)
            for kind, _, unit in _walk(
                PsMuxer(codec, None).mux_video(au + bytes(n), n, keyframe=True)
            )
            if kind in ("pack", "pes")
        ]
        stream = b"".join(units)
        frames = PsDemuxer().feed(stream)
        assert [(f.codec, f.pts) for f in frames] == [(codec, 1)]
    # a sender that puts the same PTS on every PES of a frame: still one frame
    big = _frames(1, [150_000])[0]
    pes = [u for kind, _, u in _walk(PsMuxer().mux_video(big, 7, keyframe=True)) if kind == "pes"]
    stamp = pes[0][6:19]  # flags, header length 10, PTS and DTS
    stamped = pes[0] + b"".join(
        p[:4] + (len(p) - 6 + 10).to_bytes(2, "big") + stamp + p[9:] for p in pes[1:]
    )
    demuxer = PsDemuxer()
    frames = demuxer.feed(stamped) + demuxer.flush()
    assert [(f.pts, f.data) for f in frames] == [(7, big)]


def test_demuxer_resyncs_after_garbage_between_packets() -> None:
    muxer = PsMuxer()
    packets = [
        muxer.mux_video(f, i * 3600, keyframe=i == 0) for i, f in enumerate(_frames(3, [900] * 6))
    ]
    junk = b"\x00\x00\x01\x09garbage\x00\x00\x01" + bytes(range(256))
    demuxer = PsDemuxer()
    frames = demuxer.feed(packets[0] + packets[1] + junk + b"".join(packets[2:])) + demuxer.flush()
    assert [f.pts for f in frames] == [i * 3600 for i in range(6)]
    assert demuxer.skipped == len(junk)


def test_reset_after_loss_drops_the_broken_frame_only() -> None:
    muxer = PsMuxer()
    packets = [muxer.mux_video(f, i, keyframe=i == 0) for i, f in enumerate(_frames(4, [3000] * 3))]
    demuxer = PsDemuxer()
    assert demuxer.feed(packets[0]) == [] and demuxer.flush()[0].pts == 0
    demuxer.feed(packets[1][:1400])  # the rest of frame 1 is lost
    demuxer.reset()
    frames = demuxer.feed(packets[2]) + demuxer.flush()
    assert [(f.pts, f.codec) for f in frames] == [(2, "H264")]  # the PSM is remembered
    assert demuxer.buffered == 0


def test_a_stream_that_is_not_ps_raises_ps_error() -> None:
    demuxer = PsDemuxer()
    with pytest.raises(PsError, match="not a program stream"):
        for _ in range(1500):  # 282 KB
            demuxer.feed(b"\x47" + bytes(range(1, 188)))  # MPEG-TS packets


@given(st.lists(st.binary(max_size=3000), max_size=8))
@settings(max_examples=300, deadline=None)
def test_garbage_raises_only_ps_error(chunks: list[bytes]) -> None:
    demuxer = PsDemuxer()
    for chunk in chunks:
        with contextlib.suppress(PsError):
            demuxer.feed(chunk)
    demuxer.flush()


@given(st.binary(max_size=4000), st.integers(0, 2**32))
@settings(max_examples=200, deadline=None)
def test_mutated_ps_raises_only_ps_error(noise: bytes, seed: int) -> None:
    rng = random.Random(seed)
    muxer = PsMuxer()
    wire = bytearray(
        b"".join(
            muxer.mux_video(f, i, keyframe=True)
            for i, f in enumerate(_frames(seed, [300, 70_000, 50]))
        )
    )
    for _ in range(rng.randint(1, 20)):  # flip bytes and splice noise in
        at = rng.randrange(len(wire))
        wire[at : at + rng.randint(0, 8)] = noise[: rng.randint(0, 16)] or bytes(
            [rng.randrange(256)]
        )
    demuxer = PsDemuxer()
    with contextlib.suppress(PsError):
        _feed_in_chunks(demuxer, bytes(wire), rng)


@given(st.integers(0, 30_000), st.integers(64, 1400), st.integers(0, 0xFFFF))
@settings(max_examples=100, deadline=None)
def test_packetizer_splits_one_frame(size: int, mtu: int, sequence: int) -> None:
    ps = random.Random(size).randbytes(size)
    packetizer = PsPacketizer(SSRC, sequence=sequence, mtu=mtu)
    packets = [parse_rtp(p) for p in packetizer.packetize(ps, 0x1_2345_6789 & 0xFFFFFFFF)]
    assert all(len(p.payload) <= mtu for p in packets)
    assert {(p.payload_type, p.ssrc, p.timestamp) for p in packets} == {(96, SSRC, 0x23456789)}
    assert [p.marker for p in packets] == [False] * (len(packets) - 1) + [True]
    assert [p.sequence for p in packets] == [(sequence + i) & 0xFFFF for i in range(len(packets))]
    assert b"".join(bytes(p.payload) for p in packets) == ps
    assert packetizer.sequence == (sequence + len(packets)) & 0xFFFF


def test_default_payload_size_is_1400() -> None:
    packets = PsPacketizer(SSRC, sequence=0).packetize(bytes(5000), 0)
    assert [len(parse_rtp(p).payload) for p in packets] == [1400, 1400, 1400, 800]
    assert SSRC == 0x0BEBE667  # gb28181.md §5.6


@given(st.lists(st.binary(min_size=0, max_size=3000), max_size=10), st.data())
@settings(max_examples=200, deadline=None)
def test_rfc4571_round_trip_at_any_split(payloads: list[bytes], data: st.DataObject) -> None:
    packets = [build_rtp(96, i, 0, SSRC, p) for i, p in enumerate(payloads)]
    wire = b"".join(encode_rfc4571(p) for p in packets) + b"\x00\x00"  # an empty frame
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=12)))
    decoder = Rfc4571Decoder()
    out: list[bytes] = []
    prev = 0
    for cut in [*cuts, len(wire)]:
        out += decoder.feed(wire[prev:cut])
        prev = cut
    assert out == packets and decoder.buffered == 0


def test_rfc4571_refuses_lost_framing() -> None:
    with pytest.raises(RtpError, match="exceeds the 10240-byte limit"):
        Rfc4571Decoder(max_packet=10240).feed(b"\x30\x00\x80")
    with pytest.raises(RtpError, match="not RTP version 2"):
        Rfc4571Decoder().feed(b"\x00\x0c\x47\x40")
    with pytest.raises(ValueError, match="65535"):
        encode_rfc4571(bytes(70000))


# ------------------------------------------------------------------ real streams
def _encode(codec: str, frames: int, width: int, height: int) -> list[bytes]:
    """Annex-B access units; noise makes keyframes larger than one PES (64 KiB)."""
    ctx = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base = Fraction(1, 25)
    if codec == "libx265":
        ctx.options = {
            "preset": "ultrafast",
            "x265-params": "bframes=0:keyint=10:crf=4:log-level=none",
        }
    else:
        ctx.options = {"bframes": "0", "g": "10", "preset": "ultrafast", "crf": "8"}
    rng = np.random.default_rng(7)
    out: list[bytes] = []
    for i in range(frames):
        img = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        img[: height // 2] = (i * 9) % 255
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        out.extend(bytes(p) for p in ctx.encode(frame))
    out.extend(bytes(p) for p in ctx.encode(None))
    return out


def _keyframe(codec: str, au: bytes) -> bool:
    nal_types = {5} if codec == "H264" else set(range(16, 24))
    for part in au.split(b"\x00\x00\x01")[1:]:
        if not part:
            continue
        kind = part[0] & 0x1F if codec == "H264" else (part[0] >> 1) & 0x3F
        if kind in nal_types:
            return True
    return False


def _run(args: list[str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, input=stdin, capture_output=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("encoder", "codec", "name"), [("libx264", "H264", "h264"), ("libx265", "H265", "hevc")]
)
def test_ffmpeg_reads_every_frame_of_our_ps(encoder: str, codec: str, name: str) -> None:
    aus = _encode(encoder, 30, 480, 272)
    assert max(len(au) for au in aus) > 65536  # frames split over several PES
    muxer = PsMuxer(codec, "PCMA")
    packetizer = PsPacketizer(SSRC)
    rtp: list[bytes] = []
    for i, au in enumerate(aus):
        pts = 90_000 + i * 3600
        rtp += packetizer.packetize(muxer.mux_video(au, pts, keyframe=_keyframe(codec, au)), pts)
        rtp += packetizer.packetize(muxer.mux_audio(bytes(320), pts), pts)
    # what a receiver does: payloads in sequence order, RTP over TCP framing on the way
    received = Rfc4571Decoder().feed(b"".join(encode_rfc4571(p) for p in rtp))
    ps = b"".join(bytes(parse_rtp(p).payload) for p in received)

    probe = _run(
        ["ffprobe", "-v", "error", "-f", "mpeg", "-i", "pipe:0", "-show_entries",
         "stream=codec_name,width,height", "-of", "compact"], ps,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert f"stream|codec_name={name}|width=480|height=272" in probe.stdout.decode()
    decode = _run(
        ["ffmpeg", "-v", "error", "-f", "mpeg", "-i", "pipe:0", "-map", "0:v", "-f", "null", "-"],
        ps,
    )
    assert decode.returncode == 0 and decode.stderr == b"", decode.stderr
    count = _run(
        ["ffprobe", "-v", "error", "-f", "mpeg", "-i", "pipe:0", "-select_streams", "v",
         "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"], ps,
    )  # fmt: skip
    assert int(count.stdout.decode().strip()) == len(aus) == 30

    demuxer = PsDemuxer()
    frames = demuxer.feed(ps) + demuxer.flush()
    assert [f.data for f in frames if f.kind == "video"] == aus
    assert all(f.codec == "PCMA" and f.data == bytes(320) for f in frames if f.kind == "audio")
