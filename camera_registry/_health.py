"""Picture health: is the room really visible?  Black, frozen, covered/low-detail pictures.

The pure core (:func:`measure`, :func:`judge`) works on small grey images (numpy) and has
no asyncio.  :class:`HealthSampler` is the thin shell: now and then it takes two
consecutive keyframes from the camera's hub (the cached one and the next), decodes them on
a worker thread (PyAV, one thread, scaled to 320×180 in swscale) and judges them.

Why two consecutive keyframes: a frozen camera keeps encoding the same picture, so its
keyframes decode to the same pixels, while a working camera's on-screen clock or scene
changes between them.  Comparing consecutive keyframes (one GOP apart) rather than samples
minutes apart also keeps a looping replay clip from looking frozen.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

from camera_registry._errors import CameraTimeoutError, MalformedMediaError, StreamClosedError
from camera_registry._hub import StreamHub
from media import MediaFrame

__all__ = [
    "HealthSampler",
    "PictureMetrics",
    "PictureVerdict",
    "decode_keyframe",
    "judge",
    "measure",
]

Gray = npt.NDArray[np.uint8]

SAMPLE_SIZE = (320, 180)
BLACK_MEAN = 24.0  # mean luma (0–255) below which a picture is dark …
BLACK_BRIGHT_SHARE = 0.01  # … and fewer than 1% of pixels above BLACK_PIXEL: black
BLACK_PIXEL = 48
COVERED_STD = 10.0  # nearly uniform (a cap, a cloth, a hand, a lens full of paint)
COVERED_EDGES = 3.0  # mean |Laplacian| after a light blur: no edges worth the name
FROZEN_MEAN_DIFF = 0.25  # mean |Δ| between consecutive keyframes …
FROZEN_CHANGED_SHARE = 0.0005  # … and at most 0.05% of pixels changed by more than 8 levels


@dataclass(frozen=True, slots=True)
class PictureMetrics:
    brightness: float  # mean luma, 0–255
    bright_share: float  # share of pixels brighter than BLACK_PIXEL
    contrast: float  # standard deviation of luma
    edges: float  # mean absolute Laplacian: how much detail there is


@dataclass(frozen=True, slots=True)
class PictureVerdict:
    """The outcome of one picture check; ``problem`` is None when the picture looks fine."""

    problem: str | None  # "black", "covered", "frozen" or None
    detail: str  # what was measured, for people
    at: float  # time.time()
    metrics: PictureMetrics
    change: float | None  # mean |Δ| to the previous keyframe, None without one
    thumbnail: bytes = b""  # JPEG of the sampled keyframe (320×180), for the camera list


def measure(gray: Gray) -> PictureMetrics:
    """Brightness, contrast and detail of a grey picture (pure; any size)."""
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"measure() needs a non-empty 2-D grey image, got shape {gray.shape}")
    # Edges of a slightly blurred picture: sensor noise (high gain at night) is not detail.
    lap = cv2.Laplacian(cv2.GaussianBlur(gray, (0, 0), 1.5), cv2.CV_16S, ksize=3)
    return PictureMetrics(
        brightness=float(gray.mean()),
        bright_share=float(np.count_nonzero(gray > BLACK_PIXEL)) / gray.size,
        contrast=float(gray.std()),
        edges=float(np.abs(lap).mean()),
    )


def frame_change(previous: Gray, current: Gray) -> tuple[float, float]:
    """Mean absolute difference and share of pixels changed by more than 8 levels (pure)."""
    if previous.shape != current.shape:
        return 255.0, 1.0  # the resolution changed: certainly not frozen
    diff = cv2.absdiff(previous, current)
    return float(diff.mean()), float(np.count_nonzero(diff > 8)) / diff.size


def judge(
    current: Gray, previous: Gray | None = None, *, at: float | None = None
) -> PictureVerdict:
    """Decide whether a picture is black, covered or frozen (pure).

    ``previous`` is the keyframe before ``current`` (one GOP earlier); without it the
    frozen check is skipped.
    """
    metrics = measure(current)
    change: float | None = None
    problem: str | None = None
    numbers = (
        f"brightness {metrics.brightness:.0f}, contrast {metrics.contrast:.1f}, "
        f"detail {metrics.edges:.1f}"
    )
    if metrics.brightness < BLACK_MEAN and metrics.bright_share < BLACK_BRIGHT_SHARE:
        problem = "black"
        detail = f"picture is black ({numbers}): check the lens, the lighting or the IR cut"
    elif metrics.contrast < COVERED_STD and metrics.edges < COVERED_EDGES:
        problem = "covered"
        detail = f"picture has almost no detail ({numbers}): the lens may be covered or dirty"
    else:
        detail = numbers
    if previous is not None:
        change, changed_share = frame_change(previous, current)
        if problem is None and change < FROZEN_MEAN_DIFF and changed_share < FROZEN_CHANGED_SHARE:
            problem = "frozen"
            detail = (
                f"picture is frozen (change {change:.2f} between keyframes): "
                "the camera encoder is stuck; reboot the camera"
            )
        else:
            detail += f", change {change:.1f}"
    return PictureVerdict(problem, detail, time.time() if at is None else at, metrics, change)


def decode_keyframe(
    data: bytes, size: tuple[int, int] | None = SAMPLE_SIZE, *, strict: bool = False
) -> npt.NDArray[np.uint8]:
    """Decode one Annex-B H.264 IDR access unit (SPS/PPS in band) to BGR at ``size``
    (None: the picture's own size).  ``strict``: any bitstream error fails the decode
    (FFmpeg otherwise conceals errors and turns even random bytes into a picture).

    Blocking CPU work: call it on a worker thread.
    """
    codec: Any = av.CodecContext.create("h264", "r")
    codec.thread_count = 1  # the machine's cores belong to ingest and encoding
    if strict:
        codec.options = {"err_detect": "explode"}
    try:
        frames = list(codec.decode(av.Packet(data)))
        frames += list(codec.decode(None))  # flush: one IDR in, one picture out
    except av.error.FFmpegError as exc:
        raise MalformedMediaError(f"keyframe does not decode as H.264: {exc}") from None
    if not frames:
        raise MalformedMediaError("keyframe decoded to no picture (no SPS/PPS in band?)")
    if size is None:
        frame = frames[-1].reformat(format="bgr24")
    else:
        frame = frames[-1].reformat(width=size[0], height=size[1], format="bgr24")
    return np.ascontiguousarray(frame.to_ndarray(), dtype=np.uint8)


def _judge_keyframes(current: bytes, previous: bytes | None) -> PictureVerdict:
    bgr = decode_keyframe(current)
    gray: Gray = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    before: Gray | None = None
    if previous is not None:
        before = np.asarray(
            cv2.cvtColor(decode_keyframe(previous), cv2.COLOR_BGR2GRAY), dtype=np.uint8
        )
    verdict = judge(gray, before)
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 75])
    thumbnail = jpeg.tobytes() if ok else b""
    return PictureVerdict(
        verdict.problem, verdict.detail, verdict.at, verdict.metrics, verdict.change, thumbnail
    )


class HealthSampler:
    """Checks one camera's picture every ``interval`` seconds; ``start()``/``close()``."""

    def __init__(
        self,
        hub: StreamHub,
        *,
        interval: float | None,
        on_verdict: Callable[[PictureVerdict], None] | None = None,
        first_delay: float = 3.0,
    ) -> None:
        self._hub = hub
        self._interval = interval
        self._on_verdict = on_verdict
        self._first_delay = first_delay
        self._task: asyncio.Task[None] | None = None
        self.last: PictureVerdict | None = None

    async def start(self) -> None:
        if self._interval is not None and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run(), name=f"health {self._hub.camera_id}")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        assert self._interval is not None
        # Spread the checks of cameras started together over the interval.
        first = min(self._first_delay, self._interval)
        await asyncio.sleep(first + random.uniform(0, self._interval / 3))
        while True:
            age = self._hub.stats().last_frame_age
            if age is not None and age < 5.0:  # offline cameras have nothing to judge
                with contextlib.suppress(CameraTimeoutError, MalformedMediaError):
                    verdict = await self.check(min(10.0, self._interval))
                    if self._on_verdict is not None:
                        self._on_verdict(verdict)
            await asyncio.sleep(self._interval)

    async def check(self, wait: float = 10.0) -> PictureVerdict:
        """Take two consecutive keyframes (or one, if the next is late) and judge them."""
        first, second = await self._keyframes(wait)
        if first is None:
            raise CameraTimeoutError(f"no keyframe from the camera within {wait:g} s")
        if second is None:
            verdict = await asyncio.to_thread(_judge_keyframes, first.data, None)
        else:
            verdict = await asyncio.to_thread(_judge_keyframes, second.data, first.data)
        self.last = verdict
        return verdict

    async def _keyframes(self, wait: float) -> tuple[MediaFrame | None, MediaFrame | None]:
        try:
            sub = self._hub.subscribe({"video"}, max_frames=200)
        except StreamClosedError:
            return None, None
        first: MediaFrame | None = None
        try:
            async with asyncio.timeout(wait):
                async for frame in sub:
                    if not frame.keyframe:
                        continue
                    if first is None:
                        first = frame
                    elif not frame.discontinuity and frame.timestamp != first.timestamp:
                        return first, frame
                    else:
                        first = frame  # a new session: compare within it
        except TimeoutError:
            pass
        finally:
            sub.close()
        return first, None
