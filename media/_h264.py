"""H.264: RTP payload format (RFC 6184, packetization-mode 0/1) both ways, and the SPS.

Pure core; the depacketizer is on the hot path.

- :class:`H264Depacketizer`: single NAL unit packets (types 1-23), STAP-A (24) and
  FU-A (28) → Annex-B access units (the rules shared with H.265 are in ``_nal``).
- :class:`H264Packetizer`: Annex-B access units → RTP packets: parameter sets and other
  small units aggregated in STAP-A, units larger than the MTU cut into FU-A, the marker
  on the last packet of the access unit (the RTSP restream and tests use it).
- :func:`parse_sps`: profile, level and picture size from a sequence parameter set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from media._errors import H264Error
from media._nal import START_CODE, NalAssembler, split_annexb
from media._rtp import build_rtp

__all__ = [
    "NAL_IDR",
    "NAL_PPS",
    "NAL_SPS",
    "H264Depacketizer",
    "H264Packetizer",
    "Sps",
    "escape_rbsp",
    "parse_sps",
    "split_annexb",
    "unescape_rbsp",
]

NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9
_STAP_A = 24
_FU_A = 28


class H264Depacketizer(NalAssembler):
    """Stateful RFC 6184 depacketizer for one H.264 RTP stream.

    Call :meth:`push` for every RTP packet in arrival order; complete, undamaged access
    units go to ``on_access_unit(annexb, keyframe, rtp_timestamp)``.
    """

    PARAMETER_TYPES = (NAL_SPS, NAL_PPS)
    DELIMITER_TYPE = NAL_AUD
    HEADER_BYTES = 1
    __slots__ = ()

    @staticmethod
    def _type(nal: bytes | memoryview) -> int:
        return nal[0] & 0x1F

    @staticmethod
    def _is_key(nal_type: int) -> bool:
        return nal_type == NAL_IDR

    def push(self, payload: memoryview, timestamp: int, marker: bool, sequence: int) -> None:
        """Feed one RTP packet's payload with its header fields."""
        self._begin(timestamp, sequence)
        if len(payload):
            header = payload[0]
            nal_type = header & 0x1F
            if header & 0x80:
                self._broken = True  # forbidden_zero_bit set: corrupted in transit
            elif nal_type == _FU_A:
                self._fu_a(payload, header)
            elif 1 <= nal_type <= 23:
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
            nal_type = fu_header & 0x1F
            self._fragment_start(bytes(((indicator & 0xE0) | nal_type,)), nal_type, payload[2:])
            if fu_header & 0x40:
                self._in_fu = False
        else:
            self._fragment_part(payload[2:], bool(fu_header & 0x40))

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


class H264Packetizer:
    """Annex-B access units → RFC 6184 RTP packets (packetization-mode 1)."""

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
        """The RTP payloads of one access unit, in order."""
        mtu = self.mtu
        out: list[bytes] = []
        group: list[bytes] = []
        group_size = 1

        def flush() -> None:
            nonlocal group, group_size
            if len(group) == 1:
                out.append(group[0])
            elif group:
                nri = max(n[0] & 0x60 for n in group)
                out.append(
                    bytes((nri | _STAP_A,)) + b"".join(len(n).to_bytes(2, "big") + n for n in group)
                )
            group = []
            group_size = 1

        for nal in split_annexb(access_unit):
            if len(nal) > mtu:
                flush()
                out.extend(_fu_a(nal, mtu))
            elif group_size + 2 + len(nal) <= mtu:
                group.append(nal)
                group_size += 2 + len(nal)
            else:
                flush()
                group = [nal]
                group_size = 3 + len(nal)
        flush()
        return out

    def packetize(self, access_unit: bytes | memoryview, timestamp: int) -> list[bytes]:
        """RTP packets of one access unit; the marker is set on the last one."""
        payloads = self.payloads(access_unit)
        packets = []
        last = len(payloads) - 1
        for index, payload in enumerate(payloads):
            packets.append(
                build_rtp(
                    self.payload_type,
                    self.sequence,
                    timestamp,
                    self.ssrc,
                    payload,
                    marker=index == last,
                )
            )
            self.sequence = (self.sequence + 1) & 0xFFFF
        return packets


def _fu_a(nal: bytes, mtu: int) -> list[bytes]:
    indicator = (nal[0] & 0xE0) | _FU_A
    nal_type = nal[0] & 0x1F
    body = memoryview(nal)[1:]
    step = mtu - 2
    chunks = [body[i : i + step] for i in range(0, len(body), step)]
    out = []
    for index, chunk in enumerate(chunks):
        header = nal_type | (0x80 if index == 0 else 0) | (0x40 if index == len(chunks) - 1 else 0)
        out.append(bytes((indicator, header)) + chunk)
    return out


# ------------------------------------------------------------------- the SPS
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


def unescape_rbsp(nal: bytes | memoryview) -> bytes:
    """Remove emulation prevention bytes (``00 00 03`` → ``00 00``)."""
    data = bytes(nal)
    if b"\x00\x00\x03" not in data:
        return data
    out = bytearray()
    zeros = 0
    for byte in data:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def escape_rbsp(rbsp: bytes | memoryview) -> bytes:
    """Insert emulation prevention bytes, so no start code can appear inside a NAL unit."""
    out = bytearray()
    zeros = 0
    for byte in bytes(rbsp):
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


class BitReader:
    """Big-endian bit reader with Exp-Golomb codes (H.264/H.265 §7.2, §9.1)."""

    __slots__ = ("_bits", "_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = int.from_bytes(data, "big") if data else 0
        self._bits = len(data) * 8
        self._pos = 0

    def u(self, count: int) -> int:
        if count == 0:
            return 0
        if self._pos + count > self._bits:
            raise H264Error("parameter set ends in the middle of a field")
        shift = self._bits - self._pos - count
        self._pos += count
        return (self._data >> shift) & ((1 << count) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise H264Error("Exp-Golomb code longer than 32 bits")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        value = self.ue()
        return (value + 1) // 2 if value & 1 else -(value // 2)


@dataclass(frozen=True, slots=True)
class Sps:
    profile_idc: int
    constraint_flags: int
    level_idc: int
    width: int
    height: int

    @property
    def profile_level_id(self) -> str:
        """The SDP ``profile-level-id`` (six hex digits) this SPS declares."""
        return f"{self.profile_idc:02x}{self.constraint_flags:02x}{self.level_idc:02x}"


def _skip_scaling_list(reader: BitReader, size: int) -> None:
    last = next_scale = 8
    for _ in range(size):
        if next_scale != 0:
            next_scale = (last + reader.se() + 256) % 256
        last = next_scale if next_scale != 0 else last


def parse_sps(nal: bytes | memoryview) -> Sps:
    """Profile, level and cropped picture size of an H.264 SPS NAL unit (with header)."""
    if len(nal) < 4 or nal[0] & 0x1F != NAL_SPS:
        raise H264Error("not an H.264 sequence parameter set (NAL type 7)")
    reader = BitReader(unescape_rbsp(memoryview(nal)[1:]))
    profile = reader.u(8)
    constraints = reader.u(8)
    level = reader.u(8)
    reader.ue()  # seq_parameter_set_id
    chroma_format = 1
    separate_planes = 0
    if profile in _HIGH_PROFILES:
        chroma_format = reader.ue()
        if chroma_format > 3:
            raise H264Error(f"chroma_format_idc {chroma_format} is outside 0..3")
        if chroma_format == 3:
            separate_planes = reader.u(1)
        reader.ue()  # bit_depth_luma_minus8
        reader.ue()  # bit_depth_chroma_minus8
        reader.u(1)  # qpprime_y_zero_transform_bypass_flag
        if reader.u(1):  # seq_scaling_matrix_present_flag
            for index in range(8 if chroma_format != 3 else 12):
                if reader.u(1):
                    _skip_scaling_list(reader, 16 if index < 6 else 64)
    reader.ue()  # log2_max_frame_num_minus4
    poc_type = reader.ue()
    if poc_type == 0:
        reader.ue()  # log2_max_pic_order_cnt_lsb_minus4
    elif poc_type == 1:
        reader.u(1)
        reader.se()
        reader.se()
        cycle = reader.ue()
        if cycle > 255:
            raise H264Error(f"num_ref_frames_in_pic_order_cnt_cycle {cycle} is over 255")
        for _ in range(cycle):
            reader.se()
    elif poc_type != 2:
        raise H264Error(f"pic_order_cnt_type {poc_type} is outside 0..2")
    reader.ue()  # max_num_ref_frames
    reader.u(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs = reader.ue() + 1
    height_units = reader.ue() + 1
    frame_mbs_only = reader.u(1)
    if not frame_mbs_only:
        reader.u(1)  # mb_adaptive_frame_field_flag
    reader.u(1)  # direct_8x8_inference_flag
    crop = (0, 0, 0, 0)
    if reader.u(1):
        crop = (reader.ue(), reader.ue(), reader.ue(), reader.ue())
    if chroma_format == 0 or separate_planes:
        unit_x, unit_y = 1, 2 - frame_mbs_only
    else:
        unit_x = 2 if chroma_format in (1, 2) else 1
        unit_y = (2 if chroma_format == 1 else 1) * (2 - frame_mbs_only)
    width = width_mbs * 16 - unit_x * (crop[0] + crop[1])
    height = (2 - frame_mbs_only) * height_units * 16 - unit_y * (crop[2] + crop[3])
    if width <= 0 or height <= 0:
        raise H264Error(f"SPS crops the picture to nothing ({width}x{height})")
    return Sps(profile, constraints, level, width, height)


def annexb(nals: list[bytes]) -> bytes:
    """Join NAL units into an Annex-B byte string with 4-byte start codes."""
    return b"".join(START_CODE + nal for nal in nals)
