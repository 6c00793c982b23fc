"""RecordInfo from the recordings index: a channel's recordings that overlap a range,
named with the case numbers they are tied to (where the platform's unit may see the case).

GB/T 28181 writes times without a zone, in the local time of the deployment: Beijing
time (UTC+8) here, as the platforms in use assume.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import column, select, table

from core import Database, contains, utcnow
from recordings import RecordingRow

__all__ = ["BEIJING", "RecordSpan", "parse_gb_time", "recordings_between"]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
_LINKS = table("recording_cases", column("recording_id"), column("case_id"))
_CASES = table("cases", column("id"), column("number"), column("current_unit"))


def parse_gb_time(text: str | None) -> datetime | None:
    """``2026-12-01T08:00:00`` (Beijing time, as platforms send it) → aware UTC; None if
    absent or malformed.  A trailing ``Z`` or offset is honoured."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class RecordSpan:
    recording_id: str
    start: datetime  # Beijing time, naive (as written in RecordInfo)
    end: datetime
    bytes: int
    manual: bool
    case_numbers: tuple[str, ...]


async def recordings_between(
    db: Database, camera_id: int, start: datetime, end: datetime, scope: str
) -> list[RecordSpan]:
    """Recordings of ``camera_id`` overlapping [start, end) (aware datetimes), oldest first."""
    query = (
        select(RecordingRow)
        .where(RecordingRow.camera_id == camera_id)
        .where(RecordingRow.deleted_at.is_(None))
        .where(RecordingRow.media_start.is_not(None))
        .where(RecordingRow.media_start < end)
        .order_by(RecordingRow.media_start)
    )
    async with db.read() as session:
        rows = [
            r for r in (await session.scalars(query)).all() if (r.media_end or utcnow()) > start
        ]
        links: dict[str, list[str]] = {}
        if rows:
            found = await session.execute(
                select(_LINKS.c.recording_id, _CASES.c.number, _CASES.c.current_unit)
                .join(_CASES, _CASES.c.id == _LINKS.c.case_id)
                .where(_LINKS.c.recording_id.in_([r.id for r in rows]))
            )
            for recording_id, number, unit in found.all():
                if contains(scope, unit):
                    links.setdefault(recording_id, []).append(str(number))
    return [
        RecordSpan(
            recording_id=row.id,
            start=_local(row.media_start or row.started_at),
            end=_local(row.media_end or utcnow()),
            bytes=row.bytes,
            manual=row.mode == "manual",
            case_numbers=tuple(sorted(links.get(row.id, []))),
        )
        for row in rows
    ]


def _local(value: datetime) -> datetime:
    return value.astimezone(BEIJING).replace(tzinfo=None)
