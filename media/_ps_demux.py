"""MPEG-2 program stream demuxer: PS bytes in any chunks → video frames and audio PES.

Pure core.  GB/T 28181 platforms may send broadcast audio as G.711 inside PS, and the
tests read back what :class:`media.PsMuxer` writes; both need the inverse, fed whatever
the transport delivers (RTP payloads, or a TCP byte stream cut anywhere):

- units are found by start code: pack header (MPEG-2, or MPEG-1 skipped whole), system
  header, PSM, PES; anything else is skipped up to the next start code that can begin a
  unit (counted in ``skipped``).  A stream that yields no unit in
  :data:`MAX_RESYNC_BYTES` is not a program stream: :class:`PsError`, the only error;
- the PSM gives each stream its ``stream_type``.  Without one (devices that omit it, or
  joining before it) video is told apart by its first NAL header (H.265 parameter sets,
  AUD or SEI, else H.264) and audio is unknown (type 0).  The PSM's CRC is not checked:
  devices get it wrong, and a length-consistent map is more useful than none;
- a video frame is the run of video PES from one carrying a PTS until the next PES with
  a *different* PTS (so a sender that repeats the PTS on every part is read right too);
  call :meth:`PsDemuxer.flush` at the end of a frame (RTP marker, timestamp change) to
  get it without waiting for the next one.  A frame over ``max_frame`` bytes is dropped;
- every audio PES is its own :class:`PsFrame`.
"""

from __future__ import annotations

from dataclasses import dataclass

from media._errors import PsError

__all__ = ["MAX_RESYNC_BYTES", "PsDemuxer", "PsFrame"]

#: Bytes without any program stream unit before the stream is declared not PS.
MAX_RESYNC_BYTES = 256 * 1024
MAX_FRAME_BYTES = 8 * 1024 * 1024
_CODECS = {0x1B: "H264", 0x24: "H265", 0x90: "PCMA", 0x91: "PCMU", 0x0F: "AAC"}


@dataclass(frozen=True, slots=True)
class PsFrame:
    """One reassembled video access unit or one audio PES payload."""

    kind: str  # "video" or "audio"
    stream_id: int  # 0xE0.. video, 0xC0.. audio
    stream_type: int  # from the PSM (0x1B H.264, 0x24 H.265, 0x90 PCMA …); 0 unknown
    pts: int | None  # 90 kHz, 33 bits; None if the sender gave none
    data: bytes

    @property
    def codec(self) -> str | None:
        """``"H264"``, ``"H265"``, ``"PCMA"``, ``"PCMU"``, ``"AAC"`` or None."""
        return _CODECS.get(self.stream_type)


def _read_pts(b: bytes | bytearray, i: int) -> int:
    return (
        ((b[i] >> 1) & 0x07) << 30
        | b[i + 1] << 22
        | (b[i + 2] >> 1) << 15
        | b[i + 3] << 7
        | b[i + 4] >> 1
    )


def _sniff_video(payload: bytes) -> int:
    """0x24 when the first NAL unit is an H.265 VPS/SPS/PPS/AUD/SEI, else 0x1B."""
    start = payload.find(b"\x00\x00\x01")
    if start < 0 or start + 5 > len(payload):
        return 0x1B
    b0, b1 = payload[start + 3], payload[start + 4]
    h265_type = (b0 >> 1) & 0x3F
    if b0 & 0x81 == 0 and b1 & 0x07 and h265_type in (32, 33, 34, 35, 39, 40):
        return 0x24
    return 0x1B


class PsDemuxer:
    """Incremental PS demuxer; ``feed`` and ``flush`` return the frames completed.

    Counters: ``skipped`` (bytes discarded while looking for a start code), ``dropped``
    (PES packets or frames discarded: malformed, or a frame over ``max_frame``).
    """

    __slots__ = (
        "_buf",
        "_frame",
        "_frame_pts",
        "_frame_sid",
        "_frame_size",
        "_oversized",
        "_since_unit",
        "_types",
        "dropped",
        "max_frame",
        "skipped",
    )

    def __init__(self, *, max_frame: int = MAX_FRAME_BYTES) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self._types: dict[int, int] = {}
        self._frame: list[bytes] | None = None
        self._frame_sid = 0
        self._frame_pts: int | None = None
        self._frame_size = 0
        self._oversized = False
        self._since_unit = 0  # bytes skipped since the last unit parsed
        self.skipped = 0
        self.dropped = 0

    @property
    def stream_types(self) -> dict[int, int]:
        """stream_id → stream_type from the latest PSM."""
        return dict(self._types)

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a unit (at most one PES, ~64 KiB)."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[PsFrame]:
        """Bytes in; the frames they complete out (audio at once, video one frame late
        unless :meth:`flush` ends it).  Raises :class:`PsError` only for a non-PS stream."""
        buf = self._buf
        buf += data
        out: list[PsFrame] = []
        pos = 0
        n = len(buf)
        while n - pos >= 4:
            if buf[pos] or buf[pos + 1] or buf[pos + 2] != 1 or buf[pos + 3] < 0xB9:
                pos = self._resync(buf, pos)
                continue
            used = self._unit(buf, pos, out)
            if used == 0:
                break
            if used < 0:  # not a valid unit after all: step past its start code
                pos = self._skip(pos, pos + 4)
                continue
            pos += used
            self._since_unit = 0
        del buf[:pos]
        if self._since_unit > MAX_RESYNC_BYTES:
            self._since_unit = 0
            raise PsError(
                f"no MPEG-PS start code in {MAX_RESYNC_BYTES} bytes: not a program stream"
            )
        return out

    def reset(self) -> None:
        """Forget buffered bytes and the frame in progress (after RTP loss); keep the PSM."""
        self._buf.clear()
        self._frame = None
        self._since_unit = 0

    def flush(self) -> list[PsFrame]:
        """End the video frame in progress (call at the end of a PS packet or stream)."""
        out: list[PsFrame] = []
        self._end_frame(out)
        return out

    # ---------------------------------------------------------------- internals
    def _skip(self, pos: int, new_pos: int) -> int:
        self.skipped += new_pos - pos
        self._since_unit += new_pos - pos
        return new_pos

    def _resync(self, buf: bytearray, pos: int) -> int:
        find = buf.find
        start = pos + 1
        while True:
            hit = find(b"\x00\x00\x01", start)
            if hit < 0:
                # keep two bytes: they may begin a start code split across feeds
                return self._skip(pos, len(buf) - 2)
            if hit + 3 >= len(buf) or buf[hit + 3] >= 0xB9:
                return self._skip(pos, hit)
            start = hit + 1

    def _unit(self, buf: bytearray, pos: int, out: list[PsFrame]) -> int:
        """Bytes used by the unit at ``pos``; 0 = incomplete, -1 = not a valid unit."""
        sid = buf[pos + 3]
        n = len(buf) - pos
        if sid == 0xB9:  # program end code
            return 4
        if sid == 0xBA:
            if n < 5:
                return 0
            if buf[pos + 4] >> 6 == 1:  # MPEG-2: 14 bytes + stuffing
                if n < 14:
                    return 0
                return 14 + (buf[pos + 13] & 0x07)
            return 12 if buf[pos + 4] >> 4 == 2 else -1  # MPEG-1 pack header
        if n < 6:
            return 0
        total = 6 + ((buf[pos + 4] << 8) | buf[pos + 5])
        if n < total:
            return 0
        if sid == 0xBC:
            self._psm(bytes(buf[pos : pos + total]))
        elif 0xC0 <= sid <= 0xEF:
            self._pes(sid, bytes(buf[pos + 6 : pos + total]), out)
        # 0xBB system header, 0xBD-0xBF private/padding, 0xF0-0xFF: skipped whole
        return total

    def _psm(self, psm: bytes) -> None:
        if len(psm) < 16:
            return
        info_len = (psm[8] << 8) | psm[9]
        at = 10 + info_len
        if at + 2 > len(psm):
            return
        map_len = (psm[at] << 8) | psm[at + 1]
        at += 2
        end = at + map_len
        if end + 4 > len(psm):
            return
        types: dict[int, int] = {}
        while at + 4 <= end:
            stream_type, stream_id = psm[at], psm[at + 1]
            types[stream_id] = stream_type
            at += 4 + ((psm[at + 2] << 8) | psm[at + 3])
        if at == end:
            self._types = types

    def _pes(self, sid: int, body: bytes, out: list[PsFrame]) -> None:
        if len(body) < 3 or body[0] >> 6 != 2:
            self.dropped += 1  # MPEG-1 PES syntax: GB/T 28181 never sends it
            return
        flags, header_len = body[1], body[2]
        start = 3 + header_len
        if start > len(body) or (flags & 0x80 and header_len < 5):
            self.dropped += 1
            return
        pts = _read_pts(body, 3) if flags & 0x80 else None
        payload = body[start:]
        if sid >= 0xE0:
            self._video(sid, pts, payload, out)
        else:
            out.append(PsFrame("audio", sid, self._types.get(sid, 0), pts, payload))

    def _video(self, sid: int, pts: int | None, payload: bytes, out: list[PsFrame]) -> None:
        if self._frame is not None and (
            sid != self._frame_sid or (pts is not None and pts != self._frame_pts)
        ):
            self._end_frame(out)
        if self._frame is None:
            self._frame, self._frame_sid, self._frame_pts = [], sid, pts
            self._frame_size, self._oversized = 0, False
        if self._oversized:
            return
        self._frame_size += len(payload)
        if self._frame_size > self.max_frame:
            self._oversized = True
            self._frame.clear()
            return
        self._frame.append(payload)

    def _end_frame(self, out: list[PsFrame]) -> None:
        frame = self._frame
        if frame is None:
            return
        self._frame = None
        if self._oversized:
            self.dropped += 1
            return
        data = b"".join(frame)
        sid = self._frame_sid
        stream_type = self._types.get(sid) or _sniff_video(data)
        out.append(PsFrame("video", sid, stream_type, self._frame_pts, data))
