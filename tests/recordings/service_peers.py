"""The gateway app with a registered simulated camera; recordings cut every 2 s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from camera_registry import CameraManager, CameraRegistration
from core import SYSTEM, Database, Room, Settings
from recordings import EvidenceExporter, Housekeeper, RecordingService, ServiceSettings
from simulator import SimulatedCamera
from web import CAMERA_REGISTRY, CAMERAS, DB, EXPORTS, HOUSEKEEPER, RECORDINGS

VILLAGE = "431226203201"  # 和平溪村


@dataclass
class Rig:
    client: TestClient
    service: RecordingService
    exporter: EvidenceExporter
    housekeeper: Housekeeper
    manager: CameraManager
    db: Database
    camera_id: int
    room_id: int


async def rig(
    aiohttp_client,  # type: ignore[no-untyped-def]
    settings: Settings,
    camera: SimulatedCamera,
) -> AsyncIterator[Rig]:
    from gateway import create_app

    app = create_app(settings)
    service = app[RECORDINGS]
    service.recorder.settings = ServiceSettings(segment_seconds=2.0, gap_after=1.0)
    client = await aiohttp_client(app)
    async with app[DB].transaction() as session:
        room_id = await session.scalar(
            select(Room.id).where(Room.unit_code == VILLAGE, Room.kind == "mediation")
        )
    assert room_id is not None
    view = await app[CAMERA_REGISTRY].register(
        SYSTEM,
        CameraRegistration(
            room_id,
            name="和平溪村调解室",
            rtsp_url=camera.rtsp_url("sub"),
            username=camera.config.username,
            password=camera.config.password,
        ),
    )
    try:
        yield Rig(
            client,
            service,
            app[EXPORTS],
            app[HOUSEKEEPER],
            app[CAMERAS],
            app[DB],
            view.camera.id,
            int(room_id),
        )
    finally:
        await client.close()
