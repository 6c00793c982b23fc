"""What the recordings module reads of other floors' tables, by name only.

The case module (floor 2) and the camera registry own these tables; importing their models
would tie media code to them, so the few columns read here are declared as lightweight
table clauses.
"""

from __future__ import annotations

from sqlalchemy import column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from core import UTCDateTime

from ._models import RecordingCaseRow
from ._policy import CaseFacts

__all__ = ["CASES", "case_facts", "case_row", "room_cameras"]

CASES = table(
    "cases",
    column("id"),
    column("number"),
    column("status"),
    column("dispute_type"),
    column("current_unit"),
    column("closed_at", UTCDateTime()),
)
CAMERAS = table("cameras", column("id"), column("room_id"))


async def case_row(session: AsyncSession, case_id: int) -> CaseFacts | None:
    row = (
        await session.execute(
            select(
                CASES.c.id,
                CASES.c.number,
                CASES.c.status,
                CASES.c.dispute_type,
                CASES.c.closed_at,
                CASES.c.current_unit,
            ).where(CASES.c.id == case_id)
        )
    ).first()
    if row is None:
        return None
    return CaseFacts(
        int(row.id), str(row.number), str(row.status), str(row.dispute_type), row.closed_at
    )


async def case_unit(session: AsyncSession, case_id: int) -> str | None:
    value = await session.scalar(select(CASES.c.current_unit).where(CASES.c.id == case_id))
    return None if value is None else str(value)


async def case_facts(session: AsyncSession, recording_ids: list[str]) -> dict[str, list[CaseFacts]]:
    """The cases each recording is linked to (for legal hold and retention)."""
    out: dict[str, list[CaseFacts]] = {rid: [] for rid in recording_ids}
    if not recording_ids:
        return out
    rows = await session.execute(
        select(
            RecordingCaseRow.recording_id,
            CASES.c.id,
            CASES.c.number,
            CASES.c.status,
            CASES.c.dispute_type,
            CASES.c.closed_at,
        )
        .join(CASES, CASES.c.id == RecordingCaseRow.case_id)
        .where(RecordingCaseRow.recording_id.in_(recording_ids))
    )
    for rid, cid, number, status, dtype, closed in rows:
        facts = CaseFacts(int(cid), str(number), str(status), str(dtype), closed)
        if facts not in out[rid]:
            out[rid].append(facts)
    return out


async def room_cameras(session: AsyncSession, room_id: int) -> list[int]:
    rows = await session.scalars(
        select(CAMERAS.c.id).where(CAMERAS.c.room_id == room_id).order_by(CAMERAS.c.id)
    )
    return [int(r) for r in rows]


async def camera_room(session: AsyncSession, camera_id: int) -> int | None:
    value = await session.scalar(select(CAMERAS.c.room_id).where(CAMERAS.c.id == camera_id))
    return None if value is None else int(value)


async def camera_exists(session: AsyncSession, camera_id: int) -> bool:
    found = await session.scalar(select(CAMERAS.c.id).where(CAMERAS.c.id == camera_id))
    return found is not None


async def case_id_by_number(session: AsyncSession, number: str) -> int | None:
    value = await session.scalar(select(CASES.c.id).where(CASES.c.number == number))
    return None if value is None else int(value)
