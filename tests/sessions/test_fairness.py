"""Fair live sessions: one caller cannot fill the gateway — a cap per caller and per
camera, the last places kept for the county — and sessions whose peer never connects
are reaped within seconds, freeing their places."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from camera_registry import CameraManager
from core import Database, Level, Role
from sessions import LiveSessions
from sessions._errors import LiveLimitError
from sessions._session import CameraRef
from sessions._settings import LiveSettings
from tests.sessions.fixtures import VILLAGE, principal
from tests.sessions.peers import wait_for

pytestmark = pytest.mark.slow

VILLAGER = principal("hpxc.mediator", VILLAGE, Role.MEDIATOR, 11)
NEIGHBOUR = principal("hpxc.watch", VILLAGE, Role.OPERATOR, 12)
COUNTY = principal("county.watch", "431226000000", Role.OPERATOR, 2)


async def _offer() -> tuple[RTCPeerConnection, str]:
    """A real WHEP offer from a peer that will never answer ICE (an abandoned tab)."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


@pytest.fixture
async def fair(manager: CameraManager, db: Database) -> AsyncIterator[LiveSessions]:
    settings = LiveSettings(
        max_sessions=12, max_per_caller=8, max_per_camera=11, county_reserve=2, connect_timeout=3
    )
    sessions = LiveSessions(manager, db, settings)
    yield sessions
    await sessions.close()


async def test_a_flooding_village_user_leaves_the_county_its_view(
    fair: LiveSessions, camera_ref: CameraRef
) -> None:
    peers = []
    try:
        for _ in range(8):
            pc, sdp = await _offer()
            peers.append(pc)
            await fair.open_view(VILLAGER, camera_ref, sdp)
        pc, sdp = await _offer()
        peers.append(pc)
        with pytest.raises(LiveLimitError, match="the most one caller may"):
            await fair.open_view(VILLAGER, camera_ref, sdp)
        # another villager takes what is left below the county's reserve ...
        for _ in range(2):
            pc, sdp = await _offer()
            peers.append(pc)
            await fair.open_view(NEIGHBOUR, camera_ref, sdp)
        pc, sdp = await _offer()
        peers.append(pc)
        with pytest.raises(LiveLimitError, match="kept for the county"):
            await fair.open_view(NEIGHBOUR, camera_ref, sdp)
        # ... and the county still gets its view
        pc, sdp = await _offer()
        peers.append(pc)
        answer = await fair.open_view(COUNTY, camera_ref, sdp)
        assert answer.sdp.startswith("v=0")
        # the camera's own cap: 11 sessions on it now
        pc, sdp = await _offer()
        peers.append(pc)
        with pytest.raises(LiveLimitError, match="this camera already has 11"):
            await fair.open_view(COUNTY, camera_ref, sdp)
        assert len(fair.sessions()) == 11
        # none of these peers ever connects: their sessions end within seconds
        began = time.monotonic()
        await wait_for(lambda: not fair.sessions(), 15, "abandoned sessions reaped")
        assert time.monotonic() - began < 10
        pc, sdp = await _offer()
        peers.append(pc)
        await fair.open_view(VILLAGER, camera_ref, sdp)  # the places are free again
    finally:
        for pc in peers:
            await pc.close()


async def test_a_county_wall_of_16_fits_while_a_village_keeps_its_small_share(
    manager: CameraManager, db: Database, camera_ref: CameraRef
) -> None:
    """The share follows the level: the county's 4 × 4 wall opens whole (the benchmark's
    16 viewers found a flat cap of 8 refusing tiles 9 to 16), a village stays at 8."""
    settings = LiveSettings(max_sessions=64, max_per_camera=64, connect_timeout=3)
    assert settings.per_caller(Level.COUNTY) >= 16
    assert settings.per_caller(Level.TOWNSHIP) >= 16
    sessions = LiveSessions(manager, db, settings)
    peers = []
    try:
        for _ in range(16):
            pc, sdp = await _offer()
            peers.append(pc)
            await sessions.open_view(COUNTY, camera_ref, sdp)
        for _ in range(settings.max_per_caller):
            pc, sdp = await _offer()
            peers.append(pc)
            await sessions.open_view(VILLAGER, camera_ref, sdp)
        pc, sdp = await _offer()
        peers.append(pc)
        with pytest.raises(LiveLimitError, match="the most one caller may"):
            await sessions.open_view(VILLAGER, camera_ref, sdp)
        assert len(sessions.sessions()) == 16 + settings.max_per_caller
    finally:
        await sessions.close()
        for pc in peers:
            await pc.close()
