"""RTCP (RFC 3550 §6): sender and receiver reports, SDES, BYE, and reception statistics.

Pure core.  A receiver that never reports looks dead to some cameras and servers (they
end the session after their timeout), so the RTSP client keeps a
:class:`ReceptionStats` per track and sends a receiver report every few seconds on
the track's interleaved RTCP channel.  ``ReceptionStats`` also gives the honest loss
figure (expected − received from sequence numbers, RFC 3550 A.3) and the interarrival
jitter (A.8).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from media._errors import RtcpError

__all__ = [
    "RTCP_BYE",
    "RTCP_RR",
    "RTCP_SDES",
    "RTCP_SR",
    "Bye",
    "OtherRtcp",
    "ReceiverReport",
    "ReceptionStats",
    "ReportBlock",
    "RtcpPacket",
    "SenderReport",
    "SourceDescription",
    "encode_rtcp",
    "is_rtcp",
    "ntp_timestamp",
    "parse_rtcp",
]

RTCP_SR = 200
RTCP_RR = 201
RTCP_SDES = 202
RTCP_BYE = 203
SDES_CNAME = 1
NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01

_HEADER = struct.Struct("!BBH")
_BLOCK = struct.Struct("!IB3sIIII")
_SR_INFO = struct.Struct("!QIII")


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """One reception report (RFC 3550 §6.4.1) about the source ``ssrc``."""

    ssrc: int
    fraction_lost: int  # 0..255, the fraction lost since the previous report × 256
    cumulative_lost: int  # signed 24-bit
    highest_sequence: int  # extended highest sequence number received
    jitter: int  # interarrival jitter, in timestamp units
    last_sr: int = 0  # middle 32 bits of the last SR's NTP timestamp
    delay_since_last_sr: int = 0  # in 1/65536 s


@dataclass(frozen=True, slots=True)
class SenderReport:
    ssrc: int
    ntp: int  # 64-bit NTP timestamp
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    ssrc: int
    reports: tuple[ReportBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceDescription:
    """SDES chunks: (ssrc, ((item type, value), …)) — CNAME is type 1."""

    chunks: tuple[tuple[int, tuple[tuple[int, bytes], ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class Bye:
    sources: tuple[int, ...]
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OtherRtcp:
    """A packet type this module does not interpret (APP, feedback …), kept as bytes."""

    packet_type: int
    count: int
    body: bytes = field(default=b"")


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Bye | OtherRtcp


def is_rtcp(packet: bytes | memoryview) -> bool:
    """RTCP or RTP on a shared port (RFC 5761): payload types 72-76 are RTCP 200-204."""
    return len(packet) >= 2 and packet[0] >> 6 == 2 and 192 <= packet[1] <= 223


def ntp_timestamp(unix_seconds: float) -> int:
    """A 64-bit NTP timestamp for a Unix time."""
    seconds = int(unix_seconds) + NTP_UNIX_OFFSET
    fraction = int((unix_seconds % 1.0) * (1 << 32)) & 0xFFFFFFFF
    return ((seconds & 0xFFFFFFFF) << 32) | fraction


def _blocks(data: memoryview, count: int, what: str) -> tuple[ReportBlock, ...]:
    if len(data) < count * _BLOCK.size:
        raise RtcpError(f"RTCP {what} announces {count} report blocks but is too short")
    blocks = []
    for i in range(count):
        ssrc, fraction, lost, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, i * _BLOCK.size)
        cumulative = int.from_bytes(lost, "big", signed=True)
        blocks.append(ReportBlock(ssrc, fraction, cumulative, highest, jitter, lsr, dlsr))
    return tuple(blocks)


def _sdes(body: memoryview, count: int) -> SourceDescription:
    chunks = []
    pos = 0
    for _ in range(count):
        if pos + 4 > len(body):
            raise RtcpError("RTCP SDES chunk is truncated")
        ssrc = int.from_bytes(body[pos : pos + 4], "big")
        pos += 4
        items = []
        while True:
            if pos >= len(body):
                raise RtcpError("RTCP SDES chunk has no end item")
            item = body[pos]
            if item == 0:
                pos = (pos + 4) & ~3  # skip the null octets to the next 32-bit boundary
                break
            if pos + 2 > len(body) or pos + 2 + body[pos + 1] > len(body):
                raise RtcpError("RTCP SDES item runs past the packet")
            length = body[pos + 1]
            items.append((item, bytes(body[pos + 2 : pos + 2 + length])))
            pos += 2 + length
        chunks.append((ssrc, tuple(items)))
    return SourceDescription(tuple(chunks))


def parse_rtcp(data: bytes | memoryview) -> list[RtcpPacket]:
    """Parse a compound RTCP packet; :class:`RtcpError` if it is not RTCP."""
    view = memoryview(bytes(data)) if not isinstance(data, memoryview) else data
    packets: list[RtcpPacket] = []
    pos = 0
    if len(view) < 4:
        raise RtcpError(f"RTCP packet of {len(view)} bytes is shorter than its 4-byte header")
    while pos < len(view):
        if len(view) - pos < 4:
            raise RtcpError("RTCP compound packet ends in the middle of a header")
        first, packet_type, words = _HEADER.unpack_from(view, pos)
        if first >> 6 != 2:
            raise RtcpError(f"RTCP version {first >> 6} is not 2")
        end = pos + (words + 1) * 4
        if end > len(view):
            raise RtcpError(f"RTCP packet of {(words + 1) * 4} bytes runs past the datagram")
        body = view[pos + 4 : end]
        if first & 0x20:
            pad = body[-1] if len(body) else 0
            if pad == 0 or pad > len(body):
                raise RtcpError(f"RTCP padding of {pad} bytes does not fit the packet")
            body = body[: len(body) - pad]
        count = first & 0x1F
        if packet_type == RTCP_SR:
            if len(body) < 4 + _SR_INFO.size:
                raise RtcpError("RTCP sender report is truncated")
            ssrc = int.from_bytes(body[:4], "big")
            ntp, rtp_ts, packets_sent, octets = _SR_INFO.unpack_from(body, 4)
            blocks = _blocks(body[4 + _SR_INFO.size :], count, "sender report")
            packets.append(SenderReport(ssrc, ntp, rtp_ts, packets_sent, octets, blocks))
        elif packet_type == RTCP_RR:
            if len(body) < 4:
                raise RtcpError("RTCP receiver report is truncated")
            ssrc = int.from_bytes(body[:4], "big")
            packets.append(ReceiverReport(ssrc, _blocks(body[4:], count, "receiver report")))
        elif packet_type == RTCP_SDES:
            packets.append(_sdes(body, count))
        elif packet_type == RTCP_BYE:
            if len(body) < 4 * count:
                raise RtcpError("RTCP BYE lists more sources than it holds")
            sources = tuple(int.from_bytes(body[4 * i : 4 * i + 4], "big") for i in range(count))
            reason = ""
            rest = body[4 * count :]
            if len(rest):
                length = rest[0]
                if 1 + length > len(rest):
                    raise RtcpError("RTCP BYE reason runs past the packet")
                reason = bytes(rest[1 : 1 + length]).decode("utf-8", "replace")
            packets.append(Bye(sources, reason))
        else:
            packets.append(OtherRtcp(packet_type, count, bytes(body)))
        pos = end
    return packets


def _pack_blocks(blocks: tuple[ReportBlock, ...]) -> bytes:
    out = b""
    for b in blocks:
        lost = max(-(1 << 23), min((1 << 23) - 1, b.cumulative_lost)).to_bytes(
            3, "big", signed=True
        )
        out += _BLOCK.pack(
            b.ssrc & 0xFFFFFFFF,
            b.fraction_lost & 0xFF,
            lost,
            b.highest_sequence & 0xFFFFFFFF,
            b.jitter & 0xFFFFFFFF,
            b.last_sr & 0xFFFFFFFF,
            b.delay_since_last_sr & 0xFFFFFFFF,
        )
    return out


def _packet(packet_type: int, count: int, body: bytes) -> bytes:
    if count > 31:
        raise ValueError(f"an RTCP packet holds at most 31 items, not {count}")
    pad = -len(body) % 4
    body += b"\x00" * pad
    return _HEADER.pack(0x80 | count, packet_type, len(body) // 4) + body


def encode_rtcp(*packets: RtcpPacket) -> bytes:
    """A compound RTCP packet (RFC 3550 §6.1: a report first, then SDES, then BYE)."""
    out = b""
    for p in packets:
        if isinstance(p, SenderReport):
            body = p.ssrc.to_bytes(4, "big") + _SR_INFO.pack(
                p.ntp & (1 << 64) - 1,
                p.rtp_timestamp & 0xFFFFFFFF,
                p.packet_count & 0xFFFFFFFF,
                p.octet_count & 0xFFFFFFFF,
            )
            out += _packet(RTCP_SR, len(p.reports), body + _pack_blocks(p.reports))
        elif isinstance(p, ReceiverReport):
            body = p.ssrc.to_bytes(4, "big") + _pack_blocks(p.reports)
            out += _packet(RTCP_RR, len(p.reports), body)
        elif isinstance(p, SourceDescription):
            body = b""
            for ssrc, items in p.chunks:
                chunk = ssrc.to_bytes(4, "big")
                for item, value in items:
                    if not 0 < item < 256 or len(value) > 255:
                        raise ValueError("an SDES item needs a type 1..255 and at most 255 bytes")
                    chunk += bytes((item, len(value))) + value
                chunk += b"\x00" * (4 - len(chunk) % 4)  # end item and padding
                body += chunk
            out += _packet(RTCP_SDES, len(p.chunks), body)
        elif isinstance(p, Bye):
            body = b"".join(s.to_bytes(4, "big") for s in p.sources)
            if p.reason:
                reason = p.reason.encode()[:255]
                body += bytes((len(reason),)) + reason
            out += _packet(RTCP_BYE, len(p.sources), body)
        else:
            out += _packet(p.packet_type, p.count, p.body)
    return out


class ReceptionStats:
    """What a receiver knows about one RTP source (RFC 3550 A.1, A.3, A.8).

    :meth:`update` per packet (cheap: a few integer operations and one float);
    :meth:`report` for a reception report block, which also marks the interval for the
    next ``fraction_lost``.
    """

    __slots__ = (
        "_base",
        "_cycles",
        "_expected_prior",
        "_max",
        "_received_prior",
        "_sr_arrival",
        "_transit",
        "clock_rate",
        "jitter",
        "last_sr",
        "received",
        "ssrc",
    )

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.reset()

    def reset(self, ssrc: int | None = None) -> None:
        """A new source (SSRC change, reconnect): counting starts over."""
        self.ssrc = ssrc
        self.received = 0
        self.jitter = 0.0
        self.last_sr = 0
        self._base = 0
        self._max = 0
        self._cycles = 0
        self._transit: float | None = None
        self._expected_prior = 0
        self._received_prior = 0
        self._sr_arrival = 0.0

    def update(self, sequence: int, timestamp: int, arrival: float) -> int:
        """One received packet; ``arrival`` in seconds on any steady clock.

        Returns how many packets this one shows missing (a forward jump of the sequence
        number), 0 in order; a late, reordered packet returns 0 and lowers ``lost``.
        """
        skipped = 0
        if self.received == 0:
            self._base = self._max = sequence
        else:
            delta = (sequence - self._max) & 0xFFFF
            if 0 < delta < 0x8000:
                if sequence < self._max:
                    self._cycles += 0x10000
                self._max = sequence
                skipped = delta - 1
        self.received += 1
        transit = arrival * self.clock_rate - timestamp
        if self._transit is not None:
            d = abs(transit - self._transit)
            if d < self.clock_rate * 60:  # a timestamp jump is not jitter
                self.jitter += (d - self.jitter) / 16.0
        self._transit = transit
        return skipped

    @property
    def extended_highest(self) -> int:
        return self._cycles + self._max

    @property
    def expected(self) -> int:
        return 0 if self.received == 0 else self.extended_highest - self._base + 1

    @property
    def lost(self) -> int:
        """Packets expected but not received (duplicates can make it negative)."""
        return self.expected - self.received

    def sender_report(self, ntp: int, arrival: float) -> None:
        """Note a sender report from the source, for LSR/DLSR in our next report."""
        self.last_sr = (ntp >> 16) & 0xFFFFFFFF
        self._sr_arrival = arrival

    def report(self, now: float) -> ReportBlock:
        """A report block for this source; starts the next ``fraction_lost`` interval."""
        expected = self.expected
        interval_expected = expected - self._expected_prior
        interval_received = self.received - self._received_prior
        self._expected_prior = expected
        self._received_prior = self.received
        interval_lost = interval_expected - interval_received
        fraction = 0
        if interval_expected > 0 and interval_lost > 0:
            fraction = min(255, (interval_lost << 8) // interval_expected)
        dlsr = int((now - self._sr_arrival) * 65536) if self.last_sr else 0
        return ReportBlock(
            ssrc=self.ssrc or 0,
            fraction_lost=fraction,
            cumulative_lost=self.lost,
            highest_sequence=self.extended_highest & 0xFFFFFFFF,
            jitter=int(self.jitter),
            last_sr=self.last_sr,
            delay_since_last_sr=max(0, dlsr),
        )
