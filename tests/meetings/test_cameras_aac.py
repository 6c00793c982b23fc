"""A room camera whose microphone sends AAC (the simulator's RFC 3640 AAC-hbr microphone,
over RTSP like a real camera) is heard by the meeting's sites: its 250 Hz hum in what a
participant receives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from simulator import ClipLibrary, PictureMode, SimulatedCamera, default_camera_config
from tests.meetings.peers import MeetingPeer, tone_strength
from tests.meetings.test_cameras import camera_client
from tests.meetings.test_room import running_meeting, wait_for
from tests.sessions.fixtures import SMALL_MAIN

__all__ = ["camera_client"]

pytestmark = pytest.mark.slow

HUM_HZ = 250.0  # the simulator's AAC microphone program


@pytest.fixture
async def camera(clip_cache: Path) -> AsyncIterator[SimulatedCamera]:
    cam = SimulatedCamera(
        default_camera_config(
            7, main=SMALL_MAIN, mode=PictureMode.LIVE, session_timeout=10, microphone_codec="AAC"
        ),
        clips=ClipLibrary(clip_cache),
    )
    await cam.start()
    yield cam
    await cam.close()


async def test_an_aac_room_camera_is_heard_by_the_sites(camera_client: TestClient) -> None:
    occurrence, chair, headers = await running_meeting(camera_client)
    base = f"/api/meetings/occurrences/{occurrence}"
    peer = MeetingPeer(colour=(0, 0, 220), tone=700.0)
    try:
        assert (await peer.join(chair, headers, occurrence, "和平溪乡")).status == 201
        async with chair.post(f"{base}/cameras", json={"camera_id": 1}, headers=headers) as r:
            assert r.status == 201, await r.text()

        async def hum_heard() -> bool:
            return tone_strength(peer.samples(1.5), HUM_HZ) > 0.5

        await wait_for(hum_heard, 20, "the AAC camera's hum at the site")
        await asyncio.sleep(1.0)
        assert tone_strength(peer.samples(2.0), HUM_HZ) > 0.5
        assert tone_strength(peer.samples(2.0), 200.0) < 0.2  # not the G.711 program's hum
    finally:
        await peer.close()
        await chair.close()
