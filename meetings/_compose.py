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


Plane = np.ndarray[Any, np.dtype[np.uint8]]


def _to_planes(bgr: Any) -> tuple[Plane, Plane, Plane]:
    """A BGR image (even sides) as I420 planes, converted by swscale as the decoded
    tiles are, so that colours drawn and colours received mean the same."""
    frame = VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24").reformat(
        format="yuv420p"
    )
    y, u, v = (np.array(_plane(p), dtype=np.uint8) for p in frame.planes)
    return y, u, v


def _yuv(bgr: tuple[int, int, int]) -> tuple[int, int, int]:
    """One BGR colour in the encoder's YUV."""
    y, u, v = _to_planes(np.full((2, 2, 3), bgr, dtype=np.uint8))
    return int(y[0, 0]), int(u[0, 0]), int(v[0, 0])


class Composer:
    """Draws the composite picture straight into the encoder's I420 planes.

    Tiles are scaled by swscale into yuv420p and pasted plane by plane; names and the
    speaker's outline are drawn on the planes too: no BGR picture and no colour
    conversion of the whole frame, so composing costs about what scaling the tiles does.
    """

    def __init__(self, width: int, height: int, *, font_path: str | None = None) -> None:
        if width % 2 or height % 2:
            raise ValueError("the composite's width and height must be even (4:2:0)")
        self.width = width
        self.height = height
        # looked up on first use, in the worker thread that composes (it touches files)
        self._font: tuple[str | None] | None = (font_path,) if font_path is not None else None
        self._background = _yuv(_BACKGROUND)
        self._empty = _yuv(_EMPTY_TILE)
        self._outline = _yuv(_SPEAKER)

    def compose(
        self,
        tiles: Sequence[Tile],
        contents: Mapping[str, TileContent],
        *,
        speaker: str | None = None,
    ) -> VideoFrame:
        canvas = VideoFrame(self.width, self.height, "yuv420p")
        planes = [_plane(p) for p in canvas.planes]
        for plane, value in zip(planes, self._background, strict=True):
            plane[:] = value
        for tile in tiles:
            content = contents.get(tile.participant)
            regions = _regions(planes, tile)
            if content is None or content.frame is None:
                for region, value in zip(regions, self._empty, strict=True):
                    region[:] = value
            else:
                for region, source in zip(
                    regions, _fill(content.frame, tile.width, tile.height), strict=True
                ):
                    region[:] = source
            if content is not None:
                self._label(regions, content, tile)
            if tile.participant == speaker and len(tiles) > 1:
                thickness = max(2, tile.height // 90) & ~1 or 2
                for index, (region, value) in enumerate(zip(regions, self._outline, strict=True)):
                    t = thickness if index == 0 else max(1, thickness // 2)
                    h, w = region.shape
                    cv2.rectangle(
                        region, (t // 2, t // 2), (w - 1 - t // 2, h - 1 - t // 2), value, t
                    )
        return canvas

    @property
    def _font_path(self) -> str | None:
        if self._font is None:
            self._font = (find_cjk_font(),)
            if self._font[0] is None:
                log.warning("no CJK font found: site names on the tiles cannot show Chinese")
        return self._font[0]

    def _label(self, regions: list[Plane], content: TileContent, tile: Tile) -> None:
        """The site's name in the tile's top-left corner, its badges (静音, 举手) after it.

        Top-left keeps the bottom of the picture — where cameras print their clock and
        time code — untouched."""
        size = max(12, min(tile.height // 12, 36))
        margin = max(4, size // 3) & ~1
        label = _text_planes(content.label, size, self._font_path, (255, 255, 255))
        _blend_planes(regions, label, margin, margin)
        if content.badges:
            badge = _text_planes(" ".join(content.badges), size, self._font_path, _HAND)
            _blend_planes(regions, badge, (2 * margin + label[0][0].shape[1]) & ~1, margin)


def _plane(plane: Any) -> Plane:
    """A writable numpy view of one plane of a frame (line padding cut off)."""
    buffer = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
    return buffer[:, : plane.width]


def _regions(planes: list[Plane], tile: Tile) -> list[Plane]:
    y, u, v = planes
    cx, cy, cw, ch = tile.x // 2, tile.y // 2, tile.width // 2, tile.height // 2
    return [
        y[tile.y : tile.y + tile.height, tile.x : tile.x + tile.width],
        u[cy : cy + ch, cx : cx + cw],
        v[cy : cy + ch, cx : cx + cw],
    ]


def _fill(frame: VideoFrame, width: int, height: int) -> list[Plane]:
    """The frame scaled to cover ``width`` × ``height`` and centre-cropped (no bars, no
    distortion), as Y, U, V planes."""
    scale = max(width / frame.width, height / frame.height)
    scaled_w = max(width, int(frame.width * scale + 0.999) + 1 & ~1)
    scaled_h = max(height, int(frame.height * scale + 0.999) + 1 & ~1)
    # AREA: the right filter for shrinking pictures into tiles, and the cheapest good one
    scaled = frame.reformat(width=scaled_w, height=scaled_h, format="yuv420p", interpolation="AREA")
    top, left = ((scaled_h - height) // 2) & ~1, ((scaled_w - width) // 2) & ~1
    y, u, v = (_plane(p) for p in scaled.planes)
    return [
        y[top : top + height, left : left + width],
        u[top // 2 : top // 2 + height // 2, left // 2 : left // 2 + width // 2],
        v[top // 2 : top // 2 + height // 2, left // 2 : left // 2 + width // 2],
    ]


TextPlanes = tuple[tuple[Plane, Plane, Plane], tuple[Any, Any]]


@lru_cache(maxsize=256)
def _text_planes(
    text: str, size: int, font_path: str | None, colour: tuple[int, int, int]
) -> TextPlanes:
    """``text`` on a translucent dark band as Y, U, V planes with their alphas (full and
    half resolution), drawn once per name and size."""
    bgr, alpha = _text_bitmap(text, size, font_path, colour, True)
    height, width = bgr.shape[0] & ~1, bgr.shape[1] & ~1
    bgr, alpha = bgr[:height, :width], alpha[:height, :width, 0]
    y, u, v = _to_planes(bgr)
    # integer alpha (0…256) so that blending is two multiplies and a shift per pixel
    full = np.round(alpha * 256).astype(np.uint16)
    return (y, u, v), (full, np.ascontiguousarray(full[::2, ::2]))


def _blend_planes(regions: list[Plane], text: TextPlanes, x: int, y: int) -> None:
    (ty, tu, tv), (alpha, half) = text
    _blend(regions[0], ty, alpha, x, y)
    _blend(regions[1], tu, half, x // 2, y // 2)
    _blend(regions[2], tv, half, x // 2, y // 2)


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


def _blend(region: Plane, bitmap: Any, alpha: Any, x: int, y: int) -> None:
    h = min(bitmap.shape[0], region.shape[0] - max(y, 0))
    w = min(bitmap.shape[1], region.shape[1] - max(x, 0))
    if h <= 0 or w <= 0:
        return
    x, y = max(x, 0), max(y, 0)
    target = region[y : y + h, x : x + w]
    a = alpha[:h, :w]
    mixed = (target.astype(np.uint16) * (256 - a) + bitmap[:h, :w].astype(np.uint16) * a) >> 8
    target[:] = mixed.astype(np.uint8)


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

    def encode(self, picture: VideoFrame, pts: int, *, keyframe: bool) -> list[EncodedFrame]:
        frame = picture if picture.format.name == "yuv420p" else picture.reformat(format="yuv420p")
        frame.pts = pts
        frame.time_base = Fraction(1, 90_000)
        # set on every picture: a frame object used twice must not stay an I picture
        frame.pict_type = (
            av.video.frame.PictureType.I if keyframe else av.video.frame.PictureType.NONE
        )
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
