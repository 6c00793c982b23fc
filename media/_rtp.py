"""RTP fixed header (RFC 3550 §5.1): parse and build.  Pure core, hot path.

``parse_rtp`` returns a small NamedTuple whose payload is a ``memoryview`` slice of the
packet, so no payload bytes are copied.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from media._errors import RtpError

__all__ = [
    "RtpPacket",
    "TimestampUnwrapper",
    "build_rtp",
    "parse_rtp",
    "sequence_delta",
    "timestamp_delta",
]

_FIXED = struct.Struct("!BBHII")
_EXT = struct.Struct("!HH")


class RtpPacket(NamedTuple):
    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    ssrc: int
    payload: memoryview


def parse_rtp(packet: bytes | memoryview) -> RtpPacket:
    """Parse one RTP packet; raise :class:`RtpError` if it is not RTP v2."""
    size = len(packet)
    if size < 12:
        raise RtpError(f"RTP packet of {size} bytes is shorter than its 12-byte header")
    b0, b1, seq, ts, ssrc = _FIXED.unpack_from(packet)
    if b0 >> 6 != 2:
        raise RtpError(f"RTP version {b0 >> 6} is not 2")
    start = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:
        if size < start + 4:
            raise RtpError("RTP header extension is truncated")
        start += 4 + 4 * _EXT.unpack_from(packet, start)[1]
    end = size
    if b0 & 0x20:
        pad = packet[size - 1]
        if pad == 0 or start + pad > size:
            raise RtpError(f"RTP padding of {pad} bytes does not fit the packet")
        end -= pad
    if start > end:
        raise RtpError("RTP header (CSRC list or extension) is longer than the packet")
    view = packet if isinstance(packet, memoryview) else memoryview(packet)
    return RtpPacket(b1 & 0x7F, bool(b1 & 0x80), seq, ts, ssrc, view[start:end])


def build_rtp(
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes | memoryview,
    *,
    marker: bool = False,
) -> bytes:
    """Build an RTP v2 packet without CSRCs, extension or padding."""
    if not 0 <= payload_type <= 127:
        raise ValueError(f"RTP payload type {payload_type} is outside 0..127")
    header = _FIXED.pack(
        0x80,
        payload_type | (0x80 if marker else 0),
        sequence & 0xFFFF,
        timestamp & 0xFFFFFFFF,
        ssrc & 0xFFFFFFFF,
    )
    return header + bytes(payload)


class TimestampUnwrapper:
    """Extend 32-bit RTP timestamps to a monotonic-ish 64-bit count across wraps.

    Consumers (recorder, muxers) need timestamps that do not jump back every
    13.25 h (90 kHz) or 6.2 days (8 kHz).  Small backwards steps (reordering,
    audio-video interleave) are kept as they are.
    """

    __slots__ = ("_cycles", "_last")

    def __init__(self) -> None:
        self._last = -1
        self._cycles = 0

    def reset(self) -> None:
        self._last = -1
        self._cycles = 0

    def unwrap(self, ts: int) -> int:
        last = self._last
        if last >= 0:
            delta = ts - last
            if delta < -0x80000000:
                self._cycles += 0x100000000
            elif delta > 0x80000000:
                # an old packet from before the last wrap: do not move the reference
                return self._cycles - 0x100000000 + ts
        self._last = ts
        return self._cycles + ts


def sequence_delta(older: int, newer: int) -> int:
    """Signed distance from 16-bit sequence number ``older`` to ``newer`` (RFC 3550 A.1).

    Positive when ``newer`` comes later, negative for a reordered or duplicate packet,
    across the 65535 → 0 wrap.
    """
    return ((newer - older + 0x8000) & 0xFFFF) - 0x8000


def timestamp_delta(older: int, newer: int) -> int:
    """Signed distance between two 32-bit RTP timestamps, across the wrap."""
    return ((newer - older + 0x80000000) & 0xFFFFFFFF) - 0x80000000
