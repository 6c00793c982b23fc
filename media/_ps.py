"""MPEG-2 program stream (ISO/IEC 13818-1 §2.5) as GB/T 28181 carries it: the muxer.

Pure core.  One call per access unit returns the bytes of one *PS packet* — what a
GB/T 28181 platform (wvp + ZLMediaKit) expects inside RTP payload type 96:

- a pack header on every packet; its SCR is the PTS minus 40 ms (3600 ticks at 90 kHz),
  the same offset ireader/media-server (used by ZLMediaKit) applies, so a receiver that
  paces by SCR has the frame before it is due;
- a system header and a program stream map (PSM) after the pack header of every video
  keyframe, and on the very first packet, so a receiver joining at any keyframe knows
  the codecs (ZLMediaKit issue #1535: no PSM, no video track).  An audio-only muxer
  repeats them every :data:`PSM_INTERVAL` packets instead;
- video in PES stream ``0xE0``, split into consecutive PES packets whose
  ``PES_packet_length`` stays at or below ``0xFF80`` (media-server's cap, a little under
  the 16-bit limit, which some Hikvision decoders need); only the first PES of a frame
  carries the PTS (and DTS = PTS: no B-frames), because a PTS belongs to the access
  unit that *starts* in that PES.  Its ``data_alignment_indicator`` is set;
- audio (G.711) in its own PS packet — pack header + PES ``0xC0`` with its own PTS.

Access units go in as they are: Annex-B with start codes, parameter sets before every
keyframe (what :class:`media.MediaFrame` promises; ZLMediaKit #724: no SPS/PPS, no
picture).  No access unit delimiter is added.  Timestamps are 90 kHz and wrap at 33 bits.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from media._frame import MediaFrame

__all__ = [
    "MAX_PES_LENGTH",
    "PSM_INTERVAL",
    "PS_STREAM_TYPES",
    "PsMuxer",
    "crc32_mpeg2",
]

#: PSM ``stream_type`` per codec name (the names :class:`media.MediaFrame` uses).
PS_STREAM_TYPES: Mapping[str, int] = MappingProxyType(
    {"H264": 0x1B, "H265": 0x24, "PCMA": 0x90, "PCMU": 0x91}
)
VIDEO_STREAM_ID = 0xE0
AUDIO_STREAM_ID = 0xC0
#: Largest ``PES_packet_length`` written (media-server's cap; the field allows 0xFFFF).
MAX_PES_LENGTH = 0xFF80
#: An audio-only stream repeats the system header and PSM every this many packets.
PSM_INTERVAL = 30
#: SCR runs this far ahead of the PTS (40 ms at 90 kHz).
SCR_LEAD = 3600
#: ``program_mux_rate`` in units of 50 bytes/s (media-server's value, ~2.4 Mbit/s).
MUX_RATE = 6106
_PTS_MASK = (1 << 33) - 1
_PES_PTS_DTS_BYTES = 10


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc32_mpeg2(data: bytes | bytearray | memoryview) -> int:
    """CRC-32/MPEG-2 (poly 0x04C11DB7, init all ones, not reflected) as PSM uses it.

    The CRC of a whole PSM including its own CRC field is 0.
    """
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in bytes(data):
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
    return crc


def _timestamp(prefix: int, ts: int) -> bytes:
    """The 5-byte PTS/DTS field: 4-bit prefix, 33 bits split 3/15/15 by marker bits."""
    ts &= _PTS_MASK
    return bytes(
        (
            (prefix << 4) | ((ts >> 29) & 0x0E) | 1,
            (ts >> 22) & 0xFF,
            ((ts >> 14) & 0xFE) | 1,
            (ts >> 7) & 0xFF,
            ((ts << 1) & 0xFE) | 1,
        )
    )


def pack_header(scr: int, mux_rate: int = MUX_RATE) -> bytes:
    """A 14-byte MPEG-2 pack header (no stuffing) with SCR base ``scr``, extension 0."""
    scr &= _PTS_MASK
    return bytes(
        (
            0x00,
            0x00,
            0x01,
            0xBA,
            0x44 | ((scr >> 27) & 0x38) | ((scr >> 28) & 0x03),
            (scr >> 20) & 0xFF,
            ((scr >> 12) & 0xF8) | 0x04 | ((scr >> 13) & 0x03),
            (scr >> 5) & 0xFF,
            ((scr << 3) & 0xF8) | 0x04,  # SCR extension is 0: its top 2 bits here
            0x01,  # SCR extension low 7 bits (0) + marker
            (mux_rate >> 14) & 0xFF,
            (mux_rate >> 6) & 0xFF,
            ((mux_rate << 2) & 0xFC) | 0x03,
            0xF8,  # reserved + pack_stuffing_length 0
        )
    )


def system_header(streams: list[tuple[int, int]], mux_rate: int = MUX_RATE) -> bytes:
    """System header for ``streams`` = [(stream_id, stream_type)] (§2.5.3.5)."""
    audio = sum(1 for sid, _ in streams if 0xC0 <= sid <= 0xDF)
    video = sum(1 for sid, _ in streams if 0xE0 <= sid <= 0xEF)
    body = bytearray(
        (
            0x80 | ((mux_rate >> 15) & 0x7F),
            (mux_rate >> 7) & 0xFF,
            ((mux_rate << 1) & 0xFE) | 0x01,
            audio << 2,  # fixed_flag 0, CSPS_flag 0
            0xE0 | video,  # audio and video locked, marker
            0x7F,  # no packet rate restriction, reserved bits
        )
    )
    for sid, _ in streams:
        if sid >= 0xE0:  # P-STD buffer bound: 400 × 1024 bytes for video
            body += bytes((sid, 0xE0 | (400 >> 8), 400 & 0xFF))
        else:  # 32 × 128 bytes for audio
            body += bytes((sid, 0xC0, 32))
    return b"\x00\x00\x01\xbb" + len(body).to_bytes(2, "big") + bytes(body)


def program_stream_map(streams: list[tuple[int, int]], version: int = 0) -> bytes:
    """PSM listing ``streams`` = [(stream_id, stream_type)], with its CRC-32 (§2.5.4)."""
    entries = b"".join(bytes((stype, sid, 0, 0)) for sid, stype in streams)
    body = (
        bytes((0xA0 | (version & 0x1F), 0xFF, 0, 0))  # current_next 1; no program info
        + len(entries).to_bytes(2, "big")
        + entries
    )
    head = b"\x00\x00\x01\xbc" + (len(body) + 4).to_bytes(2, "big") + body
    return head + crc32_mpeg2(head).to_bytes(4, "big")


def pes_packets(stream_id: int, payload: bytes | memoryview, pts: int | None) -> list[bytes]:
    """``payload`` as one or more PES packets, each ``PES_packet_length`` ≤ MAX_PES_LENGTH.

    The first carries ``pts`` (with DTS = PTS for video) and the data alignment flag.
    """
    view = memoryview(payload)
    video = stream_id >= 0xE0
    out: list[bytes] = []
    pos, first = 0, True
    while first or pos < len(view):
        if first and pts is not None:
            if video:
                header = b"\x84\xc0\x0a" + _timestamp(3, pts) + _timestamp(1, pts)
            else:
                header = b"\x84\x80\x05" + _timestamp(2, pts)
        else:
            header = b"\x84\x00\x00" if first else b"\x80\x00\x00"
        chunk = view[pos : pos + MAX_PES_LENGTH - len(header)]
        length = len(header) + len(chunk)
        out.append(bytes((0, 0, 1, stream_id, length >> 8, length & 0xFF)) + header + bytes(chunk))
        pos += len(chunk)
        first = False
    return out


class PsMuxer:
    """Access units in, one PS packet (bytes) per access unit out.

    ``video`` is ``"H264"``, ``"H265"`` or None; ``audio`` is ``"PCMA"``, ``"PCMU"`` or
    None.  The PSM lists exactly these tracks.  The muxer keeps only a packet counter.
    Hand each PS packet to :class:`media.PsPacketizer` with its PTS as the timestamp::

        pts, ps = muxer.mux(frame)
        for packet in packetizer.packetize(ps, pts):
            ...
    """

    __slots__ = ("_packets", "_streams", "audio_codec", "video_codec")

    def __init__(self, video: str | None = "H264", audio: str | None = "PCMA") -> None:
        if video is not None and video not in ("H264", "H265"):
            raise ValueError(f"PS video codec {video!r} is not H264 or H265")
        if audio is not None and audio not in ("PCMA", "PCMU"):
            raise ValueError(f"PS audio codec {audio!r} is not PCMA or PCMU")
        if video is None and audio is None:
            raise ValueError("a PS muxer needs a video or an audio track")
        self.video_codec = video
        self.audio_codec = audio
        self._streams: list[tuple[int, int]] = []
        if video is not None:
            self._streams.append((VIDEO_STREAM_ID, PS_STREAM_TYPES[video]))
        if audio is not None:
            self._streams.append((AUDIO_STREAM_ID, PS_STREAM_TYPES[audio]))
        self._packets = 0

    def _head(self, pts: int, with_psm: bool) -> bytes:
        first = self._packets == 0
        self._packets += 1
        head = pack_header(max(pts - SCR_LEAD, 0))
        if with_psm or first:
            head += system_header(self._streams) + program_stream_map(self._streams)
        return head

    def mux_video(self, access_unit: bytes | memoryview, pts: int, *, keyframe: bool) -> bytes:
        """One Annex-B access unit with its 90 kHz PTS → one PS packet."""
        if self.video_codec is None:
            raise ValueError("this PS muxer has no video track")
        pts &= _PTS_MASK
        return self._head(pts, keyframe) + b"".join(pes_packets(VIDEO_STREAM_ID, access_unit, pts))

    def mux_audio(self, samples: bytes | memoryview, pts: int) -> bytes:
        """G.711 bytes (8 kHz, one byte per sample) with the 90 kHz PTS of the first → PS.

        A PES that would overflow is split; each part's PTS advances by its samples.
        """
        if self.audio_codec is None:
            raise ValueError("this PS muxer has no audio track")
        pts &= _PTS_MASK
        periodic = self.video_codec is None and self._packets % PSM_INTERVAL == 0
        out = [self._head(pts, periodic)]
        view = memoryview(samples)
        step = MAX_PES_LENGTH - 8
        for offset in range(0, max(len(view), 1), step):
            part_pts = (pts + offset * 90000 // 8000) & _PTS_MASK
            out += pes_packets(AUDIO_STREAM_ID, view[offset : offset + step], part_pts)
        return b"".join(out)

    def mux(self, frame: MediaFrame) -> tuple[int, bytes]:
        """A hub :class:`media.MediaFrame` → (90 kHz PTS, PS packet).

        The frame's timestamp is rescaled to 90 kHz (audio too: one RTP stream, one
        clock); that PTS is the RTP timestamp to packetize the PS packet with.
        """
        pts = (frame.timestamp * 90000 // frame.clock_rate) & _PTS_MASK
        if frame.codec == self.video_codec:
            return pts, self.mux_video(frame.data, pts, keyframe=frame.keyframe)
        if frame.codec == self.audio_codec:
            return pts, self.mux_audio(frame.data, pts)
        raise ValueError(f"this PS muxer does not carry {frame.codec!r}")
