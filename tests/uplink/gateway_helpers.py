"""Shared by the uplink tests that run the whole gateway: a live camera, a platform."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from simulator import SimulatedCamera, SimulatedPlatform
from tests.camera_registry.registry_helpers import onvif_body, room_of, wait_until
from tests.helpers import login

HPX = "431226203000"


async def live_camera(
    client: TestClient, camera: SimulatedCamera, *, name: str = "和平溪乡调解室"
) -> tuple[dict[str, str], dict[str, Any]]:
    """Sign in as hpx.admin, register ``camera`` over ONVIF, wait until it is online."""
    client.session.cookie_jar.clear()
    headers = {"X-CSRF-Token": await login(client, "hpx.admin")}
    room = await room_of(client, HPX)
    response = await client.post(
        "/api/cameras",
        json={**onvif_body(camera, room), "name": name},  # ONVIF: main and sub streams
        headers=headers,
    )
    assert response.status == 201, await response.text()
    live = dict(await response.json())

    async def online() -> bool:
        state = (await (await client.get(f"/api/cameras/{live['id']}")).json())["state"]
        return bool(state and state["online"] and state["fps"] > 1)

    await wait_until(online, within=40, what="camera online")
    return headers, live


async def add_platform(
    client: TestClient, headers: dict[str, str], platform: SimulatedPlatform, **extra: Any
) -> int:
    response = await client.post(
        "/api/uplink/platforms",
        json={
            "name": "县雪亮平台",
            "server_id": platform.server_id,
            "host": "127.0.0.1",
            "port": platform.port,
            "transport": platform.transport.lower(),
            "password": platform.password,
            **extra,
        },
        headers=headers,
    )
    assert response.status == 201, await response.text()
    return int((await response.json())["id"])
