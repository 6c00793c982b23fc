"""RTP header parse/build and timestamp unwrapping."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media import RtpError, TimestampUnwrapper, build_rtp, parse_rtp


@given(
    st.integers(0, 127),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.binary(max_size=1500),
    st.booleans(),
)
def test_build_parse_round_trip(
    pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool
) -> None:
    pkt = parse_rtp(build_rtp(pt, seq, ts, ssrc, payload, marker=marker))
    assert (pkt.payload_type, pkt.sequence, pkt.timestamp, pkt.ssrc, pkt.marker) == (
        pt,
        seq,
        ts,
        ssrc,
        marker,
    )
    assert bytes(pkt.payload) == payload


def test_csrc_extension_and_padding_are_skipped() -> None:
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 2, 96, 1, 2, 3)
    csrcs = struct.pack("!II", 10, 11)
    ext = struct.pack("!HH", 0xBEDE, 1) + b"\x01\x02\x03\x04"
    pkt = parse_rtp(header + csrcs + ext + b"payload" + b"\x00\x00\x03")
    assert bytes(pkt.payload) == b"payload"


@given(st.binary(max_size=64))
@settings(max_examples=500)
def test_garbage_raises_only_malformed(data: bytes) -> None:
    try:
        pkt = parse_rtp(data)
    except RtpError:
        return
    assert len(pkt.payload) <= len(data) - 12


@pytest.mark.parametrize(
    "data",
    [b"", bytes(11), b"\x40" + bytes(11), b"\xa0" + bytes(10) + b"\x00", b"\x8f" + bytes(20)],
)
def test_malformed_examples(data: bytes) -> None:
    with pytest.raises(RtpError):
        parse_rtp(data)


def test_unwrapper_extends_past_wrap_and_tolerates_reordering() -> None:
    u = TimestampUnwrapper()
    assert u.unwrap(0xFFFFFF00) == 0xFFFFFF00
    assert u.unwrap(0x00000100) == 0x100000100
    assert u.unwrap(0xFFFFFFF0) == 0xFFFFFFF0  # a late packet from before the wrap
    assert u.unwrap(0x00000200) == 0x100000200
    assert u.unwrap(0x00000100) == 0x100000100  # small step back is kept
