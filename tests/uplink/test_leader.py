"""Several gateway processes on one PostgreSQL: only the oldest live one runs the SIP
endpoint and registers; when it stops, another takes over within a lease TTL and
registers again."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient

from core import Settings
from simulator import SimulatedCamera, SimulatedPlatform
from tests.conftest import PG_URL
from tests.helpers import login
from web import CAMERA_LEASES, CAMERAS, DB, UPLINK, UPLINK_RELAYS

from .gateway_helpers import add_platform, live_camera
from .test_live import check_rtp, decode

pytestmark = pytest.mark.skipif(not PG_URL, reason="several processes need PostgreSQL")


async def test_one_process_registers_and_another_takes_over(
    aiohttp_client, app_settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    from gateway import create_app

    settings = replace(
        app_settings, cluster=replace(app_settings.cluster, lease_ttl=4.0, lease_renew=1.0)
    )
    async with SimulatedPlatform(server_id="43122600002000000001", password="Lead-pw-1") as sim:
        first = await aiohttp_client(create_app(settings))
        await asyncio.sleep(1.5)  # the first process is the older one
        second = await aiohttp_client(create_app(settings))
        headers = {"X-CSRF-Token": await login(first, "county.admin")}
        response = await first.post(
            "/api/uplink/platforms",
            json={"name": "平台", "server_id": sim.server_id, "host": "127.0.0.1",
                  "port": sim.port, "password": sim.password},
            headers=headers,
        )  # fmt: skip
        assert response.status == 201, await response.text()
        device = first.app[UPLINK].device_id
        registered = await sim.wait_registered(device, within=20)
        assert first.app[UPLINK].running and not second.app[UPLINK].running
        # the other process shows what the leader published
        await login(second, "county.admin")
        deadline = time.monotonic() + 15
        while True:
            (platform,) = (await (await second.get("/api/uplink")).json())["platforms"]
            if platform["state"] == "registered":
                break
            assert time.monotonic() < deadline, platform
            await asyncio.sleep(0.2)

        await first.close()  # the leader stops (unregisters); the other takes over
        deadline = time.monotonic() + 20
        while not (second.app[UPLINK].running and device in sim.devices):
            assert time.monotonic() < deadline, "no takeover"
            await asyncio.sleep(0.2)
        assert sim.devices[device].call_id != registered.call_id
        await second.close()


@pytest.mark.slow
async def test_live_view_of_a_camera_run_by_another_process(
    aiohttp_client, app_settings: Settings, camera: SimulatedCamera
) -> None:  # type: ignore[no-untyped-def]
    """The SIP leader answers the INVITE; the camera's owner sends the PS stream from its
    own hub straight to the platform; BYE stops it there."""
    from sqlalchemy import text

    from gateway import create_app

    settings = replace(
        app_settings, cluster=replace(app_settings.cluster, lease_ttl=4.0, lease_renew=1.0)
    )

    async def process() -> TestClient:
        """A gateway process whose cluster URL is where its test server listens."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        own = replace(settings, cluster=replace(settings.cluster, url=f"http://127.0.0.1:{port}"))
        return await aiohttp_client(create_app(own), server_kwargs={"port": port})

    async with SimulatedPlatform(server_id="43122600002000000001", password="Lead-pw-1") as sim:
        apps = [await process()]
        await asyncio.sleep(1.0)
        apps.append(await process())
        headers, live = await live_camera(apps[0], camera)
        deadline = time.monotonic() + 20
        while not any(live["id"] in a.app[CAMERAS] for a in apps):
            assert time.monotonic() < deadline, "nobody runs the camera"
            await asyncio.sleep(0.2)
        owner = next(a for a in apps if live["id"] in a.app[CAMERAS])
        other = next(a for a in apps if a is not owner)
        # make the other process the SIP leader: the owner looks younger now
        async with owner.app[DB].transaction() as session:
            await session.execute(
                text("UPDATE gateway_nodes SET started_at = now() WHERE id = :id"),
                {"id": owner.app[CAMERA_LEASES].node_id},
            )
        deadline = time.monotonic() + 20
        while not (other.app[UPLINK].running and not owner.app[UPLINK].running):
            assert time.monotonic() < deadline, "leadership did not move"
            await asyncio.sleep(0.2)
        await add_platform(owner, headers, sim)  # type: ignore[arg-type]
        device = await sim.wait_registered(other.app[UPLINK].device_id, within=30)

        call = await sim.invite(device, live["gb_id"], mode="udp")
        assert call.answer.status == 200, call.answer.first
        await call.receiver.wait_packets(300, within=30)
        assert len(owner.app[UPLINK_RELAYS]) == 1  # the owner sends the media
        (session,) = other.app[UPLINK].sessions(1)
        assert session["relayed_by"]
        assert (await call.bye()).status == 200
        deadline = time.monotonic() + 10
        while len(owner.app[UPLINK_RELAYS]):
            assert time.monotonic() < deadline, "the relay did not stop"
            await asyncio.sleep(0.2)
        ps, video_frames = check_rtp(call.receiver.packets, 200009319)
        description, decoded = await asyncio.to_thread(decode, ps)
        assert description.startswith("h264,") and decoded == video_frames > 5
        await call.receiver.close()
        for client in apps:
            await client.close()
