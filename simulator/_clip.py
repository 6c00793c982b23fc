"""Replay clips: encoded once, cached on disk, shared by every camera with the same stream.

Encoding a 1080p clip takes a few seconds of CPU, so :class:`ClipLibrary` encodes each
distinct (resolution, fps, bitrate, GOP, length, MTU) once per process on a worker thread,
keeps the result on disk keyed by those parameters and the encoder versions, and hands the
same immutable :class:`EncodedClip` — already packetized into RTP bursts — to every camera.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import av

from ._config import StreamProfile
from ._h264 import EncodedAccessUnit, H264Encoder, encoder_settings, parameter_sets
from ._picture import Painter
from ._rtp import RtpBurst, build_burst, h264_payloads, split_annexb
from ._sdp import VIDEO_PAYLOAD_TYPE, SdpVideo

__all__ = ["ClipLibrary", "EncodedClip", "encode_clip"]

logger = logging.getLogger(__name__)

_FORMAT = 2  # bump when the clip picture or the file layout changes
_START_CODE = b"\x00\x00\x00\x01"


@dataclass(frozen=True, slots=True)
class EncodedClip:
    profile: StreamProfile
    units: tuple[EncodedAccessUnit, ...]
    bursts: tuple[RtpBurst, ...]
    video: SdpVideo
    encode_seconds: float  # 0.0 when loaded from the disk cache

    @property
    def frame_count(self) -> int:
        return len(self.units)

    @property
    def bitrate(self) -> float:
        """Mean bits per second of the clip's H.264 payload."""
        total = sum(len(n) for unit in self.units for n in unit.nals)
        return total * 8 * self.profile.fps / max(1, len(self.units))


def _frame_count(profile: StreamProfile, seconds: int) -> int:
    gops = max(1, round(seconds * profile.fps / profile.gop))
    return gops * profile.gop  # whole GOPs: the loop point is an IDR


def _assemble(
    profile: StreamProfile, units: list[EncodedAccessUnit], mtu: int, encode_seconds: float
) -> EncodedClip:
    if not units or not units[0].keyframe:
        raise ValueError("a replay clip must start with an IDR access unit")
    sets = parameter_sets(units[0].nals)
    if sets is None:
        raise ValueError("the clip's first access unit carries no SPS/PPS")
    bursts = tuple(
        build_burst(h264_payloads(u.nals, mtu), VIDEO_PAYLOAD_TYPE, u.keyframe) for u in units
    )
    video = SdpVideo(sets[0], sets[1], profile.fps, profile.width, profile.height)
    return EncodedClip(profile, tuple(units), bursts, video, encode_seconds)


def encode_clip(profile: StreamProfile, seconds: int, mtu: int) -> EncodedClip:
    """Draw and encode the clip (blocking; seconds of CPU at 1080p)."""
    started = time.perf_counter()
    painter = Painter(
        "模拟摄像机 · 回放画面",
        f"SIMULATED CAMERA  {profile.width}x{profile.height}@{profile.fps}",
        profile.width,
        profile.height,
    )
    encoder = H264Encoder(profile, threads=2)
    units: list[EncodedAccessUnit] = []
    epoch = 1_700_000_000.0  # the clip's clock shows clip time, not wall time
    for index in range(_frame_count(profile, seconds)):
        frame = painter.draw(epoch + index / profile.fps, index, moving_texture=True)
        units += encoder.encode(painter.i420(frame), force_keyframe=index % profile.gop == 0)
    units += encoder.flush()
    return _assemble(profile, units, mtu, time.perf_counter() - started)


def _cache_key(profile: StreamProfile, seconds: int) -> str:
    material = json.dumps(
        {
            "format": _FORMAT,
            "profile": asdict(profile),
            "seconds": seconds,
            "x264": encoder_settings(profile, threads=2),
            "av": av.__version__,
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def _load(path: Path, profile: StreamProfile, mtu: int) -> EncodedClip | None:
    index_path = path.with_suffix(".json")
    if not path.exists() or not index_path.exists():
        return None
    try:
        index = json.loads(index_path.read_text())
        data = path.read_bytes()
        units: list[EncodedAccessUnit] = []
        for start, end, keyframe in index["units"]:
            units.append(EncodedAccessUnit(tuple(split_annexb(data[start:end])), bool(keyframe)))
        return _assemble(profile, units, mtu, 0.0)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("ignoring unreadable clip cache %s: %s", path, exc)
        return None


def _store(path: Path, clip: EncodedClip) -> None:
    parts: list[bytes] = []
    spans: list[tuple[int, int, bool]] = []
    position = 0
    for unit in clip.units:
        chunk = b"".join(_START_CODE + n for n in unit.nals)
        parts.append(chunk)
        spans.append((position, position + len(chunk), unit.keyframe))
        position += len(chunk)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(b"".join(parts))
    temporary.replace(path)
    path.with_suffix(".json").write_text(json.dumps({"units": spans}))


def load_or_encode(
    profile: StreamProfile, seconds: int, mtu: int, cache_dir: Path | None
) -> EncodedClip:
    """The clip from the disk cache, or freshly encoded and stored there (blocking)."""
    path = cache_dir / f"clip-{_cache_key(profile, seconds)}.h264" if cache_dir else None
    if path is not None and (clip := _load(path, profile, mtu)) is not None:
        return clip
    clip = encode_clip(profile, seconds, mtu)
    logger.info(
        "encoded %dx%d replay clip: %d frames in %.1f s, %.1f Mbit/s",
        profile.width,
        profile.height,
        clip.frame_count,
        clip.encode_seconds,
        clip.bitrate / 1e6,
    )
    if path is not None:
        try:
            _store(path, clip)
        except OSError as exc:
            logger.warning("could not cache the replay clip in %s: %s", cache_dir, exc)
    return clip


class ClipLibrary:
    """Shares replay clips between cameras; owned by whoever owns the cameras."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        self._clips: dict[tuple[StreamProfile, int, int], asyncio.Future[EncodedClip]] = {}

    async def get(self, profile: StreamProfile, seconds: int, mtu: int) -> EncodedClip:
        key = (profile, seconds, mtu)
        future = self._clips.get(key)
        if future is None:
            future = asyncio.ensure_future(
                asyncio.to_thread(load_or_encode, profile, seconds, mtu, self.cache_dir)
            )
            self._clips[key] = future
        try:
            # shield: one camera giving up must not cancel the encode others wait for.
            return await asyncio.shield(future)
        except Exception:
            if self._clips.get(key) is future:
                del self._clips[key]
            raise

    async def close(self) -> None:
        """Wait for encodes still running (a thread cannot be cancelled) and forget all."""
        pending = [f for f in self._clips.values() if not f.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self._clips.clear()
