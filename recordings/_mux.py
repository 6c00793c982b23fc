"""One fragmented-MP4 segment, written with PyAV in the writer's worker thread.

- H.264 is copied (Annex-B in, converted to avcC samples by the MP4 muxer; no re-encode).
- Room audio (G.711) is decoded to PCM and encoded to AAC-LC; the talk-back audio goes to
  a second AAC track.  Gaps inside an audio track are filled with silence so that audio
  stays in step with the video.
- ``frag_keyframe+empty_moov`` writes the header first and one fragment per GOP, and
  ``flush_packets`` hands each fragment to the kernel at once: a process killed with
  ``kill -9`` leaves every fragment but the open one on disk.
"""

from __future__ import annotations

import fractions
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np

from media import MediaFrame, g711_decode

__all__ = ["SegmentMuxer", "TrackPlan", "media_duration"]

VIDEO_CLOCK = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)
AUDIO_RATE = 8_000
MAX_SILENCE = 10 * AUDIO_RATE  # a larger jump is a new timeline, not a hole to fill
FRAGMENT_OPTIONS = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "flush_packets": "1",
    # Write packets as they come: waiting to interleave with a silent talk-back track
    # would hold every fragment back in memory (lost on a crash).
    "max_interleave_delta": "1",
}


@dataclass(frozen=True, slots=True)
class TrackPlan:
    """Which tracks a segment declares (fixed by the fMP4 header written first)."""

    audio_codec: str | None  # "PCMU"/"PCMA" when the room audio is recorded
    talk: bool  # the camera has a backchannel, so talk-back may appear


def _add_video_track(
    container: av.container.OutputContainer, keyframe: bytes
) -> av.video.stream.VideoStream:
    """The segment's video track, copying the camera's H.264 as FFmpeg's parser reads it
    from the keyframe (size, profile, SPS/PPS).

    ``add_stream("h264")`` would create an H.264 *encoder* that the muxer opens for a
    track we only copy into — libx264 allocates about 10 MB for a 1080p encoder, per
    recording, for nothing.  The template stream belongs to the probe, so the track is
    made while the probe is open.
    """
    probe = av.open(
        io.BytesIO(keyframe), format="h264", options={"probesize": "32", "analyzeduration": "0"}
    )
    try:
        if not probe.streams.video or not probe.streams.video[0].codec_context.width:
            raise ValueError("the first keyframe of the segment carries no H.264 SPS")
        video = container.add_stream_from_template(probe.streams.video[0])
    finally:
        probe.close()
    video.time_base = fractions.Fraction(1, VIDEO_CLOCK)
    return video


@dataclass
class _AudioTrack:
    stream: av.audio.stream.AudioStream
    next_pts: int | None = None  # in samples
    last_end_ts: int | None = None  # RTP timestamp just after the last frame

    def encode(self, pcm: np.ndarray, pts: int) -> list[av.Packet[Any]]:
        packets: list[av.Packet[Any]] = []
        if self.next_pts is not None and pts > self.next_pts:
            silence = min(pts - self.next_pts, MAX_SILENCE)
            packets += self._encode(np.zeros(silence, dtype=np.int16), self.next_pts)
        start = self.next_pts if self.next_pts is not None else pts
        packets += self._encode(pcm, start)
        return packets

    def _encode(self, pcm: np.ndarray, pts: int) -> list[av.Packet[Any]]:
        frame = av.AudioFrame.from_ndarray(
            pcm.astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = AUDIO_RATE
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self.next_pts = pts + len(pcm)
        return list(self.stream.encode(frame))

    def flush(self) -> list[av.Packet[Any]]:
        return list(self.stream.encode(None))


@dataclass
class SegmentMuxer:
    """Open at a keyframe, ``write`` frames with their wall times, ``close`` for the end."""

    path: Path
    start: datetime
    plan: TrackPlan
    talkers: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._container: av.container.OutputContainer | None = None
        self._video: av.video.stream.VideoStream | None = None
        self._audio: _AudioTrack | None = None
        self._talk: _AudioTrack | None = None
        self._video_ts0: int | None = None
        self._last_dts = -1
        self._last_delta = VIDEO_CLOCK // 25
        self._start_wall = self.start.timestamp()
        self.video_frames = 0

    def _open(self, keyframe: bytes) -> None:
        container = av.open(str(self.path), "w", format="mp4", options=FRAGMENT_OPTIONS)
        try:
            video = _add_video_track(container, keyframe)
        except BaseException:
            container.close()
            raise
        if self.plan.audio_codec is not None:
            self._audio = _AudioTrack(self._aac(container, "room audio"))
        if self.plan.talk:
            self._talk = _AudioTrack(self._aac(container, "talk-back"))
        self._container, self._video = container, video

    @staticmethod
    def _aac(container: av.container.OutputContainer, title: str) -> av.audio.stream.AudioStream:
        stream = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        stream.codec_context.bit_rate = 32_000
        stream.time_base = fractions.Fraction(1, AUDIO_RATE)
        stream.metadata["title"] = title
        return stream

    def write(self, frame: MediaFrame, wall: float, talker: str | None = None) -> None:
        if frame.kind == "video":
            self._write_video(frame)
        elif self._container is None:
            return  # audio before the first keyframe: the segment has not begun
        elif frame.kind == "audio" and self._audio is not None:
            self._write_audio(self._audio, frame, wall)
        elif frame.kind == "talk" and self._talk is not None:
            self._write_audio(self._talk, frame, wall)
            self.talkers.add(talker or "unknown")

    def _write_video(self, frame: MediaFrame) -> None:
        if self._container is None:
            if not frame.keyframe:
                return
            self._open(frame.data)
        assert self._container is not None and self._video is not None
        if self._video_ts0 is None:
            self._video_ts0 = frame.timestamp
        pts = frame.timestamp - self._video_ts0
        if pts <= self._last_dts:
            pts = self._last_dts + 1  # a repeated timestamp: keep the track monotonic
        if self._last_dts >= 0:
            self._last_delta = max(1, min(pts - self._last_dts, VIDEO_CLOCK))
        packet = av.Packet(frame.data)
        packet.pts = packet.dts = pts
        packet.time_base = VIDEO_TIME_BASE
        packet.stream = self._video
        packet.is_keyframe = frame.keyframe
        self._container.mux_one(packet)
        self._last_dts = pts
        self.video_frames += 1

    def _write_audio(self, track: _AudioTrack, frame: MediaFrame, wall: float) -> None:
        if frame.codec not in ("PCMU", "PCMA"):
            return
        assert self._container is not None
        pcm = g711_decode(frame.data, frame.codec)
        if track.next_pts is None or track.last_end_ts is None:
            # Place the track's first frame by wall clock; then follow its RTP clock.
            pts = max(0, round((wall - self._start_wall) * AUDIO_RATE))
        else:
            jump = frame.timestamp - track.last_end_ts  # > 0: frames were lost
            if 0 < jump <= MAX_SILENCE:
                pts = track.next_pts + jump
            elif jump > MAX_SILENCE:
                pts = max(track.next_pts, round((wall - self._start_wall) * AUDIO_RATE))
            else:
                pts = track.next_pts
        track.last_end_ts = frame.timestamp + len(pcm)
        for packet in track.encode(pcm, pts):
            self._container.mux_one(packet)

    @property
    def opened(self) -> bool:
        return self._container is not None

    def offset(self, frame: MediaFrame) -> float:
        """Seconds from the segment's first frame to this video frame."""
        if self._video_ts0 is None:
            return 0.0
        return (frame.timestamp - self._video_ts0) / VIDEO_CLOCK

    @property
    def elapsed(self) -> float:
        """Seconds of video written so far."""
        return max(0, self._last_dts) / VIDEO_CLOCK

    def close(self) -> datetime:
        """Finish the file; the wall-clock end of its media."""
        container, self._container = self._container, None
        if container is not None:
            for track in (self._audio, self._talk):
                if track is not None:
                    for packet in track.flush():
                        container.mux_one(packet)
            container.close()
        span = (max(0, self._last_dts) + self._last_delta) / VIDEO_CLOCK
        return self.start + timedelta(seconds=span if self.video_frames else 0)


def media_duration(path: Path) -> float:
    """Seconds of video in an MP4 file (also a salvaged one), by reading its packets."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        first: int | None = None
        last = 0
        for packet in container.demux(video):
            if packet.pts is None:
                continue
            first = packet.pts if first is None else min(first, packet.pts)
            last = max(last, packet.pts + (packet.duration or 0))
        if first is None or video.time_base is None:
            return 0.0
        return float((last - first) * video.time_base)


def utc_from_wall(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, UTC)
