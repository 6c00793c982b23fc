"""A recording's directory on disk: segments, the signed manifest, crash salvage.

Blocking file I/O throughout: the writer calls it from its worker thread, services through
``asyncio.to_thread``.  Every file lands by write-to-temporary, fsync, rename, fsync of the
directory, so a crash leaves either the old or the new version, never a torn one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from ._fmp4 import complete_length
from ._manifest import (
    Gap,
    Manifest,
    SegmentEntry,
    TalkSpan,
    chain_link,
    manifest_from_json,
    sign_manifest,
)
from ._naming import MANIFEST_NAME, PART_SUFFIX, parse_segment_name, segment_name
from ._signing import SigningKey

__all__ = ["RecordingFiles", "fsync_dir", "hash_file", "read_manifest", "write_atomic"]

CHUNK = 1 << 20


def hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def read_manifest(directory: Path) -> Manifest:
    manifest, _body, _sig = manifest_from_json((directory / MANIFEST_NAME).read_bytes())
    return manifest


class RecordingFiles:
    """Owns one recording directory; not thread-safe: one writer thread at a time."""

    def __init__(self, directory: Path, manifest: Manifest, key: SigningKey) -> None:
        self.directory = directory
        self.manifest = manifest
        self._key = key

    @classmethod
    def create(cls, directory: Path, manifest: Manifest, key: SigningKey) -> RecordingFiles:
        directory.mkdir(parents=True, exist_ok=False)
        files = cls(directory, manifest, key)
        files._save()
        fsync_dir(directory.parent)
        return files

    @classmethod
    def open(cls, directory: Path, key: SigningKey) -> RecordingFiles:
        return cls(directory, read_manifest(directory), key)

    def _save(self) -> None:
        write_atomic(
            self.directory / MANIFEST_NAME, sign_manifest(self.manifest, self._key.private)
        )

    @property
    def next_index(self) -> int:
        return self.manifest.segments[-1].index + 1 if self.manifest.segments else 0

    def part_path(self, index: int, start: datetime) -> Path:
        return self.directory / (segment_name(index, start) + PART_SUFFIX)

    def commit_segment(
        self,
        part: Path,
        end: datetime,
        *,
        talkers: tuple[str, ...] = (),
        recovered: bool = False,
    ) -> SegmentEntry:
        """Sync the finished ``.part`` file, rename it, chain it into the signed manifest."""
        final = part.with_name(part.name.removesuffix(PART_SUFFIX))
        parsed = parse_segment_name(final.name)
        if parsed is None:
            raise ValueError(f"{part.name} is not named like a segment")
        index, start = parsed
        with part.open("rb+") as fh:
            os.fsync(fh.fileno())
        sha, size = hash_file(part)
        os.replace(part, final)
        fsync_dir(self.directory)
        entry = SegmentEntry(
            index=index,
            name=final.name,
            start=start,
            end=max(end, start),
            bytes=size,
            sha256=sha,
            chain=chain_link(
                self.manifest.last_link,
                index=index,
                name=final.name,
                sha256=sha,
                start=start,
                end=max(end, start),
                size=size,
            ),
            recovered=recovered,
            talkers=talkers,
        )
        self.manifest = self.manifest.with_segment(entry)
        self._save()
        return entry

    def add_gap(self, gap: Gap) -> None:
        self.manifest = self.manifest.with_gap(gap)
        self._save()

    def add_talk(self, span: TalkSpan) -> None:
        self.manifest = self.manifest.with_talk(span)
        self._save()

    def finish(self, stopped_at: datetime, reason: str) -> Manifest:
        self.manifest = replace(self.manifest, stopped_at=stopped_at, stop_reason=reason)
        self._save()
        return self.manifest

    def salvage(self, duration_of: Callable[[Path], float]) -> list[SegmentEntry]:
        """After a crash: keep the whole fragments of each unfinished file, chain them in.

        Segments renamed but not yet in the manifest (a crash between the two steps) are
        chained in as they are; ``.part`` files are cut after their last complete fragment.
        A file with no complete fragment is removed, and the loss is recorded as a gap.
        """
        listed = {s.name for s in self.manifest.segments}
        pending: list[tuple[int, Path]] = []
        for path in self.directory.iterdir():
            name = path.name.removesuffix(PART_SUFFIX)
            parsed = parse_segment_name(name)
            if parsed is None or name in listed:
                continue
            pending.append((parsed[0], path))
        added: list[SegmentEntry] = []
        for _index, path in sorted(pending):
            if path.name.endswith(PART_SUFFIX):
                data = path.read_bytes()
                keep = complete_length(data)
                if keep == 0:
                    start = parse_segment_name(path.name.removesuffix(PART_SUFFIX))
                    path.unlink()
                    if start is not None:
                        self.add_gap(Gap(start[1], start[1], "crash: the open fragment was lost"))
                    continue
                if keep < len(data):
                    with path.open("rb+") as fh:
                        fh.truncate(keep)
            else:
                renamed = path.with_name(path.name + PART_SUFFIX)
                os.replace(path, renamed)
                path = renamed
            parsed = parse_segment_name(path.name.removesuffix(PART_SUFFIX))
            assert parsed is not None
            end = parsed[1] + timedelta(seconds=duration_of(path))
            added.append(self.commit_segment(path, end, recovered=True))
        return added
