"""Reading the recordings index for a caller: one recording, a search, segment files, verify.

Writes to the index are elsewhere (the recorder keeps it from writer events, reindex
rebuilds it from manifests); this is the read side, scoped and audited where it plays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select

from core import Database, Permission, Principal, authorize, record

from ._access import existing_row, scope_condition, visible_row
from ._archive import RecordingArchive
from ._errors import InvalidRangeError, RecordingNotFoundError
from ._integrity import VerifyReport, verify_recording
from ._models import RecordingCaseRow, RecordingGapRow, RecordingRow, RecordingSegmentRow
from ._thumbnail import thumbnail
from ._views import (
    RecordingPage,
    TimelineSpan,
    recording_detail,
    recording_list,
    without_case_details,
)

__all__ = ["MAX_PAGE", "RecordingCatalog"]

#: The longest page a search returns (and its default): list rows are small, but a
#: caller who wants more pages through them with ``offset``.
MAX_PAGE = 200


class RecordingCatalog:
    def __init__(self, db: Database, archive: RecordingArchive) -> None:
        self.db = db
        self.archive = archive

    async def get_row(self, recording_id: str) -> RecordingRow:
        """The index row, unchecked (for the process itself, not for callers' requests)."""
        async with self.db.read() as session:
            return await existing_row(session, recording_id)

    async def written_by(self, nodes: Collection[str]) -> set[str]:
        """Ids of recordings that these gateway processes are writing now."""
        if not nodes:
            return set()
        async with self.db.read() as session:
            return set(
                await session.scalars(
                    select(RecordingRow.id).where(
                        RecordingRow.state == "recording", RecordingRow.node_id.in_(list(nodes))
                    )
                )
            )

    async def camera_of(self, actor: Principal, recording_id: str) -> int | None:
        """The camera of a recording the caller may see (404 otherwise)."""
        async with self.db.read() as session:
            return (await visible_row(session, actor, recording_id)).camera_id

    async def get(self, actor: Principal, recording_id: str) -> dict[str, Any]:
        async with self.db.read() as session:
            row = await visible_row(session, actor, recording_id)
            found = await recording_detail(session, row)
        return found if actor.has(Permission.CASE_READ) else without_case_details(found)

    async def search(
        self,
        actor: Principal,
        *,
        camera_id: int | None = None,
        case_id: int | None = None,
        room_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = MAX_PAGE,
        offset: int = 0,
    ) -> RecordingPage:
        """Recordings in the caller's scope matching every filter, newest first, one page.

        Scope and filters are SQL conditions, applied before ``limit``/``offset``, and
        ``total`` counts every match, so a caller pages through its own recordings only.
        Rows carry no segments (see :meth:`get` and :meth:`timeline`).
        """
        authorize(actor, Permission.RECORDING_VIEW, actor.unit_code)
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRangeError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
        if offset < 0:
            raise InvalidRangeError(f"offset must be 0 or more, got {offset}")
        conditions = [RecordingRow.state != "deleted"]
        if (scope := scope_condition(actor)) is not None:
            conditions.append(scope)
        if camera_id is not None:
            conditions.append(RecordingRow.camera_id == camera_id)
        if room_id is not None:
            conditions.append(RecordingRow.room_id == room_id)
        if case_id is not None:
            conditions.append(
                RecordingRow.id.in_(
                    select(RecordingCaseRow.recording_id).where(RecordingCaseRow.case_id == case_id)
                )
            )
        if end is not None:
            conditions.append(RecordingRow.started_at < end)
        if start is not None:
            conditions.append(or_(RecordingRow.media_end.is_(None), RecordingRow.media_end > start))
        async with self.db.read() as session:
            total = await session.scalar(
                select(func.count()).select_from(RecordingRow).where(*conditions)
            )
            rows = (
                await session.scalars(
                    select(RecordingRow)
                    .where(*conditions)
                    # The id breaks ties, so pages neither repeat nor skip a recording.
                    .order_by(RecordingRow.started_at.desc(), RecordingRow.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            ).all()
            found = await recording_list(session, rows)
        if not actor.has(Permission.CASE_READ):
            found = [without_case_details(r) for r in found]
        return RecordingPage(int(total or 0), limit, offset, found)

    async def timeline(
        self, actor: Principal, *, start: datetime, end: datetime, camera_id: int | None = None
    ) -> list[TimelineSpan]:
        """Segments and gaps between ``start`` and ``end`` of the recordings in scope."""
        authorize(actor, Permission.RECORDING_VIEW, actor.unit_code)
        conditions = [RecordingRow.state != "deleted"]
        if (scope := scope_condition(actor)) is not None:
            conditions.append(scope)
        if camera_id is not None:
            conditions.append(RecordingRow.camera_id == camera_id)
        async with self.db.read() as session:
            segments = await session.execute(
                select(RecordingSegmentRow, RecordingRow.camera_id)
                .join(RecordingRow, RecordingRow.id == RecordingSegmentRow.recording_id)
                .where(
                    *conditions, RecordingSegmentRow.end > start, RecordingSegmentRow.start < end
                )
                .order_by(RecordingSegmentRow.start)
            )
            spans = [
                TimelineSpan(s.recording_id, camera, "media", s.start, s.end, segment=s.idx)
                for s, camera in segments
            ]
            gaps = await session.execute(
                select(RecordingGapRow, RecordingRow.camera_id)
                .join(RecordingRow, RecordingRow.id == RecordingGapRow.recording_id)
                .where(*conditions, RecordingGapRow.end > start, RecordingGapRow.start < end)
                .order_by(RecordingGapRow.start)
            )
            spans += [
                TimelineSpan(g.recording_id, camera, "gap", g.start, g.end, reason=g.reason)
                for g, camera in gaps
            ]
        return spans

    async def segment_file(
        self, actor: Principal, recording_id: str, index: int, *, audit: bool
    ) -> Path:
        """The segment's file for playback; audits the playback when ``audit``."""
        async with self.db.transaction() as session:
            row = await visible_row(session, actor, recording_id)
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
        async with self.db.read() as session:
            row = await visible_row(session, actor, recording_id)
        public = self.archive.signing_key().public
        return await asyncio.to_thread(verify_recording, self.archive.directory(row), public)
