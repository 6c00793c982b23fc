"""PS over RTP (GB/T 28181, payload type 96) and RTP over TCP (RFC 4571).  Pure core.

:class:`PsPacketizer` cuts the bytes of one PS packet (one frame, from
:class:`media.PsMuxer`) into RTP packets the way ZLMediaKit and wvp expect them:

- payloads of at most ``mtu`` bytes (1400 by default, ZLMediaKit's ``videoMtuSize``);
  large RTP packets break receivers (ZLMediaKit #571/#694 drop anything over 10 KB);
- every packet of a frame carries the frame's 90 kHz PTS as its timestamp (GB/T
  28181-2022 §4.3.6; ZLMediaKit groups PS by timestamp, #2612/#2647), and the marker is
  set on the last one (some platforms need it, ZLMediaKit #713);
- the SSRC is the offer's ``y=`` read as a decimal number (``int("0200009319")``).

Over TCP each RTP packet is preceded by its length as 16-bit big-endian
(:func:`encode_rfc4571`); :class:`Rfc4571Decoder` reads that stream back, bounded by a
largest accepted packet, and refuses a frame that is not RTP version 2 — the sign that a
sender's framing is lost (what ZLMediaKit reports as "rtp包长度异常").
"""

from __future__ import annotations

import os

from media._errors import RtpError
from media._rtp import build_rtp

__all__ = ["PsPacketizer", "Rfc4571Decoder", "encode_rfc4571"]


class PsPacketizer:
    """One RTP stream (one SSRC) of PS packets; keeps the sequence number."""

    __slots__ = ("mtu", "payload_type", "sequence", "ssrc")

    def __init__(
        self,
        ssrc: int,
        *,
        payload_type: int = 96,
        sequence: int | None = None,
        mtu: int = 1400,
    ) -> None:
        if not 0 <= ssrc <= 0xFFFFFFFF:
            raise ValueError(f"SSRC {ssrc} does not fit 32 bits")
        if mtu < 64:
            raise ValueError(f"an RTP payload MTU of {mtu} bytes is too small (at least 64)")
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.sequence = int.from_bytes(os.urandom(2), "big") if sequence is None else sequence
        self.mtu = mtu

    def packetize(self, ps: bytes | memoryview, timestamp: int) -> list[bytes]:
        """RTP packets of one PS packet: same ``timestamp`` (90 kHz), marker on the last."""
        view = memoryview(ps)
        mtu = self.mtu
        count = max(1, -(-len(view) // mtu))
        packets = []
        for index in range(count):
            packets.append(
                build_rtp(
                    self.payload_type,
                    self.sequence,
                    timestamp,
                    self.ssrc,
                    view[index * mtu : (index + 1) * mtu],
                    marker=index == count - 1,
                )
            )
            self.sequence = (self.sequence + 1) & 0xFFFF
        return packets


def encode_rfc4571(packet: bytes | memoryview) -> bytes:
    """``packet`` framed for a TCP stream: 2-byte big-endian length, then the packet."""
    size = len(packet)
    if size > 0xFFFF:
        raise ValueError(f"an RTP packet of {size} bytes cannot be framed (max 65535)")
    return size.to_bytes(2, "big") + bytes(packet)


class Rfc4571Decoder:
    """Incremental RFC 4571 decoder: feed TCP bytes, get whole RTP/RTCP packets.

    Holds at most one partial packet (≤ ``max_packet`` + 2 bytes).  A length over
    ``max_packet`` or a packet whose version is not 2 raises :class:`RtpError`: the
    stream is out of step and the connection should be closed.  Empty frames are skipped.
    """

    __slots__ = ("_buf", "max_packet")

    def __init__(self, *, max_packet: int = 0xFFFF) -> None:
        self.max_packet = max_packet
        self._buf = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a packet."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos, n = 0, len(buf)
        try:
            while n - pos >= 2:
                size = (buf[pos] << 8) | buf[pos + 1]
                if size > self.max_packet:
                    raise RtpError(
                        f"RFC 4571 frame of {size} bytes exceeds the {self.max_packet}-byte "
                        "limit: TCP framing lost"
                    )
                if size and n - pos >= 3 and buf[pos + 2] >> 6 != 2:
                    raise RtpError(
                        f"RFC 4571 frame starts with 0x{buf[pos + 2]:02x}, not RTP version 2: "
                        "TCP framing lost"
                    )
                if n - pos - 2 < size:
                    break
                if size:
                    out.append(bytes(buf[pos + 2 : pos + 2 + size]))
                pos += 2 + size
        finally:
            del buf[:pos]
        return out
