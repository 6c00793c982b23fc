"""How recordings are shown: the index row with its segments, gaps, case links and hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ._foreign_tables import case_facts
from ._models import RecordingCaseRow, RecordingGapRow, RecordingRow, RecordingSegmentRow
from ._policy import RecordingFacts, legal_hold

__all__ = ["recording_detail", "recording_json"]


async def recording_detail(session: AsyncSession, row: RecordingRow) -> dict[str, Any]:
    segments = (
        await session.scalars(
            select(RecordingSegmentRow)
            .where(RecordingSegmentRow.recording_id == row.id)
            .order_by(RecordingSegmentRow.idx)
        )
    ).all()
    gaps = (
        await session.scalars(
            select(RecordingGapRow)
            .where(RecordingGapRow.recording_id == row.id)
            .order_by(RecordingGapRow.start)
        )
    ).all()
    links = (
        await session.scalars(
            select(RecordingCaseRow).where(RecordingCaseRow.recording_id == row.id)
        )
    ).all()
    facts = (await case_facts(session, [row.id]))[row.id]
    numbers = {c.case_id: c.number for c in facts}
    out = recording_json(row)
    out["segments"] = [
        {
            "index": s.idx,
            "name": s.name,
            "start": s.start.isoformat(),
            "end": s.end.isoformat(),
            "bytes": s.bytes,
            "sha256": s.sha256,
            "chain": s.chain,
            "recovered": s.recovered,
            "talkers": [t for t in s.talkers.split(",") if t],
        }
        for s in segments
    ]
    out["gaps"] = [
        {"start": g.start.isoformat(), "end": g.end.isoformat(), "reason": g.reason} for g in gaps
    ]
    out["cases"] = [
        {
            "link_id": link.id,
            "case_id": link.case_id,
            "case_number": numbers.get(link.case_id),
            "start": link.range_start.isoformat() if link.range_start else None,
            "end": link.range_end.isoformat() if link.range_end else None,
            "note": link.note,
            "attached_by": link.attached_by,
        }
        for link in links
    ]
    hold = legal_hold(
        RecordingFacts(row.id, row.mode, row.started_at, row.stopped_at, row.bytes, tuple(facts))
    )
    out["legal_hold"] = hold
    return out


def recording_json(row: RecordingRow) -> dict[str, Any]:
    def ts(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": row.id,
        "camera_id": row.camera_id,
        "unit_code": row.unit_code,
        "room_id": row.room_id,
        "mode": row.mode,
        "state": row.state,
        "reason": row.reason,
        "started_by": row.started_by,
        "started_at": ts(row.started_at),
        "stopped_at": ts(row.stopped_at),
        "stop_reason": row.stop_reason,
        "media_start": ts(row.media_start),
        "media_end": ts(row.media_end),
        "bytes": row.bytes,
        "segment_count": row.segment_count,
        "key_id": row.key_id,
    }
