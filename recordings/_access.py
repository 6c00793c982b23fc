"""Loading a recording's index row: the one place that says whether it exists."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ._errors import RecordingNotFoundError
from ._models import RecordingRow

__all__ = ["existing_row"]


async def existing_row(session: AsyncSession, recording_id: str) -> RecordingRow:
    """The index row, unchecked for scope (for the process itself); deleted ones are gone."""
    row = await session.get(RecordingRow, recording_id)
    if row is None or row.state == "deleted":
        raise RecordingNotFoundError(f"there is no recording {recording_id}")
    return row
