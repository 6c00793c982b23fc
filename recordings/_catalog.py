"""Reading the recordings index for a caller: one recording, a search, segment files, verify.

Writes to the index are elsewhere (the recorder keeps it from writer events, reindex
rebuilds it from manifests); this is the read side, scoped and audited where it plays.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core import Database, Permission, Principal, authorize, contains, record

from ._access import existing_row
from ._archive import RecordingArchive
from ._errors import RecordingNotFoundError
from ._integrity import VerifyReport, verify_recording
from ._models import RecordingCaseRow, RecordingRow, RecordingSegmentRow
from ._thumbnail import thumbnail
from ._views import recording_detail

__all__ = ["RecordingCatalog"]


class RecordingCatalog:
    def __init__(self, db: Database, archive: RecordingArchive) -> None:
        self.db = db
        self.archive = archive

    async def get_row(self, recording_id: str) -> RecordingRow:
        """The index row, unchecked (for the process itself, not for callers' requests)."""
        async with self.db.transaction() as session:
            return await existing_row(session, recording_id)

    async def get(self, actor: Principal, recording_id: str) -> dict[str, Any]:
        async with self.db.transaction() as session:
            row = await existing_row(session, recording_id)
            authorize(actor, Permission.RECORDING_VIEW, row.unit_code)
            return await recording_detail(session, row)

    async def search(
        self,
        actor: Principal,
        *,
        camera_id: int | None = None,
        case_id: int | None = None,
        room_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        authorize(actor, Permission.RECORDING_VIEW, actor.unit_code)
        query = select(RecordingRow).where(RecordingRow.state != "deleted")
        if camera_id is not None:
            query = query.where(RecordingRow.camera_id == camera_id)
        if room_id is not None:
            query = query.where(RecordingRow.room_id == room_id)
        if case_id is not None:
            query = query.where(
                RecordingRow.id.in_(
                    select(RecordingCaseRow.recording_id).where(RecordingCaseRow.case_id == case_id)
                )
            )
        if end is not None:
            query = query.where(RecordingRow.started_at < end)
        if start is not None:
            query = query.where(
                (RecordingRow.media_end.is_(None)) | (RecordingRow.media_end > start)
            )
        query = query.order_by(RecordingRow.started_at.desc()).limit(limit)
        async with self.db.transaction() as session:
            rows = (await session.scalars(query)).all()
            visible = [r for r in rows if contains(actor.unit_code, r.unit_code)]
            return [await recording_detail(session, r) for r in visible]

    async def segment_file(
        self, actor: Principal, recording_id: str, index: int, *, audit: bool
    ) -> Path:
        """The segment's file for playback; audits the playback when ``audit``."""
        async with self.db.transaction() as session:
            row = await existing_row(session, recording_id)
            authorize(actor, Permission.RECORDING_VIEW, row.unit_code)
            segment = await session.get(RecordingSegmentRow, (recording_id, index))
            if segment is None:
                raise RecordingNotFoundError(f"recording {recording_id} has no segment {index}")
            if audit:
                await record(
                    session,
                    actor,
                    "recording.play",
                    object_type="recording",
                    object_id=recording_id,
                    unit_code=row.unit_code,
                    detail={"segment": segment.name},
                )
            return self.archive.directory(row) / segment.name

    async def thumbnail(self, actor: Principal, recording_id: str, index: int) -> bytes:
        """A segment's first picture as JPEG, cached outside the recording's directory."""
        path = await self.segment_file(actor, recording_id, index, audit=False)
        cache = self.archive.data_dir / "thumbnails" / recording_id / f"{index}.jpg"
        return await asyncio.to_thread(thumbnail, path, cache)

    async def verify(self, actor: Principal, recording_id: str) -> VerifyReport:
        """Re-hash the recording's files and check chain and signature (in a thread)."""
        async with self.db.transaction() as session:
            row = await existing_row(session, recording_id)
            authorize(actor, Permission.RECORDING_VIEW, row.unit_code)
        public = self.archive.signing_key().public
        return await asyncio.to_thread(verify_recording, self.archive.directory(row), public)
