"""H.265/HEVC RTP payload format (RFC 7798): depacketizing and packetizing.  Pure core.

The NAL unit header is two bytes: ``F(1) Type(6) LayerId(6) TID(3)``.

- single NAL unit packets (types 0-47), aggregation packets (AP, 48) and fragmentation
  units (FU, 49); PACI (50) carries nothing a camera sends and breaks the access unit;
- ``sprop-max-don-diff`` > 0 (decoding order numbers in the payload) is refused by the
  caller: cameras send in decoding order and declare no DONL;
- keyframes are IRAP pictures (types 16-23: BLA, IDR, CRA); VPS, SPS and PPS
  (32, 33, 34) go before each one that lacks them, from the stream or from the SDP's
  ``sprop-vps``/``sprop-sps``/``sprop-pps``.

The rules shared with H.264 (access-unit ends, loss, bounds) are in ``_nal``.
"""

from __future__ import annotations

import os

from media._nal import NalAssembler, split_annexb
from media._rtp import build_rtp

__all__ = ["NAL_PPS_H265", "NAL_SPS_H265", "NAL_VPS", "H265Depacketizer", "H265Packetizer"]

NAL_VPS = 32
NAL_SPS_H265 = 33
NAL_PPS_H265 = 34
NAL_AUD_H265 = 35
_AP = 48
_FU = 49


def nal_type(nal: bytes | memoryview) -> int:
    return (nal[0] >> 1) & 0x3F


class H265Depacketizer(NalAssembler):
    """Stateful RFC 7798 depacketizer for one H.265 RTP stream (no DONL)."""

    PARAMETER_TYPES = (NAL_VPS, NAL_SPS_H265, NAL_PPS_H265)
    DELIMITER_TYPE = NAL_AUD_H265
    HEADER_BYTES = 2
    __slots__ = ()

    @staticmethod
    def _type(nal: bytes | memoryview) -> int:
        return (nal[0] >> 1) & 0x3F

    @staticmethod
    def _is_key(nal_type: int) -> bool:
        return 16 <= nal_type <= 23

    def push(self, payload: memoryview, timestamp: int, marker: bool, sequence: int) -> None:
        """Feed one RTP packet's payload with its header fields."""
        self._begin(timestamp, sequence)
        if len(payload) >= 2:
            header = payload[0]
            kind = (header >> 1) & 0x3F
            if header & 0x80:
                self._broken = True  # forbidden_zero_bit
            elif kind == _FU:
                self._fu(payload)
            elif kind == _AP:
                self._ap(payload)
            elif kind < 48:
                self._add_nal(payload)
            else:
                self._broken = True  # PACI or reserved types
        elif len(payload) == 1:
            self._broken = True  # shorter than a NAL unit header
        if marker:
            self._finish()

    def _fu(self, payload: memoryview) -> None:
        if len(payload) < 3:
            self._broken = True
            return
        fu_header = payload[2]
        fu_type = fu_header & 0x3F
        if fu_header & 0x80:  # start fragment: rebuild the NAL unit header
            header = bytes(((payload[0] & 0x81) | (fu_type << 1), payload[1]))
            self._fragment_start(header, fu_type, payload[3:])
            if fu_header & 0x40:
                self._in_fu = False
        else:
            self._fragment_part(payload[3:], bool(fu_header & 0x40))

    def _ap(self, payload: memoryview) -> None:
        pos = 2
        size = len(payload)
        while pos + 2 <= size:
            length = (payload[pos] << 8) | payload[pos + 1]
            pos += 2
            if length < 2 or pos + length > size:
                self._broken = True
                return
            self._add_nal(payload[pos : pos + length])
            pos += length
        if pos != size:
            self._broken = True


class H265Packetizer:
    """Annex-B H.265 access units → RFC 7798 RTP packets (single NAL, AP, FU)."""

    __slots__ = ("mtu", "payload_type", "sequence", "ssrc")

    def __init__(
        self,
        payload_type: int = 96,
        *,
        ssrc: int | None = None,
        sequence: int | None = None,
        mtu: int = 1400,
    ) -> None:
        if mtu < 64:
            raise ValueError(f"an RTP payload MTU of {mtu} bytes is too small (at least 64)")
        self.payload_type = payload_type
        self.ssrc = int.from_bytes(os.urandom(4), "big") if ssrc is None else ssrc
        self.sequence = int.from_bytes(os.urandom(2), "big") if sequence is None else sequence
        self.mtu = mtu

    def payloads(self, access_unit: bytes | memoryview) -> list[bytes]:
        out: list[bytes] = []
        group: list[bytes] = []
        size = 2

        def flush() -> None:
            nonlocal group, size
            if len(group) == 1:
                out.append(group[0])
            elif group:
                layer_tid = min((n[0] & 0x01) << 8 | n[1] for n in group)
                header = bytes(((_AP << 1) | (layer_tid >> 8), layer_tid & 0xFF))
                out.append(header + b"".join(len(n).to_bytes(2, "big") + n for n in group))
            group = []
            size = 2

        for nal in split_annexb(access_unit):
            if len(nal) < 2:
                continue
            if len(nal) > self.mtu:
                flush()
                out.extend(_fu(nal, self.mtu))
            elif size + 2 + len(nal) <= self.mtu:
                group.append(nal)
                size += 2 + len(nal)
            else:
                flush()
                group = [nal]
                size = 4 + len(nal)
        flush()
        return out

    def packetize(self, access_unit: bytes | memoryview, timestamp: int) -> list[bytes]:
        payloads = self.payloads(access_unit)
        packets = []
        for index, payload in enumerate(payloads):
            packets.append(
                build_rtp(
                    self.payload_type,
                    self.sequence,
                    timestamp,
                    self.ssrc,
                    payload,
                    marker=index == len(payloads) - 1,
                )
            )
            self.sequence = (self.sequence + 1) & 0xFFFF
        return packets


def _fu(nal: bytes, mtu: int) -> list[bytes]:
    kind = nal_type(nal)
    header = bytes(((nal[0] & 0x81) | (_FU << 1), nal[1]))
    body = memoryview(nal)[2:]
    step = mtu - 3
    chunks = [body[i : i + step] for i in range(0, len(body), step)]
    out = []
    for index, chunk in enumerate(chunks):
        fu = kind | (0x80 if index == 0 else 0) | (0x40 if index == len(chunks) - 1 else 0)
        out.append(header + bytes((fu,)) + chunk)
    return out
