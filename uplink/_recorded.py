"""Frames of recorded segments, as a playback sends them: the camera's H.264 as it was
recorded (no transcoding) and the room audio as G.711.

A recording's segments are fragmented MP4 (``recordings``): H.264 copied from the camera
(length-prefixed NAL units, SPS/PPS in ``avcC``), the room audio in AAC (the recorder's
choice for evidence files) and perhaps a talk-back track.  GB/T 28181 platforms expect
what a camera sends in PS — Annex-B H.264 with SPS/PPS before every IDR, and G.711 — so
video is re-framed (start codes instead of lengths, parameter sets in band) and the small
8 kHz audio track is decoded and re-encoded to A-law (cheap, and what every platform
plays; AAC in PS is not).

:func:`read_segment` blocks (file I/O, PyAV): run it in a worker thread.  The NAL
helpers are pure.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from media import NAL_IDR, NAL_PPS, NAL_SPS, MediaFrame, alaw_encode

__all__ = [
    "RecordedFrame",
    "SegmentRef",
    "annexb_from_avcc",
    "avcc_parameter_sets",
    "read_segment",
]

log = logging.getLogger("gateway.uplink.playback")

START = b"\x00\x00\x00\x01"
VIDEO_CLOCK = 90_000
AUDIO_RATE = 8_000


@dataclass(frozen=True, slots=True)
class SegmentRef:
    """One recorded segment: its file and where it lies on the wall clock (Unix seconds)."""

    path: Path
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    """A frame and its place in the segment (seconds from the segment's start)."""

    offset: float
    frame: MediaFrame


def annexb_from_avcc(data: bytes, length_size: int = 4) -> list[bytes]:
    """The NAL units of a length-prefixed (MP4) access unit; ``length_size`` 0 means the
    unit is Annex-B already (no ``avcC``) and is split on its start codes instead.  A
    truncated length ends the list (what came before stays).  Never guess from the
    bytes: a 4-byte length of 1–255 looks like a start code."""
    if length_size == 0:
        units = []
        for chunk in data.replace(b"\x00\x00\x00\x01", b"\x00\x00\x01").split(b"\x00\x00\x01"):
            if chunk:
                units.append(chunk.rstrip(b"\x00") or chunk)
        return units
    units = []
    pos, end = 0, len(data)
    while pos + length_size <= end:
        size = int.from_bytes(data[pos : pos + length_size], "big")
        pos += length_size
        if size == 0 or pos + size > end:
            break
        units.append(data[pos : pos + size])
        pos += size
    return units


def avcc_parameter_sets(extradata: bytes | None) -> tuple[int, list[bytes]]:
    """(NAL length size, [SPS…, PPS…]) from an ``avcC`` record; (0, units) when the
    stream is Annex-B (no extradata, or Annex-B parameter sets)."""
    if not extradata:
        return 0, []
    if extradata[0] != 1:
        return 0, annexb_from_avcc(extradata, 0)
    if len(extradata) < 7:
        return 0, []
    length_size = (extradata[4] & 0x03) + 1
    units: list[bytes] = []
    pos = 5
    for count_mask in (0x1F, 0xFF):
        if pos >= len(extradata):
            break
        count = extradata[pos] & count_mask
        pos += 1
        for _ in range(count):
            if pos + 2 > len(extradata):
                return length_size, units
            size = int.from_bytes(extradata[pos : pos + 2], "big")
            pos += 2
            if pos + size > len(extradata):
                return length_size, units
            units.append(extradata[pos : pos + size])
            pos += size
    return length_size, units


def access_unit(data: bytes, length_size: int, parameter_sets: list[bytes]) -> tuple[bytes, bool]:
    """Annex-B bytes of one recorded access unit, SPS/PPS first when it holds an IDR and
    carries none; and whether it is a keyframe (holds an IDR)."""
    units = annexb_from_avcc(data, length_size)
    types = {u[0] & 0x1F for u in units if u}
    idr = NAL_IDR in types
    if idr and not {NAL_SPS, NAL_PPS} <= types:
        units = [*parameter_sets, *units]
    return b"".join(START + u for u in units), idr


def _room_audio(container: Any) -> Any:
    audio = list(container.streams.audio)
    for stream in audio:
        title = stream.metadata.get("title") or stream.metadata.get("name") or ""
        if title == "room audio":
            return stream
    for stream in audio:
        title = stream.metadata.get("title") or stream.metadata.get("name") or ""
        if title != "talk-back":
            return stream
    return None


def read_segment(path: Path, *, audio: bool = True) -> Iterator[RecordedFrame]:
    """Every video access unit (Annex-B) and, with ``audio``, the room audio as A-law
    frames, in file order, with their offsets from the segment's first frame.

    Blocking: iterate it in a worker thread.  A damaged tail ends the iteration (what
    was whole is played), logged.
    """
    container = av.open(str(path))
    try:
        if not container.streams.video:
            return
        video = container.streams.video[0]
        if video.codec_context.name != "h264":
            raise ValueError(f"segment {path.name} holds {video.codec_context.name}, not H.264")
        length_size, parameter_sets = avcc_parameter_sets(video.codec_context.extradata)
        room = _room_audio(container) if audio else None
        streams = [video] + ([room] if room is not None else [])
        resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE)
        origin: float | None = None
        try:
            for packet in container.demux(streams):
                if packet.size == 0 or packet.pts is None or packet.time_base is None:
                    continue
                seconds = float(packet.pts * packet.time_base)
                if packet.stream is video:
                    if origin is None:
                        origin = seconds
                    data, key = access_unit(bytes(packet), length_size, parameter_sets)
                    offset = seconds - origin
                    yield RecordedFrame(
                        offset,
                        MediaFrame(
                            "video",
                            "H264",
                            VIDEO_CLOCK,
                            round(offset * VIDEO_CLOCK),
                            key,
                            data,
                            0.0,
                        ),
                    )
                elif origin is not None:
                    for decoded in packet.decode():
                        if not isinstance(decoded, av.AudioFrame):
                            continue
                        for pcm_frame in resampler.resample(decoded):
                            pcm = pcm_frame.to_ndarray().reshape(-1).astype(np.int16)
                            start = float(pcm_frame.pts / AUDIO_RATE) if pcm_frame.pts else seconds
                            offset = max(0.0, start - origin)
                            yield RecordedFrame(
                                offset,
                                MediaFrame(
                                    "audio",
                                    "PCMA",
                                    AUDIO_RATE,
                                    round(offset * AUDIO_RATE),
                                    False,
                                    alaw_encode(pcm),
                                    0.0,
                                ),
                            )
        except (av.error.InvalidDataError, av.error.EOFError) as exc:
            log.warning("segment %s ends early: %s", path.name, exc)
    finally:
        container.close()
