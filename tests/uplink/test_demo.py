"""``serve --demo``'s upper platform: the simulator process runs one, the demo adds it
(once; its port kept current) and the gateway registers to it."""

from __future__ import annotations

import asyncio
import socket
import time

from core import Database, SecretBox, Settings
from gateway._demo_cameras import register_demo_platform, start_demo_fleet
from tests.helpers import login


def _free_base() -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if 1024 < base < 60000:
            return base
    raise AssertionError("no free port")


async def test_demo_registers_to_the_simulated_platform(
    app_settings: Settings, aiohttp_client
) -> None:  # type: ignore[no-untyped-def]
    from gateway import create_app

    fleet = await asyncio.to_thread(start_demo_fleet, 1, _free_base())
    try:
        assert fleet.endpoints["platform"]["port"] > 0
        db = Database(app_settings.database_url)
        secrets = await asyncio.to_thread(SecretBox.from_data_dir, app_settings.storage.data_dir)
        try:
            assert await register_demo_platform(db, secrets, fleet) is True
            assert await register_demo_platform(db, secrets, fleet) is False  # only once
        finally:
            await db.close()
        client = await aiohttp_client(create_app(app_settings))
        await login(client, "county.admin")
        deadline = time.monotonic() + 30
        while True:
            overview = await (await client.get("/api/uplink")).json()
            (platform,) = overview["platforms"]
            if platform["state"] == "registered":
                break
            assert time.monotonic() < deadline, platform
            await asyncio.sleep(0.2)
        assert platform["unit"] == "431226000000"  # the county: it sees every camera
    finally:
        await asyncio.to_thread(fleet.stop)
