"""Shared fixtures for live view and talk-back: a simulated camera run by the real
CameraManager, and the session service over it (also imported by tests/web/test_live*.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from camera_registry import CameraManager, CameraSpec
from core import Database, Principal, Role
from sessions import CameraRef, LiveSessions, LiveSettings
from simulator import ClipLibrary, SimulatedCamera, StreamProfile, default_camera_config
from tests.sessions.peers import wait_for

VILLAGE = "431226203201"  # 和平溪村, under 和平溪乡 (431226203000)
SMALL_MAIN = StreamProfile("main", 640, 360, 25, 800_000, 25)


def principal(name: str, unit: str, role: Role, user_id: int = 1) -> Principal:
    return Principal("user", user_id, name, unit, role)


WATCH = principal("hpx.watch", "431226203000", Role.OPERATOR, 7)
MEDIATOR = principal("hpx.mediator", "431226203000", Role.MEDIATOR, 6)
CHAIR = principal("hpx.chair", "431226203000", Role.CHAIR, 5)
OTHER_VILLAGE = principal("nmq.watch", "431226203202", Role.OPERATOR, 9)


@pytest.fixture
async def camera(clip_cache: Path) -> AsyncIterator[SimulatedCamera]:
    cam = SimulatedCamera(
        default_camera_config(6, main=SMALL_MAIN, session_timeout=10),
        clips=ClipLibrary(clip_cache),
    )
    await cam.start()
    yield cam
    await cam.close()


@pytest.fixture
async def manager(camera: SimulatedCamera) -> AsyncIterator[CameraManager]:
    cameras = CameraManager(health_interval=None, backoff=(0.2, 0.5, 1.0))
    await cameras.add(
        CameraSpec(
            camera_id=1,
            name=camera.config.name,
            unit_code=VILLAGE,
            rtsp_url=camera.rtsp_url("main"),
            username=camera.config.username,
            password=camera.config.password,
        )
    )
    await wait_for(lambda: cameras.state(1).online, 10, "camera online")
    yield cameras
    await cameras.close()


@pytest.fixture
def camera_ref(camera: SimulatedCamera) -> CameraRef:
    return CameraRef(1, VILLAGE, camera.config.name)


@pytest.fixture
async def service(manager: CameraManager, db: Database) -> AsyncIterator[LiveSessions]:
    sessions = LiveSessions(manager, db, LiveSettings(connect_timeout=10))
    yield sessions
    await sessions.close()
