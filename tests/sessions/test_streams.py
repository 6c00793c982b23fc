"""Main or sub stream per viewer: grid tiles watch the sub stream, the large view main."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from camera_registry import CameraManager, CameraSpec
from core import Database
from sessions import CameraRef, InvalidOfferError, LiveSessions, LiveSettings
from simulator import ClipLibrary, SimulatedCamera, default_camera_config
from tests.sessions.fixtures import VILLAGE, WATCH
from tests.sessions.peers import ViewerPeer, wait_for

pytestmark = pytest.mark.slow

LINGER = 0.5


@pytest.fixture
async def full_camera(clip_cache: Path) -> AsyncIterator[SimulatedCamera]:
    """The simulator's default profiles: 1920x1080 main, 640x360 sub."""
    cam = SimulatedCamera(
        default_camera_config(7, session_timeout=10), clips=ClipLibrary(clip_cache)
    )
    await cam.start()
    yield cam
    await cam.close()


@pytest.fixture
async def streams(
    full_camera: SimulatedCamera, db: Database
) -> AsyncIterator[tuple[CameraManager, LiveSessions]]:
    manager = CameraManager(health_interval=None, backoff=(0.2, 0.5, 1.0), sub_linger=LINGER)
    await manager.add(
        CameraSpec(
            camera_id=1,
            name=full_camera.config.name,
            unit_code=VILLAGE,
            rtsp_url=full_camera.rtsp_url("main"),
            username=full_camera.config.username,
            password=full_camera.config.password,
            sub_rtsp_url=full_camera.rtsp_url("sub"),
        )
    )
    await wait_for(lambda: manager.state(1).online, 10, "camera online")
    service = LiveSessions(manager, db, LiveSettings(connect_timeout=10))
    yield manager, service
    await service.close()
    await manager.close()


async def test_sub_viewer_decodes_the_small_picture_and_main_the_full_one(
    streams: tuple[CameraManager, LiveSessions], full_camera: SimulatedCamera
) -> None:
    manager, service = streams
    camera = CameraRef(1, VILLAGE, full_camera.config.name)
    sub_stream = manager.sub_stream(1)
    assert sub_stream is not None and sub_stream.ingest is None
    tile, large = ViewerPeer(audio=False), ViewerPeer(audio=False)
    try:
        tile_answer = await tile.connect(
            lambda sdp: service.open_view(WATCH, camera, sdp, stream="sub")
        )
        large_answer = await large.connect(lambda sdp: service.open_view(WATCH, camera, sdp))
        assert (tile_answer.stream, large_answer.stream) == ("sub", "main")
        await tile.wait_frames(5)
        await large.wait_frames(2, within=20)
        assert {(f.width, f.height) for f in tile.frames} == {(640, 360)}
        assert (large.frames[0].width, large.frames[0].height) == (1920, 1080)
        assert sub_stream.ingest is not None and sub_stream.users == 1

        # Hanging up gives the lease back; the sub session stops after the linger, while
        # the main viewer watches on.
        await service.hang_up(WATCH, tile_answer.session_id, kind="view")
        assert sub_stream.users == 0
        await wait_for(lambda: sub_stream.ingest is None, LINGER + 5, "the sub stream stopped")
        count = len(large.frames)
        await large.wait_frames(count + 2, within=20)
    finally:
        await tile.close()
        await large.close()
    # A viewer that just disconnects gives its lease back too.
    await wait_for(lambda: service.viewers(1) == 0, 15, "the main viewer's session ended")


async def test_a_failed_offer_gives_the_lease_back(
    streams: tuple[CameraManager, LiveSessions], full_camera: SimulatedCamera
) -> None:
    manager, service = streams
    camera = CameraRef(1, VILLAGE, full_camera.config.name)
    viewer = ViewerPeer(audio=False)
    try:
        offer = await viewer.pc.createOffer()
        # Valid enough for the gateway's own checks; aiortc refuses it without ICE credentials.
        broken = re.sub(r"a=ice-(ufrag|pwd):.*\r\n", "", offer.sdp)
        with pytest.raises(InvalidOfferError, match="cannot be answered"):
            await service.open_view(WATCH, camera, broken, stream="sub")
    finally:
        await viewer.close()
    sub_stream = manager.sub_stream(1)
    assert sub_stream is not None and sub_stream.users == 0
    assert sub_stream.ingest is not None  # it was leased, and lingers after the release
    await wait_for(lambda: sub_stream.ingest is None, LINGER + 5, "the sub stream stopped")
