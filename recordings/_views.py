"""How recordings are shown: list rows, the detail with segments and gaps, timeline spans.

List rows carry the recording, its case links and its legal hold, never per-segment
detail: a page of them costs a fixed number of queries however long the recordings are.
Segments and gaps are in the detail view, and in the day's timeline as spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ._foreign_tables import case_facts
from ._models import RecordingCaseRow, RecordingGapRow, RecordingRow, RecordingSegmentRow
from ._policy import CaseFacts, RecordingFacts, legal_hold

__all__ = [
    "RecordingPage",
    "TimelineSpan",
    "recording_detail",
    "recording_json",
    "recording_list",
    "without_case_details",
]


@dataclass(frozen=True, slots=True)
class RecordingPage:
    """One page of a search: ``total`` matches in the caller's scope, ``recordings`` shown."""

    total: int
    limit: int
    offset: int
    recordings: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class TimelineSpan:
    """A stretch of recorded media (one segment) or of a gap, for a day's timeline."""

    recording_id: str
    camera_id: int | None
    kind: str  # "media" or "gap"
    start: datetime
    end: datetime
    segment: int | None = None  # the segment's index, for media
    reason: str = ""  # why, for a gap


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def recording_json(row: RecordingRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "camera_id": row.camera_id,
        "unit_code": row.unit_code,
        "room_id": row.room_id,
        "mode": row.mode,
        "state": row.state,
        "reason": row.reason,
        "started_by": row.started_by,
        "started_at": _ts(row.started_at),
        "stopped_at": _ts(row.stopped_at),
        "stop_reason": row.stop_reason,
        "media_start": _ts(row.media_start),
        "media_end": _ts(row.media_end),
        "bytes": row.bytes,
        "segment_count": row.segment_count,
        "key_id": row.key_id,
    }


def _with_cases(
    row: RecordingRow, links: Sequence[RecordingCaseRow], facts: list[CaseFacts]
) -> dict[str, Any]:
    """The row with its case links and legal hold (the fields lists and detail share)."""
    numbers = {c.case_id: c.number for c in facts}
    out = recording_json(row)
    out["cases"] = [
        {
            "link_id": link.id,
            "case_id": link.case_id,
            "case_number": numbers.get(link.case_id),
            "start": _ts(link.range_start),
            "end": _ts(link.range_end),
            "note": link.note,
            "attached_by": link.attached_by,
        }
        for link in links
    ]
    out["legal_hold"] = legal_hold(
        RecordingFacts(row.id, row.mode, row.started_at, row.stopped_at, row.bytes, tuple(facts))
    )
    return out


def without_case_details(recording: dict[str, Any]) -> dict[str, Any]:
    """The recording as someone without case access sees it: that it is tied to cases
    (legal hold, links), not which cases — no case numbers, no notes."""
    for link in recording.get("cases", ()):
        link["case_number"] = None
        link["note"] = None
    return recording


async def recording_list(
    session: AsyncSession, rows: Sequence[RecordingRow]
) -> list[dict[str, Any]]:
    """List rows of ``rows``, in their order: two queries for the whole page."""
    ids = [r.id for r in rows]
    if not ids:
        return []
    links: dict[str, list[RecordingCaseRow]] = {rid: [] for rid in ids}
    for link in await session.scalars(
        select(RecordingCaseRow)
        .where(RecordingCaseRow.recording_id.in_(ids))
        .order_by(RecordingCaseRow.id)
    ):
        links[link.recording_id].append(link)
    facts = await case_facts(session, ids)
    return [_with_cases(r, links[r.id], facts[r.id]) for r in rows]


async def recording_detail(session: AsyncSession, row: RecordingRow) -> dict[str, Any]:
    """One recording with everything: segments and their hashes, gaps, cases, hold."""
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
    (out,) = await recording_list(session, [row])
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
    return out
