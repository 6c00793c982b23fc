"""Crash salvage and index rebuild (blocking parts in a thread, the index in one transaction)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from core import Database

from ._index import ReindexReport, find_recordings, store_index
from ._manifest import Manifest
from ._mux import media_duration
from ._signing import SigningKey
from ._store import RecordingFiles

__all__ = ["reindex", "salvage_directory"]


def salvage_directory(directory: Path, key: SigningKey) -> tuple[Manifest, int]:
    """Finish a recording whose writer died: keep whole fragments, close the manifest."""
    files = RecordingFiles.open(directory, key)
    added = files.salvage(media_duration)
    if files.manifest.stopped_at is None:
        segments = files.manifest.segments
        end = segments[-1].end if segments else files.manifest.started_at
        files.finish(
            end,
            "interrupted: the recording process ended without stopping "
            f"(crash or power loss); {len(added)} segment(s) salvaged, noticed "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC",
        )
    return files.manifest, len(added)


def _scan(
    root: Path, key: SigningKey, salvage: bool
) -> tuple[list[tuple[Manifest, str]], ReindexReport]:
    report = ReindexReport()
    found: list[tuple[Manifest, str]] = []
    for directory in find_recordings(root):
        try:
            if salvage:
                manifest, count = salvage_directory(directory, key)
                if count:
                    report.salvaged[manifest.recording_id] = count
            else:
                manifest = RecordingFiles.open(directory, key).manifest
        except (OSError, ValueError) as exc:
            report.unreadable[str(directory)] = str(exc)
            continue
        found.append((manifest, str(directory.relative_to(root))))
        report.indexed.append(manifest.recording_id)
    return found, report


async def reindex(
    db: Database, root: Path, key: SigningKey, *, salvage: bool = True
) -> ReindexReport:
    """Rebuild the index from every manifest under ``root``.

    With ``salvage`` (the default, for a gateway that is not running, or at start-up before
    any writer), unfinished recordings are closed first.  Case links are kept: they live
    in the database only and are not touched.
    """
    found, report = await asyncio.to_thread(_scan, root, key, salvage)
    await store_index(db, found)
    return report
