"""Which recorded segments a platform's playback plays, and its audit rows.

A playback of a channel over ``t=start end`` plays every finished segment of the
camera's recordings that overlaps the range, in time order (several recordings may
follow each other: a gap between them is simply skipped).  Each recording played is
audited as ``recording.play`` — the row a browser playback writes — with who played it
(the platform), the range and the SIP call, so the audit log answers "who watched this
mediation" the same way whatever the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core import Database, record
from recordings import RecordingArchive, RecordingRow
from recordings import RecordingSegmentRow as _Segment
from uplink._recorded import SegmentRef

__all__ = ["PlaybackPlan", "audit_playback", "plan_playback"]


@dataclass(frozen=True, slots=True)
class PlaybackPlan:
    """The segments to play and the recordings they belong to."""

    segments: tuple[SegmentRef, ...]
    recordings: tuple[tuple[str, str], ...]  # (recording id, unit code), in time order
    bytes: int

    @property
    def empty(self) -> bool:
        return not self.segments


async def plan_playback(
    db: Database, archive: RecordingArchive, camera_id: int, start: datetime, end: datetime
) -> PlaybackPlan:
    """The camera's finished segments overlapping [start, end) (aware datetimes)."""
    query = (
        select(_Segment, RecordingRow)
        .join(RecordingRow, RecordingRow.id == _Segment.recording_id)
        .where(RecordingRow.camera_id == camera_id)
        .where(RecordingRow.state != "deleted", RecordingRow.deleted_at.is_(None))
        .where(_Segment.end > start, _Segment.start < end)
        .order_by(_Segment.start)
    )
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    segments: list[SegmentRef] = []
    recordings: list[tuple[str, str]] = []
    size = 0
    for segment, recording in rows:
        path = archive.directory(recording) / segment.name
        segments.append(SegmentRef(path, segment.start.timestamp(), segment.end.timestamp()))
        size += segment.bytes
        if (recording.id, recording.unit_code) not in recordings:
            recordings.append((recording.id, recording.unit_code))
    return PlaybackPlan(tuple(segments), tuple(recordings), size)


async def audit_playback(
    db: Database,
    actor: str,
    plan: PlaybackPlan,
    *,
    mode: str,
    start: datetime,
    end: datetime,
    call: str,
) -> None:
    """One ``recording.play`` row per recording played, in one transaction."""
    async with db.transaction() as session:
        for recording_id, unit_code in plan.recordings:
            await record(
                session,
                actor,
                "recording.play",
                object_type="recording",
                object_id=recording_id,
                unit_code=unit_code,
                detail={
                    "source": "gb28181",
                    "mode": mode,
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "call": call[:16],
                },
            )
