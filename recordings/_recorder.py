"""The running recordings: one writer per recording, started and stopped with a reason.

Owns one :class:`RecordingWriter` per running recording and one indexer task that turns
writer events into index rows; ``start()``/``close()`` are idempotent and leave no task.
Every start and stop is audited in the transaction that records it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from camera_registry import CameraManager, StreamHub
from core import SYSTEM, Database, Permission, Principal, authorize, record, utcnow

from ._access import existing_row, visible_row
from ._archive import RecordingArchive
from ._errors import InvalidRangeError, RecordingConflictError, RecordingError
from ._foreign_tables import camera_room
from ._index import gap_row, index_manifest, segment_row
from ._manifest import Gap, Manifest
from ._metrics import CameraStats, fold
from ._models import RecordingRow
from ._naming import new_recording_id, recording_dir
from ._policy import RecordingMode
from ._recovery import salvage_directory
from ._store import RecordingFiles
from ._writer import RecordingWriter, WriterEvent, WriterStats

__all__ = ["Recorder", "RunningRecording", "ServiceSettings"]

log = logging.getLogger("gateway.recordings")


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    segment_seconds: float = 60.0
    gap_after: float = 3.0


@dataclass(frozen=True, slots=True)
class RunningRecording:
    """A recording with a writer, as the room-policy loop needs to see it."""

    recording_id: str
    camera_id: str  # as the manifest names it
    policy: str  # the RecordingMode value it was started under


class Recorder:
    def __init__(
        self,
        db: Database,
        archive: RecordingArchive,
        cameras: CameraManager,
        settings: ServiceSettings | None = None,
        *,
        on_event: Callable[[WriterEvent], None] | None = None,
    ) -> None:
        self.db = db
        self.archive = archive
        self.cameras = cameras
        self.settings = settings or ServiceSettings()
        self._on_event = on_event
        self.writers: dict[str, RecordingWriter] = {}
        #: Counters of finished recordings by camera id, for monotonic metrics.
        self.finished_stats: dict[str, WriterStats] = {}
        self.stopping: dict[str, RecordingWriter] = {}
        self._events: asyncio.Queue[WriterEvent | None] = asyncio.Queue()
        self._indexer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        #: this gateway process (recordings name their writer; see take_over)
        self.node_id = ""
        #: camera id → the gap its next recording opens with (taken over from a process)
        self._resume_gaps: dict[int, Gap] = {}

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the indexer (the archive is open and crashed recordings salvaged by now)."""
        if self._indexer is None:
            self._indexer = asyncio.create_task(self._index_events(), name="recordings indexer")

    async def close(self) -> None:
        for rid in list(self.writers):
            with contextlib.suppress(RecordingError):
                await self.stop_recording(SYSTEM, rid, "gateway shutting down")
        task, self._indexer = self._indexer, None
        if task is not None:
            self._events.put_nowait(None)
            await task

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
        async with self._lock:
            for writer in self.writers.values():
                if writer.hub is self.cameras.hub(camera_id) and writer.running:
                    raise RecordingConflictError(
                        f"camera {camera_id} is already recording ({writer.recording_id}); "
                        "stop that recording first",
                    )
            async with self.db.read() as session:
                room_id = await camera_room(session, camera_id)
            row, files = await self._open(
                actor,
                source=str(camera_id),
                unit_code=spec.unit_code,
                room_id=room_id,
                reason=reason,
                mode=mode,
                detail={"camera": camera_id},
                case_session_id=case_session_id,
            )
            rid = row.id
            ingest = self.cameras.ingest(camera_id)
            writer = RecordingWriter(
                self.cameras.hub(camera_id),
                files,
                segment_seconds=self.settings.segment_seconds,
                gap_after=self.settings.gap_after,
                state=lambda: ingest.state,
                on_event=self._events.put_nowait,
                opening_gap=self._resume_gaps.pop(camera_id, None),
            )
            await writer.start()
            self.writers[rid] = writer
        return row

    async def start_stream(
        self,
        actor: Principal,
        hub: StreamHub,
        *,
        source: str,
        unit_code: str,
        reason: str,
        mode: RecordingMode = RecordingMode.MANUAL,
    ) -> RecordingRow:
        """Record a stream that is not a camera's — a meeting's composite and mix — with
        the same segments, hashes and signed manifest.  ``source`` names it in the
        manifest (``meeting:3-20261204``); the caller has decided ``actor`` may record it.
        """
        reason = reason.strip()
        if not reason:
            raise InvalidRangeError("say why the recording starts (a reason is required)")
        if source.isdigit():
            raise InvalidRangeError(
                "a stream that is not a camera is named by a non-numeric source"
            )
        async with self._lock:
            for writer in self.writers.values():
                if writer.hub is hub and writer.running:
                    raise RecordingConflictError(
                        f"{source} is already recording ({writer.recording_id})"
                    )
            row, files = await self._open(
                actor,
                source=source,
                unit_code=unit_code,
                room_id=None,
                reason=reason,
                mode=mode,
                detail={"source": source},
            )
            rid = row.id
            writer = RecordingWriter(
                hub,
                files,
                segment_seconds=self.settings.segment_seconds,
                gap_after=self.settings.gap_after,
                on_event=self._events.put_nowait,
            )
            await writer.start()
            self.writers[rid] = writer
        return row

    async def _open(
        self,
        actor: Principal,
        *,
        source: str,
        unit_code: str,
        room_id: int | None,
        reason: str,
        mode: RecordingMode,
        detail: dict[str, object],
        case_session_id: int | None = None,
    ) -> tuple[RecordingRow, RecordingFiles]:
        """A new recording of ``source``: its signed manifest and files on disk, its row
        in the index and its audited start (detail plus the reason and the mode)."""
        key = self.archive.signing_key()
        now = datetime.now(UTC)
        rid = new_recording_id(now)
        manifest = Manifest(
            recording_id=rid,
            camera_id=source,
            unit_code=unit_code,
            room_id=room_id,
            started_at=now,
            started_by=actor.actor,
            reason=reason,
            policy=mode.value,
            key_id=key.key_id,
        )
        root = self.archive.root
        directory = recording_dir(root, rid)
        files = await asyncio.to_thread(RecordingFiles.create, directory, manifest, key)
        async with self.db.transaction() as session:
            row = await index_manifest(
                session, manifest, str(directory.relative_to(root)), state="recording"
            )
            row.case_session_id = case_session_id
            row.node_id = self.node_id or None
            await record(
                session,
                actor,
                "recording.start",
                object_type="recording",
                object_id=rid,
                unit_code=unit_code,
                detail={**detail, "reason": reason, "mode": mode.value},
            )
        return row, files

    async def take_over(self, camera_id: int, previous: str, reason: str) -> None:
        """Another gateway process ran this camera until ``previous`` stopped (its lease
        expired, or it handed the camera over): close what it left open and let the
        camera's next recording here begin with a gap that says so (``reason``)."""
        now = datetime.now(UTC)
        async with self.db.read() as session:
            rows = (
                await session.scalars(
                    select(RecordingRow).where(
                        RecordingRow.camera_id == camera_id,
                        RecordingRow.node_id == previous,
                    )
                )
            ).all()
        since: datetime | None = None
        for row in rows:
            end = (
                await self._close_orphan(row, previous, now)
                if row.state == "recording"
                else row.media_end or row.stopped_at or row.started_at
            )
            since = end if since is None or end > since else since
        self._resume_gaps[camera_id] = Gap(since or now, now, reason)

    async def _close_orphan(self, row: RecordingRow, previous: str, now: datetime) -> datetime:
        """Finish a recording whose writer process died: salvage it when its files are on
        this machine, else mark it interrupted (that machine salvages it when it starts).
        Returns where its media ends."""
        directory = self.archive.directory(row)
        if await asyncio.to_thread(directory.is_dir):
            manifest, _ = await asyncio.to_thread(
                salvage_directory, directory, self.archive.signing_key()
            )
            async with self.db.transaction() as session:
                await index_manifest(session, manifest, row.path)
            return manifest.segments[-1].end if manifest.segments else manifest.started_at
        async with self.db.transaction() as session:
            stored = await session.get(RecordingRow, row.id)
            if stored is not None and stored.state == "recording":
                stored.state = "interrupted"
                stored.stopped_at = stored.media_end or now
                stored.stop_reason = (
                    f"interrupted: gateway process {previous} stopped renewing its lease; "
                    "its files stay on its machine and are salvaged when it starts again"
                )
        return row.media_end or row.started_at

    async def stop_recording(
        self, actor: Principal, recording_id: str, reason: str
    ) -> RecordingRow:
        reason = reason.strip() or "stopped"
        async with self.db.read() as session:
            await visible_row(session, actor, recording_id, Permission.RECORDING_CONTROL)
        writer = self._retire(recording_id)
        if writer is None:
            raise RecordingConflictError(f"recording {recording_id} is not running")
        try:
            manifest = await writer.stop(reason)
        finally:
            self._settle(recording_id)
        await self.drain()
        async with self.db.transaction() as session:
            path = (await existing_row(session, recording_id)).path
            row = await index_manifest(session, manifest, path)
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

    def is_running(self, recording_id: str) -> bool:
        """Whether this process writes the recording now."""
        return recording_id in self.writers

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

    # ------------------------------------------------------------ what runs

    def has_camera(self, camera_id: int) -> bool:
        """Whether the camera runs on this gateway (only those can be recorded here)."""
        return camera_id in self.cameras

    def recording_camera(self, camera_id: int) -> str | None:
        """The id of the recording running on the camera, if any."""
        hub = self.cameras.hub(camera_id)
        return next((rid for rid, w in self.writers.items() if w.hub is hub and w.running), None)

    def running(self) -> list[RunningRecording]:
        """Every recording that has a writer (still running or about to stop by itself)."""
        return [
            RunningRecording(rid, w.manifest.camera_id, w.manifest.policy)
            for rid, w in self.writers.items()
        ]

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

    def camera_stats(self) -> Mapping[str, CameraStats]:
        """Per camera id: counters of finished and running recordings, and whether one runs.

        Writers that are stopping still count until settled, so a stop never looks like a
        counter reset to a scrape.
        """
        totals: dict[str, WriterStats] = {}
        for camera, stats in self.finished_stats.items():
            fold(totals.setdefault(camera, WriterStats()), stats)
        recording: set[str] = set()
        queued: dict[str, tuple[int, int]] = {}
        for writer in [*self.writers.values(), *self.stopping.values()]:
            camera = writer.manifest.camera_id
            fold(totals.setdefault(camera, WriterStats()), writer.stats)
            frames, size = writer.queued()
            before = queued.get(camera, (0, 0))
            queued[camera] = (before[0] + frames, before[1] + size)
            if writer.running:
                recording.add(camera)
        return {
            c: CameraStats(s, c in recording, *queued.get(c, (0, 0))) for c, s in totals.items()
        }

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

    async def drain(self) -> None:
        """Wait until every writer event so far is in the index."""
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
                if writer.manifest.stopped_at is None:
                    # Its final manifest could not be written (a full disk): the index says
                    # how it ended; the synced segments stay on disk and verify, and the
                    # next start-up's salvage completes the files' own record.
                    row = await index_manifest(
                        session, writer.manifest, row.path, state="interrupted"
                    )
                    row.stopped_at = utcnow()
                    row.stop_reason = f"interrupted: {event.detail}"
                else:
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
