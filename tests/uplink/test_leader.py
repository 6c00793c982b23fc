"""Several gateway processes on one PostgreSQL: only the oldest live one runs the SIP
endpoint and registers; when it stops, another takes over within a lease TTL and
registers again."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from core import Settings
from simulator import SimulatedPlatform
from tests.conftest import PG_URL
from tests.helpers import login
from web import UPLINK

pytestmark = pytest.mark.skipif(not PG_URL, reason="several processes need PostgreSQL")


async def test_one_process_registers_and_another_takes_over(
    aiohttp_client, app_settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    from gateway import create_app

    settings = replace(
        app_settings, cluster=replace(app_settings.cluster, lease_ttl=2.0, lease_renew=0.5)
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
