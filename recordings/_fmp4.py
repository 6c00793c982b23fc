"""Top-level ISO-BMFF box walking for fragmented MP4 salvage.  Pure core.

A segment being written is ``ftyp moov (moof mdat)* [partial moof/mdat]``.  After a crash
the complete ``moof``+``mdat`` pairs are valid media: :func:`complete_length` tells where
the last complete fragment ends, so the salvage keeps every whole fragment and drops only
the one that was open.
"""

from __future__ import annotations

import struct

__all__ = ["complete_length", "top_level_boxes"]


def top_level_boxes(data: bytes | memoryview) -> list[tuple[str, int, int]]:
    """(type, offset, size) of each complete top-level box, stopping at a truncated one."""
    boxes: list[tuple[str, int, int]] = []
    offset, end = 0, len(data)
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            if offset + 16 > end:
                break
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset  # "to the end of file": only trustworthy if complete
        if size < header or offset + size > end:
            break
        boxes.append((kind.decode("latin-1"), offset, size))
        offset += size
    return boxes


def complete_length(data: bytes | memoryview) -> int:
    """Bytes of ``data`` that form a playable file: header plus whole fragments; 0 if none."""
    boxes = top_level_boxes(data)
    kinds = [k for k, _, _ in boxes]
    if "moov" not in kinds:
        return 0
    keep = 0
    pending_moof = False
    for kind, offset, size in boxes:
        if kind == "moof":
            pending_moof = True
            continue
        if kind == "mdat":
            if pending_moof:
                keep = offset + size
            pending_moof = False
            continue
        if not pending_moof:
            keep = offset + size  # ftyp, moov, free, mfra …
    if not any(k == "mdat" for k, o, s in boxes if o + s <= keep):
        return 0
    return keep
