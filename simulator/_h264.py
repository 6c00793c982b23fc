"""H.264 encoding with PyAV/libx264 for browsers and WebRTC (blocking: call from a thread).

Constrained baseline, no B-frames, a fixed GOP, SPS/PPS repeated before every IDR, and
zero-latency tuning so a frame leaves the encoder as soon as it is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
from av.video.frame import PictureType

from ._config import StreamProfile
from ._rtp import split_annexb

__all__ = ["EncodedAccessUnit", "H264Encoder", "parameter_sets"]

_NAL_SPS = 7
_NAL_PPS = 8
_NAL_IDR = 5


@dataclass(frozen=True, slots=True)
class EncodedAccessUnit:
    nals: tuple[bytes, ...]
    keyframe: bool


def parameter_sets(nals: tuple[bytes, ...]) -> tuple[bytes, bytes] | None:
    sps = next((n for n in nals if n[0] & 0x1F == _NAL_SPS), None)
    pps = next((n for n in nals if n[0] & 0x1F == _NAL_PPS), None)
    return (sps, pps) if sps is not None and pps is not None else None


def encoder_settings(profile: StreamProfile, threads: int) -> dict[str, str]:
    """libx264 options; part of the replay cache key, so keep them deterministic."""
    kbps = profile.bitrate // 1000
    return {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "profile": "baseline",  # x264 baseline = constrained baseline (42C0xx)
        "x264-params": (
            f"keyint={profile.gop}:min-keyint={profile.gop}:scenecut=0:bframes=0:"
            f"repeat-headers=1:vbv-maxrate={kbps}:vbv-bufsize={kbps}:threads={threads}"
        ),
    }


class H264Encoder:
    """One libx264 encoder; not thread-safe — owned by exactly one thread."""

    def __init__(self, profile: StreamProfile, threads: int = 1) -> None:
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width = profile.width
        ctx.height = profile.height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, profile.fps)
        ctx.framerate = Fraction(profile.fps)
        ctx.bit_rate = profile.bitrate
        ctx.gop_size = profile.gop
        ctx.max_b_frames = 0
        ctx.options = encoder_settings(profile, threads)
        self._ctx = ctx
        self._pts = 0

    def encode(
        self, i420: npt.NDArray[np.uint8], force_keyframe: bool = False
    ) -> list[EncodedAccessUnit]:
        frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        frame.pts = self._pts
        self._pts += 1
        if force_keyframe:
            frame.pict_type = PictureType.I
        return [self._unit(bytes(packet)) for packet in self._ctx.encode(frame)]

    def flush(self) -> list[EncodedAccessUnit]:
        return [self._unit(bytes(packet)) for packet in self._ctx.encode(None)]

    @staticmethod
    def _unit(data: bytes) -> EncodedAccessUnit:
        nals = tuple(split_annexb(data))
        return EncodedAccessUnit(nals, any(n[0] & 0x1F == _NAL_IDR for n in nals))
