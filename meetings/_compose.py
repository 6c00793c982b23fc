"""The composite picture: every site's latest frame in its tile, the site's name in Chinese
under it, the active speaker outlined — and the one H.264 encoder that turns it into the
packets every participant receives.

Runs in the room's worker thread (no asyncio here): scaling goes through swscale
(``VideoFrame.reformat``), pasting is numpy slicing, text is drawn once per name with
Pillow on a CJK font and cached as a bitmap with its alpha.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from av.video.frame import VideoFrame
from PIL import Image, ImageDraw, ImageFont

from meetings._layout import Tile

__all__ = [
    "CJK_FONTS",
    "Composer",
    "CompositeEncoder",
    "EncodedFrame",
    "TileContent",
    "find_cjk_font",
]

log = logging.getLogger("gateway.meetings.compose")

#: CJK fonts looked for, in order (Debian: fonts-noto-cjk, fonts-wqy-microhei, droid).
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
_BACKGROUND = (40, 32, 24)  # BGR: a dark blue-grey behind the tiles
_EMPTY_TILE = (72, 64, 56)
_SPEAKER = (0, 200, 255)  # BGR orange-yellow outline of the active speaker
_HAND = (0, 160, 255)


def find_cjk_font(candidates: Sequence[str] = CJK_FONTS) -> str | None:
    """The first CJK font file present, or None (names are then drawn in ASCII only)."""
    for path in candidates:
        if Path(path).is_file():
            return path
    return None


@dataclass(frozen=True, slots=True)
class TileContent:
    """What a tile shows: the latest frame (None: no video), the site name, badges."""

    frame: VideoFrame | None
    label: str
    badges: tuple[str, ...] = ()


class Composer:
    """Draws the composite picture (BGR, ``width`` × ``height``)."""

    def __init__(self, width: int, height: int, *, font_path: str | None = None) -> None:
        self.width = width
        self.height = height
        self._font_path = font_path if font_path is not None else find_cjk_font()
        if self._font_path is None:
            log.warning("no CJK font found: site names on the tiles cannot show Chinese")
        self._canvas = np.empty((height, width, 3), dtype=np.uint8)

    def compose(
        self,
        tiles: Sequence[Tile],
        contents: Mapping[str, TileContent],
        *,
        speaker: str | None = None,
    ) -> np.ndarray[Any, np.dtype[np.uint8]]:
        canvas = self._canvas
        canvas[:] = _BACKGROUND
        for tile in tiles:
            content = contents.get(tile.participant)
            region = canvas[tile.y : tile.y + tile.height, tile.x : tile.x + tile.width]
            if content is None or content.frame is None:
                region[:] = _EMPTY_TILE
            else:
                region[:] = _fill(content.frame, tile.width, tile.height)
            if content is not None:
                self._label(region, content, tile)
            if tile.participant == speaker and len(tiles) > 1:
                thickness = max(2, tile.height // 90)
                cv2.rectangle(
                    region,
                    (thickness // 2, thickness // 2),
                    (tile.width - 1 - thickness // 2, tile.height - 1 - thickness // 2),
                    _SPEAKER,
                    thickness,
                )
        return canvas

    def _label(self, region: np.ndarray[Any, Any], content: TileContent, tile: Tile) -> None:
        """The site's name in the tile's top-left corner, its badges (静音, 举手) after it.

        Top-left keeps the bottom of the picture — where cameras print their clock and
        time code — untouched."""
        size = max(12, min(tile.height // 12, 36))
        margin = max(4, size // 3)
        bitmap, alpha = _text_bitmap(content.label, size, self._font_path, (255, 255, 255), True)
        _blend(region, bitmap, alpha, margin, margin)
        if content.badges:
            badge, badge_alpha = _text_bitmap(
                " ".join(content.badges), size, self._font_path, _HAND, True
            )
            _blend(region, badge, badge_alpha, 2 * margin + bitmap.shape[1], margin)


def _fill(frame: VideoFrame, width: int, height: int) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The frame scaled to cover ``width`` × ``height`` and centre-cropped (no bars, no
    distortion)."""
    scale = max(width / frame.width, height / frame.height)
    scaled_w = max(width, int(frame.width * scale + 0.999))
    scaled_h = max(height, int(frame.height * scale + 0.999))
    image = np.asarray(
        frame.reformat(width=scaled_w, height=scaled_h, format="bgr24").to_ndarray(),
        dtype=np.uint8,
    )
    top, left = (scaled_h - height) // 2, (scaled_w - width) // 2
    return image[top : top + height, left : left + width]


@lru_cache(maxsize=256)
def _text_bitmap(
    text: str, size: int, font_path: str | None, colour: tuple[int, int, int], band: bool
) -> tuple[np.ndarray[Any, np.dtype[np.uint8]], np.ndarray[Any, np.dtype[np.float32]]]:
    """``text`` drawn white on a translucent dark band: (BGR bitmap, alpha 0…1)."""
    if font_path is not None:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(
            font_path, size, index=2 if font_path.endswith(".ttc") else 0
        )
    else:
        font = ImageFont.load_default()
        text = text.encode("ascii", "replace").decode()
    left, top, right, bottom = font.getbbox(text)
    pad = max(2, size // 4)
    width, height = int(right - left) + 2 * pad, int(bottom - top) + 2 * pad
    image = Image.new("RGBA", (max(width, 1), max(height, 1)), (0, 0, 0, 150 if band else 0))
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=(*colour[::-1], 255))
    rgba = np.asarray(image)
    bgr = np.ascontiguousarray(rgba[:, :, 2::-1])
    alpha = (rgba[:, :, 3:4].astype(np.float32)) / 255.0
    return bgr, alpha


def _blend(
    region: np.ndarray[Any, Any],
    bitmap: np.ndarray[Any, Any],
    alpha: np.ndarray[Any, Any],
    x: int,
    y: int,
) -> None:
    h = min(bitmap.shape[0], region.shape[0] - max(y, 0))
    w = min(bitmap.shape[1], region.shape[1] - max(x, 0))
    if h <= 0 or w <= 0:
        return
    x, y = max(x, 0), max(y, 0)
    target = region[y : y + h, x : x + w]
    a = alpha[:h, :w]
    target[:] = (target * (1.0 - a) + bitmap[:h, :w] * a).astype(np.uint8)


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One encoded composite picture: an H.264 access unit in Annex B (SPS/PPS before
    every IDR), its presentation time on the 90 kHz clock."""

    data: bytes
    pts: int
    keyframe: bool


@dataclass
class CompositeEncoder:
    """libx264 for the composite: baseline profile (what aiortc and every browser take),
    no B-frames, SPS/PPS repeated before each IDR, an IDR every ``gop`` frames and on
    request."""

    width: int
    height: int
    fps: int = 15
    bitrate: int = 1_200_000
    gop_seconds: float = 4.0
    frames: int = 0
    keyframes: int = 0
    _codec: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        codec = av.CodecContext.create("libx264", "w")
        codec.width = self.width
        codec.height = self.height
        codec.pix_fmt = "yuv420p"
        codec.time_base = Fraction(1, 90_000)
        codec.framerate = Fraction(self.fps, 1)
        codec.bit_rate = self.bitrate
        gop = max(1, int(self.fps * self.gop_seconds))
        codec.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "profile": "baseline",
            "level": "3.1",
            "forced-idr": "1",
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:repeat-headers=1:"
            "bframes=0:annexb=1",
        }
        self._codec = codec

    def encode(
        self, picture: np.ndarray[Any, np.dtype[np.uint8]], pts: int, *, keyframe: bool
    ) -> list[EncodedFrame]:
        frame = VideoFrame.from_ndarray(picture, format="bgr24").reformat(format="yuv420p")
        frame.pts = pts
        frame.time_base = Fraction(1, 90_000)
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        out = []
        for packet in self._codec.encode(frame):
            data = bytes(packet)
            is_key = bool(packet.is_keyframe)
            self.frames += 1
            self.keyframes += is_key
            out.append(
                EncodedFrame(data, int(packet.pts if packet.pts is not None else pts), is_key)
            )
        return out

    def close(self) -> None:
        """Let go of the encoder (PyAV frees it with the last reference)."""
        self._codec = None
