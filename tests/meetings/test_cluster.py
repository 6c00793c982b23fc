"""Two gateway processes on one database: a participant that asks the process which does
not host the room is forwarded to the one that does (the occurrence's ``node_id``), and
the media then flows with the host."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestServer

from core import ClusterSettings, Settings
from gateway import create_app
from tests.meetings.conftest import TEST_ROOM, next_friday
from tests.meetings.peers import MeetingPeer
from tests.meetings.test_browser import session_for
from web import CAMERA_LEASES, ROOMS

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def two(app_settings: Settings) -> AsyncIterator[tuple[TestServer, TestServer]]:
    servers = []
    for _ in range(2):
        port = free_port()
        # one data directory: the processes share secret.key, as a deployment does
        settings = replace(
            app_settings,
            cluster=ClusterSettings(url=f"http://127.0.0.1:{port}", lease_renew=0.5),
        )
        app = create_app(settings)
        app[ROOMS].settings = TEST_ROOM
        server = TestServer(app, host="127.0.0.1", port=port)
        await server.start_server()
        servers.append(server)
    a, b = servers
    deadline = time.monotonic() + 20
    while not (
        b.app[CAMERA_LEASES].node_id in a.app[CAMERA_LEASES].live_nodes
        and a.app[CAMERA_LEASES].node_id in b.app[CAMERA_LEASES].live_nodes
    ):
        assert time.monotonic() < deadline, "the two processes never saw each other"
        await asyncio.sleep(0.2)
    yield a, b
    for server in reversed(servers):
        await server.close()


async def test_a_join_at_the_other_process_reaches_the_room_host(
    two: tuple[TestServer, TestServer],
) -> None:
    a, b = two
    chair, chair_h = await session_for(str(a.make_url("")).rstrip("/"), "hpx.chair")
    village, village_h = await session_for(str(b.make_url("")).rstrip("/"), "nmq.watch")
    peer = MeetingPeer(colour=(0, 200, 0), tone=700.0)
    try:
        async with chair.post(
            "/api/meetings",
            json={"unit": "431226203000", "title": "例会", "kind": "township_weekly"},
            headers=chair_h,
        ) as r:
            series = await r.json()
        occurrence = f"{series['id']}-{next_friday():%Y%m%d}"
        async with chair.post(
            f"/api/meetings/occurrences/{occurrence}/start", headers=chair_h
        ) as r:
            started = await r.json()
        assert started["node_id"] == a.app[CAMERA_LEASES].node_id
        # the village asks process B; the room is on A
        response = await peer.join(village, village_h, occurrence, "楠木桥村")
        assert response.status == 201, await response.text()
        assert a.app[ROOMS].room(occurrence) is not None
        assert b.app[ROOMS].room(occurrence) is None  # no second room
        for _ in range(100):
            if peer.pictures > 5:
                break
            await asyncio.sleep(0.2)
        assert peer.pictures > 5  # the composite from A
        async with village.get(f"/api/meetings/occurrences/{occurrence}/room") as r:
            state = await r.json()  # asked of B, answered by A
        assert [p["site"] for p in state["participants"]] == ["楠木桥村"]
        assert peer.location is not None
        async with village.delete(peer.location, headers=village_h) as r:
            assert r.status == 204
        assert not a.app[ROOMS].room(occurrence).participants  # type: ignore[union-attr]
    finally:
        await peer.close()
        await chair.close()
        await village.close()
