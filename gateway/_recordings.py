"""Wiring of the recordings module into the process and into the case module."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from cases import RecordingRef, SessionRecorder
from core import Settings
from recordings import (
    EvidenceExporter,
    Housekeeper,
    HousekeepingSettings,
    RecordingCollector,
    RecordingService,
)
from web import CAMERA_LEASES, CAMERAS, DB, EXPORTS, HOUSEKEEPER, METRICS, RECORDINGS

__all__ = ["CaseRecorder", "recordings_ctx", "setup_recordings"]


class CaseRecorder:
    """The case module's :class:`SessionRecorder`, backed by the recording service."""

    def __init__(self, service: RecordingService) -> None:
        self.service = service

    async def start(self, *, room_id: int, case_number: str, session_id: int) -> RecordingRef:
        rid = await self.service.start_for_session(
            room_id=room_id, case_number=case_number, session_id=session_id
        )
        return RecordingRef(rid, "recording")

    async def stop(self, recording_id: str) -> RecordingRef:
        row = await self.service.stop_for_session(recording_id)
        return RecordingRef(
            row.id, f"recorded {row.segment_count} segment(s), {row.bytes // (1 << 20)} MiB"
        )


def setup_recordings(app: web.Application, settings: Settings) -> SessionRecorder:
    """Create the recording services on the running cameras; returns the recorder for cases."""
    service = RecordingService(app[DB], settings.storage.data_dir, app[CAMERAS])
    app[RECORDINGS] = service
    # The exporter and the housekeeper get the parts they use, not the whole service.
    app[EXPORTS] = EvidenceExporter(app[DB], service.archive, settings.zone)
    app[HOUSEKEEPER] = housekeeper = Housekeeper(
        app[DB],
        service.archive,
        service.recorder,
        HousekeepingSettings(timezone=settings.app.timezone),
    )
    app[METRICS].registry.register(RecordingCollector(service.recorder, housekeeper))
    return CaseRecorder(service)


async def recordings_ctx(app: web.Application) -> AsyncIterator[None]:
    """Register after the database check (start-up salvages and reindexes into it)."""
    leases = app[CAMERA_LEASES]
    await app[RECORDINGS].start(node_id=leases.node_id, live_nodes=leases.live_nodes)
    await app[HOUSEKEEPER].start()
    yield
    await app[HOUSEKEEPER].close()
    await app[EXPORTS].close()
    await app[RECORDINGS].close()
