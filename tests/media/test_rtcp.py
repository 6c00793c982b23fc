"""RTCP: round trips of every report kind, garbage, and reception statistics (RFC 3550)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media import (
    Bye,
    ReceiverReport,
    ReceptionStats,
    ReportBlock,
    RtcpError,
    SenderReport,
    SourceDescription,
    encode_rtcp,
    ntp_timestamp,
    parse_rtcp,
)

u32 = st.integers(0, 0xFFFFFFFF)
blocks = st.builds(
    ReportBlock,
    u32,
    st.integers(0, 255),
    st.integers(-(1 << 23), (1 << 23) - 1),
    u32,
    u32,
    u32,
    u32,
)
packets = st.one_of(
    st.builds(
        SenderReport,
        u32,
        st.integers(0, (1 << 64) - 1),
        u32,
        u32,
        u32,
        st.lists(blocks, max_size=3).map(tuple),
    ),
    st.builds(ReceiverReport, u32, st.lists(blocks, max_size=3).map(tuple)),
    st.builds(
        SourceDescription,
        st.lists(
            st.tuples(
                u32,
                st.lists(st.tuples(st.integers(1, 8), st.binary(max_size=40)), max_size=3).map(
                    tuple
                ),
            ),
            max_size=3,
        ).map(tuple),
    ),
    st.builds(Bye, st.lists(u32, max_size=4).map(tuple), st.text("abc xyz", max_size=30)),
)


@given(st.lists(packets, min_size=1, max_size=4))
@settings(max_examples=300)
def test_compound_round_trips(compound: list[object]) -> None:
    data = encode_rtcp(*compound)  # type: ignore[arg-type]
    assert len(data) % 4 == 0
    assert parse_rtcp(data) == compound


@given(st.binary(max_size=200))
@settings(max_examples=800)
def test_garbage_raises_only_rtcp_error(data: bytes) -> None:
    with contextlib.suppress(RtcpError):
        parse_rtcp(data)


@pytest.mark.parametrize(
    "data", [b"", b"\x80\xc9", b"\x40\xc9\x00\x01" + bytes(4), b"\x81\xc9\x00\x01" + bytes(4)]
)
def test_malformed(data: bytes) -> None:
    with pytest.raises(RtcpError):
        parse_rtcp(data)


def test_reception_stats_count_loss_wrap_and_fraction() -> None:
    stats = ReceptionStats(90000)
    stats.reset(0xABC)
    seqs = [65530 + i for i in range(6)] + [0, 1, 2, 5, 6, 7]  # 3 and 4 lost across the wrap
    for i, seq in enumerate(seqs):
        stats.update(seq & 0xFFFF, i * 3600, i * 0.04)
    assert stats.expected == 14 and stats.received == 12 and stats.lost == 2
    block = stats.report(now=1.0)
    assert block.ssrc == 0xABC and block.cumulative_lost == 2
    assert block.highest_sequence == 0x10000 + 7
    assert block.fraction_lost == (2 << 8) // 14
    assert block.jitter == 0  # perfectly paced
    # a reordered late packet is received, not a new maximum
    stats.update(4, 3600 * 20, 0.8)
    assert stats.lost == 1 and stats.report(now=2.0).fraction_lost == 0


def test_jitter_and_lsr_dlsr() -> None:
    stats = ReceptionStats(8000)
    arrival = 0.0
    for i in range(100):
        arrival += 0.02 + (0.005 if i % 2 else -0.005)
        stats.update(i, i * 160, arrival)
    assert 20 < stats.jitter < 60  # about 5 ms of wobble at 8 kHz
    ntp = ntp_timestamp(1_700_000_000.5)
    stats.sender_report(ntp, arrival=10.0)
    block = stats.report(now=10.5)
    assert block.last_sr == (ntp >> 16) & 0xFFFFFFFF
    assert block.delay_since_last_sr == 32768  # half a second in 1/65536 s
