"""The database index of recordings, kept from writer events and rebuilt from manifests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from core import Database

from ._foreign_tables import camera_exists
from ._manifest import Gap, Manifest, SegmentEntry
from ._models import RecordingGapRow, RecordingRow, RecordingSegmentRow
from ._naming import MANIFEST_NAME, valid_recording_id

__all__ = ["ReindexReport", "find_recordings", "index_manifest", "segment_row"]


def segment_row(recording_id: str, s: SegmentEntry) -> RecordingSegmentRow:
    return RecordingSegmentRow(
        recording_id=recording_id,
        idx=s.index,
        name=s.name,
        start=s.start,
        end=s.end,
        bytes=s.bytes,
        sha256=s.sha256,
        chain=s.chain,
        recovered=s.recovered,
        talkers=",".join(s.talkers),
    )


def gap_row(recording_id: str, g: Gap) -> RecordingGapRow:
    return RecordingGapRow(recording_id=recording_id, start=g.start, end=g.end, reason=g.reason)


def _camera_id(value: str) -> int | None:
    return int(value) if value.isdigit() else None


async def index_manifest(
    session: AsyncSession, manifest: Manifest, path: str, *, state: str | None = None
) -> RecordingRow:
    """Make the index say exactly what the manifest says (segments, gaps, times, bytes)."""
    # A camera removed from the registry since: keep the recording, drop the dangling id.
    camera_id = _camera_id(manifest.camera_id)
    if camera_id is not None and not await camera_exists(session, camera_id):
        camera_id = None
    row = await session.get(RecordingRow, manifest.recording_id)
    new = row is None
    if row is None:
        row = RecordingRow(id=manifest.recording_id, case_session_id=None)
    row.camera_id = camera_id
    row.unit_code = manifest.unit_code
    row.room_id = manifest.room_id
    row.mode = manifest.policy
    row.reason = manifest.reason
    row.started_by = manifest.started_by
    row.started_at = manifest.started_at
    row.stopped_at = manifest.stopped_at
    row.stop_reason = manifest.stop_reason
    row.path = path
    row.key_id = manifest.key_id
    row.bytes = manifest.bytes
    row.segment_count = len(manifest.segments)
    row.media_start = manifest.segments[0].start if manifest.segments else None
    row.media_end = manifest.segments[-1].end if manifest.segments else None
    if state is not None:
        row.state = state
    elif manifest.stopped_at is None:
        row.state = "recording"
    elif (manifest.stop_reason or "").startswith("interrupted"):
        row.state = "interrupted"
    else:
        row.state = "stopped"
    rid = manifest.recording_id
    if new:
        session.add(row)
    await session.flush()
    await session.execute(
        delete(RecordingSegmentRow).where(RecordingSegmentRow.recording_id == rid)
    )
    await session.execute(delete(RecordingGapRow).where(RecordingGapRow.recording_id == rid))
    session.add_all([segment_row(rid, s) for s in manifest.segments])
    session.add_all([gap_row(rid, g) for g in manifest.gaps])
    return row


def find_recordings(root: Path) -> list[Path]:
    """Recording directories under ``root`` (blocking: run in a thread)."""
    if not root.is_dir():
        return []
    return sorted(
        p.parent for p in root.glob(f"*/*/*/{MANIFEST_NAME}") if valid_recording_id(p.parent.name)
    )


@dataclass
class ReindexReport:
    indexed: list[str] = field(default_factory=list)
    salvaged: dict[str, int] = field(default_factory=dict)  # recording id → segments salvaged
    unreadable: dict[str, str] = field(default_factory=dict)  # directory → why
    links_restored: list[str] = field(default_factory=list)  # "recording → case number"
    links_skipped: list[str] = field(default_factory=list)  # journalled links not restored, why
    journal_problems: dict[str, str] = field(default_factory=dict)  # recording id → problem

    def summary(self) -> str:
        lines = [f"{len(self.indexed)} recording(s) indexed"]
        lines += [
            f"  {rid}: salvaged {n} segment(s) after a crash" for rid, n in self.salvaged.items()
        ]
        lines += [f"  {d}: not indexed: {why}" for d, why in self.unreadable.items()]
        if self.links_restored:
            lines.append(f"{len(self.links_restored)} case link(s) restored from the journals")
        lines += [f"  case link not restored: {why}" for why in self.links_skipped]
        lines += [
            f"  {rid}: case-link journal: {why}" for rid, why in self.journal_problems.items()
        ]
        return "\n".join(lines)


async def store_index(db: Database, manifests: list[tuple[Manifest, str]]) -> None:
    async with db.transaction() as session:
        for manifest, path in manifests:
            await index_manifest(session, manifest, path)
