"""RTP (RFC 3550) and H.264 packetization (RFC 6184) for RTSP interleaved transport.

Pure code.  A camera sends the same encoded picture to many sessions, so an access unit is
packetized ONCE into an :class:`RtpBurst` — the interleaved frames with their RTP headers
laid out — and each session only stamps its own channel, SSRC, sequence and timestamp into
a copy (:func:`stamp_burst`).  That keeps dozens of replaying cameras cheap.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "RtpBurst",
    "RtpPacket",
    "build_burst",
    "build_interleaved_rtp",
    "build_sender_report",
    "h264_payloads",
    "is_idr",
    "parse_rtp",
    "split_annexb",
    "stamp_burst",
]

_RTP_VERSION = 2
_FU_A = 28
_NAL_TYPE_IDR = 5
_INTERLEAVED_HEADER = 4
_RTP_HEADER = 12
_MAX_INTERLEAVED_PAYLOAD = 0xFFFF


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse one RTP packet; CSRCs, header extension and padding are skipped."""
    if len(data) < _RTP_HEADER:
        raise ValueError(f"RTP packet of {len(data)} bytes is shorter than the 12-byte header")
    first, second, sequence, timestamp, ssrc = struct.unpack_from("!BBHII", data)
    if first >> 6 != _RTP_VERSION:
        raise ValueError(f"RTP version {first >> 6} is not 2")
    offset = _RTP_HEADER + 4 * (first & 0x0F)
    if first & 0x10:
        if len(data) < offset + 4:
            raise ValueError("RTP header extension is truncated")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20:
        end -= data[-1]
    if offset > end:
        raise ValueError("RTP header and padding are longer than the packet")
    return RtpPacket(
        payload_type=second & 0x7F,
        marker=bool(second & 0x80),
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(data[offset:end]),
    )


def build_interleaved_rtp(
    channel: int,
    payload_type: int,
    marker: bool,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
) -> bytes:
    """One RTP packet framed for RTSP interleaved transport (``$`` channel length)."""
    return (
        struct.pack(
            "!cBHBBHII",
            b"$",
            channel,
            _RTP_HEADER + len(payload),
            0x80,
            (0x80 if marker else 0) | payload_type,
            sequence & 0xFFFF,
            timestamp & 0xFFFFFFFF,
            ssrc,
        )
        + payload
    )


def split_annexb(data: bytes) -> list[bytes]:
    """Split an Annex B byte stream (00 00 01 / 00 00 00 01 start codes) into NAL units."""
    nals: list[bytes] = []
    starts: list[int] = []
    i = data.find(b"\x00\x00\x01")
    while i != -1:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    for n, start in enumerate(starts):
        end = starts[n + 1] - 3 if n + 1 < len(starts) else len(data)
        # A 4-byte start code leaves its leading zero at the end of the previous NAL.
        nal = data[start:end].rstrip(b"\x00") if n + 1 < len(starts) else data[start:end]
        if nal:
            nals.append(nal)
    return nals


def h264_payloads(nals: Iterable[bytes], mtu: int) -> list[bytes]:
    """RTP payloads for one access unit: single NAL unit packets, FU-A above the MTU."""
    if mtu < 3:
        raise ValueError(f"MTU {mtu} leaves no room for an FU-A fragment")
    payloads: list[bytes] = []
    for nal in nals:
        if len(nal) <= mtu:
            payloads.append(nal)
            continue
        indicator = (nal[0] & 0xE0) | _FU_A
        nal_type = nal[0] & 0x1F
        body = memoryview(nal)[1:]
        step = mtu - 2
        for offset in range(0, len(body), step):
            start = 0x80 if offset == 0 else 0
            end = 0x40 if offset + step >= len(body) else 0
            payloads.append(
                bytes((indicator, start | end | nal_type)) + body[offset : offset + step]
            )
    return payloads


@dataclass(frozen=True, slots=True)
class RtpBurst:
    """Interleaved RTP frames of one access unit with blank channel/seq/timestamp/SSRC."""

    data: bytes
    offsets: tuple[int, ...]
    keyframe: bool

    @property
    def packet_count(self) -> int:
        return len(self.offsets)


def build_burst(payloads: Sequence[bytes], payload_type: int, keyframe: bool) -> RtpBurst:
    """Lay out the packets of an access unit; the marker bit goes on the last one."""
    parts: list[bytes] = []
    offsets: list[int] = []
    position = 0
    for n, payload in enumerate(payloads):
        length = _RTP_HEADER + len(payload)
        if length > _MAX_INTERLEAVED_PAYLOAD:
            raise ValueError(f"RTP packet of {length} bytes does not fit interleaved framing")
        marker = 0x80 if n == len(payloads) - 1 else 0
        header = struct.pack("!cBHBB10x", b"$", 0, length, 0x80, marker | payload_type)
        parts.append(header)
        parts.append(payload)
        offsets.append(position)
        position += _INTERLEAVED_HEADER + length
    return RtpBurst(b"".join(parts), tuple(offsets), keyframe)


def stamp_burst(
    burst: RtpBurst, channel: int, ssrc: int, first_sequence: int, timestamp: int
) -> bytearray:
    """A session's copy of ``burst`` with its channel, SSRC, sequence numbers and timestamp."""
    buffer = bytearray(burst.data)
    timestamp &= 0xFFFFFFFF
    for n, offset in enumerate(burst.offsets):
        buffer[offset + 1] = channel
        struct.pack_into("!HII", buffer, offset + 6, (first_sequence + n) & 0xFFFF, timestamp, ssrc)
    return buffer


def build_sender_report(
    ssrc: int, ntp_seconds: float, rtp_timestamp: int, packet_count: int, octet_count: int
) -> bytes:
    """An RTCP Sender Report without report blocks (RFC 3550 §6.4.1)."""
    # NTP epoch is 1900; ntp_seconds is already counted from it.
    whole = int(ntp_seconds)
    fraction = int((ntp_seconds - whole) * (1 << 32)) & 0xFFFFFFFF
    return struct.pack(
        "!BBHIIIIII",
        0x80,
        200,
        6,
        ssrc,
        whole & 0xFFFFFFFF,
        fraction,
        rtp_timestamp & 0xFFFFFFFF,
        packet_count & 0xFFFFFFFF,
        octet_count & 0xFFFFFFFF,
    )


def is_idr(nals: Iterable[bytes]) -> bool:
    return any(nal and nal[0] & 0x1F == _NAL_TYPE_IDR for nal in nals)
