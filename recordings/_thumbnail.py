"""Thumbnails of segments: the first picture, scaled to 320 px wide, cached as JPEG.

Blocking (decodes with PyAV): call from a thread.  The cache lives outside the recording
directory, which holds evidence only.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import av

__all__ = ["thumbnail"]

WIDTH = 320


def thumbnail(segment: Path, cache: Path) -> bytes:
    if cache.is_file():
        return cache.read_bytes()
    with av.open(str(segment)) as container:
        frame = next(container.decode(video=0), None)
        if frame is None:
            raise ValueError(f"{segment.name} has no picture to show")
        height = max(2, round(frame.height * WIDTH / frame.width / 2) * 2)
        image = frame.to_image().resize((WIDTH, height))  # type: ignore[no-untyped-call]
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    data = buffer.getvalue()
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, cache)
    return data
