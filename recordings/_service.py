"""RecordingService: start/stop with a reason, the index, case links, playback, holds.

Owns one :class:`RecordingWriter` per running recording and one indexer task that turns
writer events into index rows; ``start()``/``close()`` are idempotent and leave no task.
Every change and every playback is audited in the transaction that records it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camera_registry import CameraManager
from core import SYSTEM, Database, Permission, Principal, authorize, contains, record

from ._errors import (
    InvalidRangeError,
    RecordingConflictError,
    RecordingError,
    RecordingNotFoundError,
)
from ._foreign_tables import camera_room, case_id_by_number, case_row, case_unit, room_cameras
from ._index import gap_row, index_manifest, segment_row
from ._integrity import VerifyReport, verify_recording
from ._link_journal import LinkJournal, journal_link
from ._manifest import Manifest
from ._metrics import fold
from ._models import RecordingCaseRow, RecordingRow, RecordingSegmentRow
from ._naming import new_recording_id, recording_dir
from ._policy import RecordingMode
from ._recovery import reindex
from ._signing import SigningKey
from ._store import RecordingFiles
from ._views import recording_detail, recording_json
from ._writer import RecordingWriter, WriterEvent, WriterStats

__all__ = ["RecordingService", "ServiceSettings", "recording_json"]

log = logging.getLogger("gateway.recordings")


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    segment_seconds: float = 60.0
    gap_after: float = 3.0


class RecordingService:
    def __init__(
        self,
        db: Database,
        data_dir: Path,
        cameras: CameraManager,
        settings: ServiceSettings | None = None,
        *,
        on_event: Callable[[WriterEvent], None] | None = None,
    ) -> None:
        self.db = db
        self.data_dir = data_dir
        self.root = data_dir / "recordings"
        self.cameras = cameras
        self.settings = settings or ServiceSettings()
        self._on_event = on_event
        self.key: SigningKey | None = None
        self.writers: dict[str, RecordingWriter] = {}
        #: Counters of finished recordings by camera id, for monotonic metrics.
        self.finished_stats: dict[str, WriterStats] = {}
        self.stopping: dict[str, RecordingWriter] = {}
        self.journal = LinkJournal()
        self._events: asyncio.Queue[WriterEvent | None] = asyncio.Queue()
        self._indexer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Load (or create) the signing key, salvage crashed recordings, start the indexer."""
        if self._indexer is not None:
            return
        self.key = await asyncio.to_thread(SigningKey.load_or_create, self.data_dir)
        report = await reindex(self.db, self.root, self.key)
        for rid, count in report.salvaged.items():
            log.warning("salvaged a crashed recording", extra={"recording": rid, "segments": count})
        self._indexer = asyncio.create_task(self._index_events(), name="recordings indexer")

    async def close(self) -> None:
        for rid in list(self.writers):
            with contextlib.suppress(RecordingError):
                await self.stop_recording(SYSTEM, rid, "gateway shutting down")
        task, self._indexer = self._indexer, None
        if task is not None:
            self._events.put_nowait(None)
            await task

    def signing_key(self) -> SigningKey:
        if self.key is None:
            raise RecordingError("the recording service is not started", code="not_started")
        return self.key

    # ------------------------------------------------------------ start / stop

    async def start_recording(
        self,
        actor: Principal,
        camera_id: int,
        reason: str,
        *,
        mode: RecordingMode = RecordingMode.MANUAL,
        case_session_id: int | None = None,
    ) -> RecordingRow:
        reason = reason.strip()
        if not reason:
            raise InvalidRangeError("say why the recording starts (a reason is required)")
        spec = self.cameras.spec(camera_id)
        authorize(actor, Permission.RECORDING_CONTROL, spec.unit_code)
        key = self.signing_key()
        async with self._lock:
            for writer in self.writers.values():
                if writer.hub is self.cameras.hub(camera_id) and writer.running:
                    raise RecordingConflictError(
                        f"camera {camera_id} is already recording ({writer.recording_id}); "
                        "stop that recording first",
                    )
            async with self.db.transaction() as session:
                room_id = await camera_room(session, camera_id)
            now = datetime.now(UTC)
            rid = new_recording_id(now)
            manifest = Manifest(
                recording_id=rid,
                camera_id=str(camera_id),
                unit_code=spec.unit_code,
                room_id=room_id,
                started_at=now,
                started_by=actor.actor,
                reason=reason,
                policy=mode.value,
                key_id=key.key_id,
            )
            directory = recording_dir(self.root, rid)
            files = await asyncio.to_thread(RecordingFiles.create, directory, manifest, key)
            async with self.db.transaction() as session:
                row = await index_manifest(
                    session, manifest, str(directory.relative_to(self.root)), state="recording"
                )
                row.case_session_id = case_session_id
                await record(
                    session,
                    actor,
                    "recording.start",
                    object_type="recording",
                    object_id=rid,
                    unit_code=spec.unit_code,
                    detail={"camera": camera_id, "reason": reason, "mode": mode.value},
                )
            ingest = self.cameras.ingest(camera_id)
            writer = RecordingWriter(
                self.cameras.hub(camera_id),
                files,
                segment_seconds=self.settings.segment_seconds,
                gap_after=self.settings.gap_after,
                state=lambda: ingest.state,
                on_event=self._events.put_nowait,
            )
            await writer.start()
            self.writers[rid] = writer
        return row

    async def stop_recording(
        self, actor: Principal, recording_id: str, reason: str
    ) -> RecordingRow:
        reason = reason.strip() or "stopped"
        async with self.db.transaction() as session:
            row = await self._row(session, recording_id)
            authorize(actor, Permission.RECORDING_CONTROL, row.unit_code)
        writer = self._retire(recording_id)
        if writer is None:
            raise RecordingConflictError(f"recording {recording_id} is not running")
        try:
            manifest = await writer.stop(reason)
        finally:
            self._settle(recording_id)
        await self._drain()
        async with self.db.transaction() as session:
            row = await index_manifest(
                session, manifest, (await self._row(session, recording_id)).path
            )
            await record(
                session,
                actor,
                "recording.stop",
                object_type="recording",
                object_id=recording_id,
                unit_code=row.unit_code,
                detail={"reason": reason, "segments": row.segment_count, "bytes": row.bytes},
            )
        return row

    def _retire(self, recording_id: str) -> RecordingWriter | None:
        """Take a writer out of the running set; it counts in ``stopping`` until settled."""
        writer = self.writers.pop(recording_id, None)
        if writer is not None:
            self.stopping[recording_id] = writer
        return writer

    def _settle(self, recording_id: str) -> None:
        """A retired writer has finished: its final counters go into the camera's total."""
        writer = self.stopping.pop(recording_id, None)
        if writer is not None:
            camera = writer.manifest.camera_id
            fold(self.finished_stats.setdefault(camera, WriterStats()), writer.stats)

    def recording_camera(self, camera_id: int) -> str | None:
        """The id of the recording running on the camera, if any."""
        hub = self.cameras.hub(camera_id)
        return next((rid for rid, w in self.writers.items() if w.hub is hub and w.running), None)

    def set_talker(self, camera_id: int, talker: str | None) -> None:
        """Sessions call this when the talk floor changes: the talker goes in the manifest."""
        hub = self.cameras.hub(camera_id)
        for writer in self.writers.values():
            if writer.hub is hub:
                writer.set_talker(talker)

    def recording_cameras(self) -> set[int]:
        """Ids of the running cameras with a running recording (the live wall's badge)."""
        running = {id(w.hub) for w in self.writers.values() if w.running}
        return {c for c in self.cameras.camera_ids if id(self.cameras.hub(c)) in running}

    # ------------------------------------------------------ mediation sessions

    async def start_for_session(self, *, room_id: int, case_number: str, session_id: int) -> str:
        """Record the room's camera for a mediation session (the case module's recorder)."""
        async with self.db.transaction() as session:
            cameras = [c for c in await room_cameras(session, room_id) if c in self.cameras]
        if not cameras:
            raise RecordingError(
                f"room {room_id} has no running camera; register one to record its sessions",
                code="no_camera",
            )
        row = await self.start_recording(
            SYSTEM,
            cameras[0],
            f"mediation session {session_id} of case {case_number}",
            mode=RecordingMode.SESSION,
            case_session_id=session_id,
        )
        # Linked from the first second: the open case holds it while it is still recording.
        async with self.db.transaction() as session:
            case_id = await case_id_by_number(session, case_number)
            if case_id is not None:
                await self._link(
                    session, row, case_id, case_number, SYSTEM, f"mediation session {session_id}"
                )
                await record(
                    session,
                    SYSTEM,
                    "recording.attach",
                    object_type="recording",
                    object_id=row.id,
                    unit_code=row.unit_code,
                    detail={"case": case_id, "session": session_id},
                )
        return row.id

    async def stop_for_session(self, recording_id: str) -> RecordingRow:
        return await self.stop_recording(SYSTEM, recording_id, "mediation session finished")

    # --------------------------------------------------------------- indexer

    async def _index_events(self) -> None:
        while (event := await self._events.get()) is not None:
            try:
                await self._index_event(event)
            except Exception:
                log.exception("could not index recording event", extra={"event": event.kind})
            finally:
                self._events.task_done()
            if self._on_event is not None:
                self._on_event(event)

    async def _drain(self) -> None:
        if self._indexer is not None:
            await self._events.join()

    async def _index_event(self, event: WriterEvent) -> None:
        async with self.db.transaction() as session:
            row = await session.get(RecordingRow, event.recording_id)
            if row is None:
                return
            if event.segment is not None:
                s = event.segment
                session.add(segment_row(row.id, s))
                row.bytes += s.bytes
                row.segment_count += 1
                row.media_start = row.media_start or s.start
                row.media_end = s.end
            elif event.gap is not None:
                session.add(gap_row(row.id, event.gap))
            elif event.kind == "stopped" and event.recording_id in self.writers:
                # Ended by itself (camera removed, disk error): nobody called stop, so the
                # index takes the final manifest here.
                writer = self._retire(event.recording_id)
                self._settle(event.recording_id)
                assert writer is not None
                await index_manifest(session, writer.manifest, row.path)
                await record(
                    session,
                    SYSTEM,
                    "recording.stop",
                    object_type="recording",
                    object_id=row.id,
                    unit_code=row.unit_code,
                    detail={"reason": event.detail},
                )
            elif event.kind in ("backpressure", "error"):
                await record(
                    session,
                    SYSTEM,
                    f"recording.{event.kind}",
                    object_type="recording",
                    object_id=row.id,
                    unit_code=row.unit_code,
                    detail={"detail": event.detail},
                )

    # --------------------------------------------------------------- queries

    async def _row(self, session: AsyncSession, recording_id: str) -> RecordingRow:
        row = await session.get(RecordingRow, recording_id)
        if row is None or row.state == "deleted":
            raise RecordingNotFoundError(f"there is no recording {recording_id}")
        return row

    async def get_row(self, recording_id: str) -> RecordingRow:
        """The index row, unchecked (for the process itself, not for callers' requests)."""
        async with self.db.transaction() as session:
            return await self._row(session, recording_id)

    async def get(self, actor: Principal, recording_id: str) -> dict[str, Any]:
        async with self.db.transaction() as session:
            row = await self._row(session, recording_id)
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

    # ---------------------------------------------------------------- cases

    async def attach(
        self,
        actor: Principal,
        case_id: int,
        recording_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        note: str = "",
    ) -> int:
        if (start is None) != (end is None) or (start and end and end <= start):
            raise InvalidRangeError("give both range start and end, with end after start")
        async with self.db.transaction() as session:
            row = await self._row(session, recording_id)
            authorize(actor, Permission.RECORDING_CONTROL, row.unit_code)
            unit = await case_unit(session, case_id)
            facts = await case_row(session, case_id)
            if unit is None or facts is None:
                raise RecordingNotFoundError(f"there is no case {case_id}", code="case_not_found")
            authorize(actor, Permission.CASE_WRITE, unit)
            link = await self._link(
                session, row, case_id, facts.number, actor, note.strip(), start, end
            )
            await record(
                session,
                actor,
                "recording.attach",
                object_type="recording",
                object_id=recording_id,
                unit_code=row.unit_code,
                detail={
                    "case": case_id,
                    "start": start.isoformat() if start else None,
                    "end": end.isoformat() if end else None,
                    "note": note.strip(),
                },
            )
            return link.id

    async def detach(self, actor: Principal, case_id: int, link_id: int, note: str = "") -> None:
        async with self.db.transaction() as session:
            link = await session.get(RecordingCaseRow, link_id)
            if link is None or link.case_id != case_id:
                raise RecordingNotFoundError(f"case {case_id} has no recording link {link_id}")
            row = await self._row(session, link.recording_id)
            authorize(actor, Permission.RECORDING_CONTROL, row.unit_code)
            unit = await case_unit(session, case_id)
            authorize(actor, Permission.CASE_WRITE, unit or row.unit_code)
            facts = await case_row(session, case_id)
            await self.journal.write(
                self.directory(row),
                self.signing_key(),
                "detach",
                journal_link(link, facts.number if facts else ""),
                by=actor.actor,
                at=datetime.now(UTC),
                note=note.strip(),
            )
            await session.delete(link)
            await record(
                session,
                actor,
                "recording.detach",
                object_type="recording",
                object_id=row.id,
                unit_code=row.unit_code,
                detail={"case": case_id, "note": note.strip()},
            )

    async def _link(
        self,
        session: AsyncSession,
        row: RecordingRow,
        case_id: int,
        case_number: str,
        actor: Principal,
        note: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> RecordingCaseRow:
        """Add a case link, journalled in the recording's directory before it commits."""
        link = RecordingCaseRow(
            recording_id=row.id,
            case_id=case_id,
            range_start=start,
            range_end=end,
            note=note,
            attached_by=actor.actor,
            attached_at=datetime.now(UTC),
        )
        session.add(link)
        await session.flush()
        await self.journal.write(
            self.directory(row),
            self.signing_key(),
            "attach",
            journal_link(link, case_number),
            by=actor.actor,
            at=link.attached_at,
        )
        return link

    async def case_number(self, case_id: int) -> str | None:
        async with self.db.transaction() as session:
            facts = await case_row(session, case_id)
        return facts.number if facts else None

    # -------------------------------------------------------------- playback

    async def segment_file(
        self, actor: Principal, recording_id: str, index: int, *, audit: bool
    ) -> Path:
        """The segment's file for playback; audits the playback when ``audit``."""
        async with self.db.transaction() as session:
            row = await self._row(session, recording_id)
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
            return self.root / row.path / segment.name

    async def verify(self, actor: Principal, recording_id: str) -> VerifyReport:
        """Re-hash the recording's files and check chain and signature (in a thread)."""
        async with self.db.transaction() as session:
            row = await self._row(session, recording_id)
            authorize(actor, Permission.RECORDING_VIEW, row.unit_code)
        public = self.signing_key().public
        return await asyncio.to_thread(verify_recording, self.directory(row), public)

    def directory(self, row: RecordingRow) -> Path:
        return self.root / row.path
