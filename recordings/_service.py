"""RecordingService: the one object the process wires and the web layer calls.

A thin facade over the package's parts, so callers need not know how it is cut:

* :class:`Recorder` — the running writers, start/stop, and the indexer task;
* :class:`RecordingCatalog` — reading the index for a caller (detail, search, playback);
* :class:`CaseLinks` — attaching recordings to cases, in the signed journal too;
* :class:`RecordingArchive` — the directory and the signing key all of them share;
* :func:`set_room_policy` — checking and storing how a room records.

The housekeeper and the exporter are handed the parts they need (the archive and the
recorder), not this facade.  ``start()``/``close()`` are idempotent and leave no task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from camera_registry import CameraManager, StreamHub
from core import SYSTEM, Database, Principal

from ._archive import RecordingArchive
from ._case_links import CaseLinks
from ._catalog import MAX_PAGE, RecordingCatalog
from ._errors import RecordingError
from ._foreign_tables import room_cameras
from ._integrity import VerifyReport
from ._models import RecordingRow
from ._policy import RecordingMode, RoomPolicy
from ._recorder import Recorder, ServiceSettings
from ._recovery import reindex
from ._room_policies import set_room_policy
from ._signing import SigningKey
from ._views import RecordingPage, TimelineSpan
from ._writer import WriterEvent

__all__ = ["RecordingService"]

log = logging.getLogger("gateway.recordings")


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
        self._db = db
        self.archive = RecordingArchive(data_dir)
        self.recorder = Recorder(db, self.archive, cameras, settings, on_event=on_event)
        self.catalog = RecordingCatalog(db, self.archive)
        self.links = CaseLinks(db, self.archive)
        self._started = False

    # ------------------------------------------------------------ lifecycle

    async def start(self, *, node_id: str = "", live_nodes: Collection[str] = ()) -> None:
        """Load (or create) the signing key, salvage crashed recordings, start the indexer.

        ``node_id`` names this gateway process in the recordings it writes; recordings
        that another live process (``live_nodes``) is writing are left alone.
        """
        if self._started:
            return
        self.recorder.node_id = node_id
        key = await self.archive.open()
        spare = await self.catalog.written_by(set(live_nodes) - {node_id})
        report = await reindex(self._db, self.archive.root, key, spare=spare)
        for rid, count in report.salvaged.items():
            log.warning("salvaged a crashed recording", extra={"recording": rid, "segments": count})
        await self.recorder.start()
        self._started = True

    async def close(self) -> None:
        await self.recorder.close()
        self._started = False

    def signing_key(self) -> SigningKey:
        return self.archive.signing_key()

    # ------------------------------------------------------------ recording

    async def start_recording(
        self,
        actor: Principal,
        camera_id: int,
        reason: str,
        *,
        mode: RecordingMode = RecordingMode.MANUAL,
    ) -> RecordingRow:
        return await self.recorder.start_recording(actor, camera_id, reason, mode=mode)

    async def stop_recording(
        self, actor: Principal, recording_id: str, reason: str
    ) -> RecordingRow:
        return await self.recorder.stop_recording(actor, recording_id, reason)

    async def start_stream(
        self,
        actor: Principal,
        hub: StreamHub,
        *,
        source: str,
        unit_code: str,
        reason: str,
    ) -> RecordingRow:
        """Record a stream that is not a camera's (a meeting): see :meth:`Recorder.start_stream`."""
        return await self.recorder.start_stream(
            actor, hub, source=source, unit_code=unit_code, reason=reason
        )

    async def take_over(self, camera_id: int, previous: str, reason: str) -> None:
        """The camera was run by another gateway process: see :meth:`Recorder.take_over`."""
        await self.recorder.take_over(camera_id, previous, reason)

    def recording_camera(self, camera_id: int) -> str | None:
        """The id of the recording running on the camera, if any."""
        return self.recorder.recording_camera(camera_id)

    def recording_cameras(self) -> set[int]:
        """Ids of the running cameras with a running recording (the live wall's badge)."""
        return self.recorder.recording_cameras()

    def set_talker(self, camera_id: int, talker: str | None) -> None:
        """Sessions call this when the talk floor changes: the talker goes in the manifest."""
        self.recorder.set_talker(camera_id, talker)

    async def start_for_session(self, *, room_id: int, case_number: str, session_id: int) -> str:
        """Record the room's camera for a mediation session (the case module's recorder)."""
        async with self._db.transaction() as session:
            cameras = [
                c for c in await room_cameras(session, room_id) if self.recorder.has_camera(c)
            ]
        if not cameras:
            raise RecordingError(
                f"room {room_id} has no running camera; register one to record its sessions",
                code="no_camera",
            )
        row = await self.recorder.start_recording(
            SYSTEM,
            cameras[0],
            f"mediation session {session_id} of case {case_number}",
            mode=RecordingMode.SESSION,
            case_session_id=session_id,
        )
        # Linked from the first second: the open case holds it while it is still recording.
        await self.links.attach_session(SYSTEM, row, case_number, session_id)
        return row.id

    async def stop_for_session(self, recording_id: str) -> RecordingRow:
        return await self.recorder.stop_recording(
            SYSTEM, recording_id, "mediation session finished"
        )

    # ------------------------------------------------------------ reading

    async def get_row(self, recording_id: str) -> RecordingRow:
        """The index row, unchecked (for the process itself, not for callers' requests)."""
        return await self.catalog.get_row(recording_id)

    async def get(self, actor: Principal, recording_id: str) -> dict[str, Any]:
        return await self.catalog.get(actor, recording_id)

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
        """A page of the recordings in the caller's scope, newest first (no segments)."""
        return await self.catalog.search(
            actor,
            camera_id=camera_id,
            case_id=case_id,
            room_id=room_id,
            start=start,
            end=end,
            limit=limit,
            offset=offset,
        )

    async def timeline(
        self, actor: Principal, *, start: datetime, end: datetime, camera_id: int | None = None
    ) -> list[TimelineSpan]:
        """Segments and gaps between ``start`` and ``end`` of the recordings in scope."""
        return await self.catalog.timeline(actor, start=start, end=end, camera_id=camera_id)

    async def segment_file(
        self, actor: Principal, recording_id: str, index: int, *, audit: bool
    ) -> Path:
        """The segment's file for playback; audits the playback when ``audit``."""
        return await self.catalog.segment_file(actor, recording_id, index, audit=audit)

    async def thumbnail(self, actor: Principal, recording_id: str, index: int) -> bytes:
        """A segment's first picture as JPEG (cached)."""
        return await self.catalog.thumbnail(actor, recording_id, index)

    async def verify(self, actor: Principal, recording_id: str) -> VerifyReport:
        """Re-hash the recording's files and check chain and signature."""
        return await self.catalog.verify(actor, recording_id)

    # ------------------------------------------------------------ case links

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
        return await self.links.attach(
            actor, case_id, recording_id, start=start, end=end, note=note
        )

    async def detach(self, actor: Principal, case_id: int, link_id: int, note: str = "") -> None:
        await self.links.detach(actor, case_id, link_id, note)

    # ------------------------------------------------------------ rooms

    async def set_room_policy(
        self,
        actor: Principal,
        room_id: int,
        mode: str,
        windows: Iterable[tuple[Iterable[int], str, str]] = (),
    ) -> RoomPolicy:
        """Check and store how a room records: ``mode`` off, continuous, schedule or session,
        with ``(weekdays, "HH:MM", "HH:MM")`` windows for a schedule (0 = Monday).

        Raises :class:`InvalidPolicyError` with the reason; the housekeeper applies it.
        """
        return await set_room_policy(self._db, actor, room_id, mode, windows)
