"""RFC 6184 depacketizer: reassembly round trips, loss, SPS/PPS insertion, real decode."""

from __future__ import annotations

import random

import av
from hypothesis import given, settings
from hypothesis import strategies as st

from media import H264Depacketizer, build_rtp, parse_rtp, split_annexb
from tests.media.h264_streams import encode_clip, rtp_stream

SC = b"\x00\x00\x00\x01"
SPS = bytes.fromhex("6742c01fda0507ec05a8")
PPS = bytes.fromhex("68ce3c80")


def _nal(draw: st.DrawFn, nal_type: int) -> bytes:
    nri = draw(st.integers(1, 3)) << 5
    return bytes([nri | nal_type]) + draw(st.binary(min_size=0, max_size=3000))


@st.composite
def _stream(draw: st.DrawFn) -> list[list[bytes]]:
    aus: list[list[bytes]] = [[SPS, PPS, _nal(draw, 5)]]
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["p", "p", "idr", "sei+p"]))
        if kind == "idr":
            aus.append([_nal(draw, 9), SPS, PPS, _nal(draw, 5)])
        elif kind == "sei+p":
            aus.append([_nal(draw, 6), _nal(draw, 1), _nal(draw, 1)])
        else:
            aus.append([_nal(draw, 1)])
    return aus


def _run(
    packets: list[bytes], sprop: tuple[bytes, ...] = ()
) -> tuple[list[tuple[bytes, bool, int]], H264Depacketizer]:
    out: list[tuple[bytes, bool, int]] = []
    dep = H264Depacketizer(lambda d, k, t: out.append((d, k, t)), sprop)
    for pkt in packets:
        p = parse_rtp(pkt)
        dep.push(p.payload, p.timestamp, p.marker, p.sequence)
    return out, dep


@given(_stream(), st.integers(0, 2**32 - 1), st.integers(40, 1400))
@settings(max_examples=150, deadline=None)
def test_random_fragmentation_round_trips(aus: list[list[bytes]], seed: int, mtu: int) -> None:
    out, dep = _run(rtp_stream(aus, mtu=mtu, seed=seed))
    assert [d for d, _, _ in out] == [b"".join(SC + n for n in au) for au in aus]
    assert [k for _, k, _ in out] == [any(n[0] & 0x1F == 5 for n in au) for au in aus]
    assert dep.gaps == 0 and dep.dropped == 0


@given(_stream(), st.integers(0, 2**32 - 1), st.data())
@settings(max_examples=150, deadline=None)
def test_loss_drops_broken_au_and_waits_for_idr(
    aus: list[list[bytes]], seed: int, data: st.DataObject
) -> None:
    packets = rtp_stream(aus, mtu=300, seed=seed)
    if len(packets) < 2:
        return
    # a gap is only visible after the first packet of the session
    lost = data.draw(st.integers(1, len(packets) - 1))
    markers = [parse_rtp(pkt).marker for pkt in packets]
    lost_au = sum(markers[:lost])
    out, dep = _run(packets[:lost] + packets[lost + 1 :])
    # The AU that lost a packet is dropped; if the lost packet was its last one the next
    # AU is dropped too (the gap could have been its head); then wait for an IDR.
    skip_to = lost_au + (2 if markers[lost] else 1)
    expected = [b"".join(SC + n for n in au) for au in aus[:lost_au]]
    waiting = True
    for au in aus[skip_to:]:
        waiting = waiting and not any(n[0] & 0x1F == 5 for n in au)
        if not waiting:
            expected.append(b"".join(SC + n for n in au))
    assert [d for d, _, _ in out] == expected
    assert dep.gaps == (0 if lost == len(packets) - 1 else 1)


def test_sps_pps_inserted_before_idr_after_aud() -> None:
    aud = bytes([0x09, 0xF0])
    idr = bytes([0x65]) + b"\x88" * 50
    packets = rtp_stream([[aud, idr], [bytes([0x41, 1, 2])], [idr]], seed=1)
    out, _ = _run(packets, sprop=(SPS, PPS))
    assert out[0][0] == SC + aud + SC + SPS + SC + PPS + SC + idr
    assert out[0][1] is True
    assert out[1][0] == SC + bytes([0x41, 1, 2])
    assert out[2][0] == SC + SPS + SC + PPS + SC + idr


def test_idr_without_any_parameter_sets_is_held_back() -> None:
    idr = bytes([0x65]) + b"\x11" * 20
    out, dep = _run(rtp_stream([[idr], [bytes([0x41, 5])], [SPS, PPS, idr]], seed=2))
    assert [k for _, k, _ in out] == [True]
    assert dep.dropped == 2


def test_timestamp_change_closes_au_without_marker() -> None:
    p1 = build_rtp(96, 1, 1000, 7, SPS)
    p2 = build_rtp(96, 2, 1000, 7, PPS)
    p3 = build_rtp(96, 3, 1000, 7, b"\x65\x01\x02")  # marker lost/never set
    p4 = build_rtp(96, 4, 4600, 7, b"\x41\x09", marker=True)
    out, _ = _run([p1, p2, p3, p4])
    assert [(k, t) for _, k, t in out] == [(True, 1000), (False, 4600)]


@given(st.lists(st.binary(max_size=200), max_size=40))
@settings(max_examples=300)
def test_garbage_payloads_never_raise(payloads: list[bytes]) -> None:
    dep = H264Depacketizer(lambda d, k, t: None, (SPS, PPS))
    for i, payload in enumerate(payloads):
        dep.push(memoryview(payload), i // 3, i % 3 == 2, i)


def test_real_x264_stream_survives_and_decodes_with_sprop_only() -> None:
    aus = [split_annexb(au) for au in encode_clip(30, 320, 240)]
    sps = next(n for au in aus for n in au if n[0] & 0x1F == 7)
    pps = next(n for au in aus for n in au if n[0] & 0x1F == 8)
    # a camera that sends SPS/PPS only in the SDP: strip them from the stream
    stripped = [[n for n in au if n[0] & 0x1F not in (7, 8)] for au in aus]
    out, _ = _run(rtp_stream(stripped, mtu=1400, seed=3), sprop=(sps, pps))
    assert len(out) == 30
    decoder = av.CodecContext.create("h264", "r")
    decoded = []
    # start at the second keyframe, as a late viewer would: it must decode on its own
    start = [i for i, (_, k, _) in enumerate(out) if k][1]
    for data, _, _ in out[start:]:
        decoded.extend(decoder.decode(av.Packet(data)))
    decoded.extend(decoder.decode(None))
    assert len(decoded) == 30 - start
    assert {(f.width, f.height) for f in decoded} == {(320, 240)}


def test_split_annexb() -> None:
    assert split_annexb(SC + SPS + b"\x00\x00\x01" + PPS) == [SPS, PPS]
    assert split_annexb(b"") == []
    rnd = random.Random(0).randbytes(10)
    assert split_annexb(SC + b"\x41" + rnd.replace(b"\x00", b"\x01")) == [
        b"\x41" + rnd.replace(b"\x00", b"\x01")
    ]
