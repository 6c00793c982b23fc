"""What the simulated camera sees: the room name, a millisecond wall clock, a time code.

Blocking CPU work (run it on a worker thread).  Chinese text is rendered once with Pillow
and a CJK font into the background; per frame only the clock (OpenCV Hershey digits), a
moving bar and a binary time code strip are drawn.  The strip lets a latency test read the
capture time from a decoded frame without OCR (:func:`read_time_code`).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

__all__ = ["FONT_CANDIDATES", "Painter", "read_time_code"]

logger = logging.getLogger(__name__)

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)

_CODE_BITS = 48  # milliseconds since the Unix epoch
_GUARD = (1, 0, 1, 0)

Image8 = npt.NDArray[np.uint8]


def _u8(image: object) -> Image8:
    return np.asarray(image, dtype=np.uint8)


def _block(width: int) -> int:
    return max(8, width // 80)


def _load_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_CANDIDATES:
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    logger.warning("no CJK font found (%s); Chinese room names will show as boxes", FONT_CANDIDATES)
    return ImageFont.load_default()


class Painter:
    """Draws the frames of one stream; build it on the thread that will use it."""

    def __init__(self, title: str, subtitle: str, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self._scale = height / 1080
        yy, xx = np.mgrid[0:height, 0:width]
        gradient = np.dstack(
            [
                (xx * 160 // width) + 40,
                (yy * 120 // height) + 60,
                ((xx + yy) * 90 // (width + height)) + 50,
            ]
        ).astype(np.uint8)
        # A fixed texture gives the encoder real detail to spend its bitrate on.
        texture = np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8)
        self._texture = texture
        self._background = _u8(cv2.addWeighted(gradient, 0.75, texture, 0.25, 0))
        self._draw_text(title, subtitle)

    def _draw_text(self, title: str, subtitle: str) -> None:
        image = Image.fromarray(cv2.cvtColor(self._background, cv2.COLOR_BGR2RGB))
        draw = ImageDraw.Draw(image)
        big = _load_font(max(14, int(64 * self._scale)))
        small = _load_font(max(10, int(36 * self._scale)))
        margin = int(40 * self._scale)
        draw.rectangle((0, 0, self.width, int(190 * self._scale)), fill=(0, 0, 0))
        draw.text((margin, int(20 * self._scale)), title, font=big, fill=(255, 255, 255))
        draw.text((margin, int(110 * self._scale)), subtitle, font=small, fill=(200, 220, 255))
        self._background = _u8(cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR))

    def draw(self, wall_time: float, frame_index: int, moving_texture: bool = False) -> Image8:
        """A BGR frame showing ``wall_time`` (seconds since the epoch) and the frame index."""
        if moving_texture:
            # Replay clips: fresh detail every frame, so the clip costs its nominal bitrate.
            shifted = np.roll(self._texture, frame_index * 16, axis=1)
            image = _u8(cv2.addWeighted(self._background, 0.8, shifted, 0.2, 0))
        else:
            image = self._background.copy()
        s = self._scale
        local = time.localtime(wall_time)
        clock = time.strftime("%Y-%m-%d %H:%M:%S", local) + f".{int(wall_time * 1000) % 1000:03d}"
        top = int(220 * s)
        cv2.rectangle(image, (0, top), (self.width, top + int(110 * s)), (0, 0, 0), -1)
        cv2.putText(
            image,
            clock,
            (int(40 * s), top + int(85 * s)),
            cv2.FONT_HERSHEY_SIMPLEX,
            2.6 * s,
            (255, 255, 255),
            max(1, int(5 * s)),
            cv2.LINE_AA,
        )
        cv2.putText(
            image,
            f"#{frame_index:07d}",
            (int(40 * s), top + int(200 * s)),
            cv2.FONT_HERSHEY_SIMPLEX,
            1.4 * s,
            (255, 255, 0),
            max(1, int(3 * s)),
            cv2.LINE_AA,
        )
        x = int((frame_index * 12 * s) % max(1, self.width - int(120 * s)))
        bar_top = int(self.height * 0.55)
        cv2.rectangle(
            image, (x, bar_top), (x + int(120 * s), bar_top + int(200 * s)), (0, 200, 255), -1
        )
        self._draw_time_code(image, int(wall_time * 1000))
        return image

    def _draw_time_code(self, image: Image8, millis: int) -> None:
        block = _block(self.width)
        bits = list(_GUARD) + [(millis >> (_CODE_BITS - 1 - n)) & 1 for n in range(_CODE_BITS)]
        top = self.height - 2 * block
        cv2.rectangle(
            image, (0, top - block // 2), (len(bits) * block + block, self.height), (0, 0, 0), -1
        )
        for n, bit in enumerate(bits):
            if bit:
                x = block // 2 + n * block
                cv2.rectangle(
                    image, (x, top), (x + block - 1, top + block - 1), (255, 255, 255), -1
                )

    def i420(self, bgr: Image8) -> Image8:
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)  # type: ignore[return-value]

    def jpeg(self, wall_time: float) -> bytes:
        ok, data = cv2.imencode(".jpg", self.draw(wall_time, 0), [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            raise RuntimeError("OpenCV could not encode the snapshot as JPEG")
        return bytes(data.tobytes())


def read_time_code(bgr: npt.NDArray[Any]) -> float | None:
    """The wall time (seconds) drawn by :class:`Painter` on a decoded frame, or None."""
    height, width = bgr.shape[:2]
    block = _block(width)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    row = height - 2 * block + block // 2
    values = [
        int(gray[row, block // 2 + n * block + block // 2] > 128)
        for n in range(len(_GUARD) + _CODE_BITS)
    ]
    if tuple(values[: len(_GUARD)]) != _GUARD:
        return None
    millis = 0
    for bit in values[len(_GUARD) :]:
        millis = millis << 1 | bit
    return millis / 1000
