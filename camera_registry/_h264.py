"""H.264 RTP depacketizer (RFC 6184, packetization-mode 0/1).  Pure core, hot path.

Turns RTP payloads into Annex-B access units:

- single NAL unit packets (types 1-23), STAP-A (24) and FU-A (28);
- an access unit ends at the RTP marker bit, or when the timestamp changes (cameras
  that forget the marker);
- a sequence gap breaks the access unit in progress: it is dropped, and so is
  everything until the next IDR, because P-frames that reference a lost picture only
  smear the picture for every viewer;
- SPS/PPS (in band, else from ``sprop-parameter-sets``) are inserted before every IDR
  that lacks them: browsers and a recorder that starts mid-stream need them there.

Payload pieces are collected as ``memoryview`` slices and joined once per access unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = ["NAL_IDR", "NAL_PPS", "NAL_SPS", "H264Depacketizer", "split_annexb"]

NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9
_STAP_A = 24
_FU_A = 28
START_CODE = b"\x00\x00\x00\x01"

# on_access_unit(annexb, keyframe, rtp_timestamp)
AccessUnitSink = Callable[[bytes, bool, int], None]


class H264Depacketizer:
    """Stateful RFC 6184 depacketizer for one H.264 RTP stream.

    Call :meth:`push` for every RTP packet in arrival order; complete, undamaged access
    units go to ``on_access_unit``.  Counters: ``gaps`` (sequence gaps seen),
    ``dropped`` (access units discarded as broken or undecodable).
    """

    __slots__ = (
        "_broken",
        "_has_idr",
        "_has_pps",
        "_has_sps",
        "_in_fu",
        "_insert_at",
        "_next_seq",
        "_parts",
        "_pps",
        "_sink",
        "_sps",
        "_ts",
        "_wait_idr",
        "dropped",
        "gaps",
    )

    def __init__(
        self, on_access_unit: AccessUnitSink, parameter_sets: Iterable[bytes] = ()
    ) -> None:
        self._sink = on_access_unit
        self._sps: bytes | None = None
        self._pps: bytes | None = None
        for nal in parameter_sets:
            self._remember(nal)
        self._parts: list[bytes | memoryview] = []
        self._ts: int | None = None
        self._next_seq: int | None = None
        self._broken = False
        self._wait_idr = True  # a stream is only decodable from an IDR on
        self._in_fu = False
        self._has_idr = False
        self._has_sps = False
        self._has_pps = False
        self._insert_at = -1
        self.gaps = 0
        self.dropped = 0

    @property
    def parameter_sets(self) -> tuple[bytes | None, bytes | None]:
        """The latest SPS and PPS known (in band or from the SDP)."""
        return self._sps, self._pps

    def reset(self) -> None:
        """Forget the stream position (new SSRC, reconnect): wait for the next IDR."""
        self._clear()
        self._next_seq = None
        self._wait_idr = True

    def _remember(self, nal: bytes | memoryview) -> None:
        if len(nal) and nal[0] & 0x1F == NAL_SPS:
            self._sps = bytes(nal)
        elif len(nal) and nal[0] & 0x1F == NAL_PPS:
            self._pps = bytes(nal)

    def _clear(self) -> None:
        self._parts = []
        self._ts = None
        self._broken = False
        self._in_fu = False
        self._has_idr = self._has_sps = self._has_pps = False
        self._insert_at = -1

    def _note(self, nal_type: int) -> None:
        if nal_type == NAL_IDR:
            self._has_idr = True
        elif nal_type == NAL_SPS:
            self._has_sps = True
        elif nal_type == NAL_PPS:
            self._has_pps = True
        if self._insert_at < 0 and nal_type != NAL_AUD:
            # SPS/PPS go after an access unit delimiter, before everything else
            self._insert_at = len(self._parts)

    def _add_nal(self, nal: memoryview) -> None:
        nal_type = nal[0] & 0x1F
        self._note(nal_type)
        if nal_type in (NAL_SPS, NAL_PPS):
            self._remember(nal)
        self._parts.append(START_CODE)
        self._parts.append(nal)

    def push(self, payload: memoryview, timestamp: int, marker: bool, sequence: int) -> None:
        """Feed one RTP packet's payload with its header fields."""
        gap = self._next_seq is not None and sequence != self._next_seq
        self._next_seq = (sequence + 1) & 0xFFFF
        if self._ts is not None and timestamp != self._ts:
            if gap:
                self._broken = True  # the lost packets may have been this AU's tail
            self._finish()
        if gap:
            self.gaps += 1
            self._broken = True
            self._wait_idr = True
            self._in_fu = False
        self._ts = timestamp
        if len(payload) == 0:
            return
        header = payload[0]
        nal_type = header & 0x1F
        if header & 0x80:
            self._broken = True  # forbidden_zero_bit set: corrupted in transit
        elif nal_type == _FU_A:
            self._fu_a(payload, header)
        elif 1 <= nal_type <= 23:
            if self._in_fu:
                self._broken = True  # a FU-A never got its end fragment
                self._in_fu = False
            self._add_nal(payload)
        elif nal_type == _STAP_A:
            self._stap_a(payload)
        elif 25 <= nal_type <= 29:
            # STAP-B, MTAP16/24, FU-B belong to interleaved mode, which cameras do not use
            self._broken = True
        if marker:
            self._finish()

    def _fu_a(self, payload: memoryview, indicator: int) -> None:
        if len(payload) < 2:
            self._broken = True
            return
        fu_header = payload[1]
        if fu_header & 0x80:  # start fragment
            if self._in_fu:
                self._broken = True
            nal_type = fu_header & 0x1F
            self._in_fu = True
            self._note(nal_type)
            self._parts.append(START_CODE)
            self._parts.append(bytes(((indicator & 0xE0) | nal_type,)))
            self._parts.append(payload[2:])
        elif self._in_fu:
            self._parts.append(payload[2:])
        else:
            self._broken = True  # continuation without a start: its start was lost
            return
        if fu_header & 0x40:  # end fragment
            self._in_fu = False

    def _stap_a(self, payload: memoryview) -> None:
        pos = 1
        size = len(payload)
        while pos + 2 <= size:
            length = (payload[pos] << 8) | payload[pos + 1]
            pos += 2
            if length == 0 or pos + length > size:
                self._broken = True
                return
            self._add_nal(payload[pos : pos + length])
            pos += length
        if pos != size:
            self._broken = True

    def _finish(self) -> None:
        parts = self._parts
        ts = self._ts
        if not parts or ts is None:
            self._clear()
            return
        if self._broken or self._in_fu:
            self.dropped += 1
            self._clear()
            return
        keyframe = self._has_idr
        if keyframe:
            if not (self._has_sps and self._has_pps):
                if self._sps is None or self._pps is None:
                    # an IDR nobody can decode: keep waiting for parameter sets
                    self.dropped += 1
                    self._clear()
                    return
                at = max(self._insert_at, 0)
                parts[at:at] = (START_CODE, self._sps, START_CODE, self._pps)
            self._wait_idr = False
        elif self._wait_idr:
            self.dropped += 1
            self._clear()
            return
        data = b"".join(parts)
        self._clear()
        self._sink(data, keyframe, ts)


def split_annexb(data: bytes) -> list[bytes]:
    """Split an Annex-B byte string into NAL units (3- or 4-byte start codes)."""
    units: list[bytes] = []
    pos = data.find(b"\x00\x00\x01")
    while pos >= 0:
        start = pos + 3
        nxt = data.find(b"\x00\x00\x01", start)
        end = len(data) if nxt < 0 else nxt
        unit = data[start:end]
        if nxt >= 0 and unit.endswith(b"\x00"):
            unit = unit[:-1]  # the leading zero of a 4-byte start code
        if unit:
            units.append(unit)
        pos = nxt
    return units
