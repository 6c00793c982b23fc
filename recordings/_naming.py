"""Names on disk: recording ids, segment file names, the recording directory.  Pure core.

A segment's name carries its index and its wall-clock start, so a directory listing alone
tells the order and time of every file even when the manifest is lost.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "MANIFEST_NAME",
    "PART_SUFFIX",
    "new_recording_id",
    "parse_segment_name",
    "recording_dir",
    "segment_name",
    "valid_recording_id",
]

MANIFEST_NAME = "manifest.json"
PART_SUFFIX = ".part"  # a segment being written; renamed to .mp4 once complete and synced

_ID = re.compile(r"^rec-\d{8}T\d{6}Z-[0-9a-f]{8}$")
_SEGMENT = re.compile(r"^seg-(\d{6})-(\d{8}T\d{6}\.\d{3}Z)\.mp4$")


def new_recording_id(now: datetime) -> str:
    """``rec-20261127T083000Z-1a2b3c4d``: sortable by start, unguessable, safe as a path."""
    return f"rec-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def valid_recording_id(value: str) -> bool:
    return bool(_ID.match(value))


def recording_dir(root: Path, recording_id: str) -> Path:
    """Where a recording lives; refuses anything that is not a recording id (no ``..``)."""
    if not valid_recording_id(recording_id):
        raise ValueError(f"{recording_id!r} is not a recording id (rec-YYYYMMDDTHHMMSSZ-xxxxxxxx)")
    return root / recording_id[4:8] / recording_id[8:10] / recording_id


def segment_name(index: int, start: datetime) -> str:
    if not 0 <= index < 1_000_000:
        raise ValueError(f"segment index {index} is out of range 0..999999")
    stamp = start.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"
    return f"seg-{index:06d}-{stamp}.mp4"


def parse_segment_name(name: str) -> tuple[int, datetime] | None:
    """(index, start) of a segment file name, or None when it is not one."""
    match = _SEGMENT.match(name)
    if match is None:
        return None
    start = datetime.strptime(match.group(2), "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    return int(match.group(1)), start
