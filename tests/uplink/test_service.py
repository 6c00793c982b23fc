"""The uplink inside the gateway: a platform added through the API is registered to at
once and its state shows in the API; bad requests from a platform get clear answers;
stopping the gateway unregisters and starting it again registers again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from simulator import SimulatedPlatform
from tests.helpers import login
from web import UPLINK

from .sip_helpers import until

MANSCDP = "Application/MANSCDP+xml"


@pytest.fixture
async def platform() -> AsyncIterator[SimulatedPlatform]:
    async with SimulatedPlatform(
        server_id="43122600002000000001", password="Xl-pw-2026"
    ) as running:
        yield running


async def _add(
    client: TestClient, platform: SimulatedPlatform, **extra: object
) -> tuple[int, dict[str, str]]:
    client.session.cookie_jar.clear()
    headers = {"X-CSRF-Token": await login(client, "county.admin")}
    response = await client.post(
        "/api/uplink/platforms",
        json={
            "name": "县雪亮平台",
            "server_id": platform.server_id,
            "host": "127.0.0.1",
            "port": platform.port,
            "password": platform.password,
            "keepalive_interval": 5,
            **extra,
        },
        headers=headers,
    )
    assert response.status == 201, await response.text()
    return int((await response.json())["id"]), headers


async def _state(client: TestClient, pid: int) -> dict[str, object]:
    overview = await (await client.get("/api/uplink")).json()
    return next(p for p in overview["platforms"] if p["id"] == pid)


async def test_platform_added_through_the_api_registers(
    client: TestClient, platform: SimulatedPlatform
) -> None:
    pid, headers = await _add(client, platform)
    device_id = client.app[UPLINK].device_id
    record = await platform.wait_registered(device_id, within=20)
    assert record.transport == "UDP"
    state = await until_state(client, pid, "registered")
    assert state["last_error"] is None and state["registered_since"]
    overview = await (await client.get("/api/uplink")).json()
    assert overview["sip"]["port"] == client.app[UPLINK].endpoint.port > 0  # type: ignore[union-attr]

    # a MESSAGE whose body is not MANSCDP: 400, and the registration is untouched
    bad = platform.request("MESSAGE", record, body=b"<Query><CmdType>", content_type=MANSCDP)
    assert (await platform.send_request(bad, record)).status == 400
    # an unknown root element: 415
    odd = platform.request(
        "MESSAGE",
        record,
        body=b"<Other><CmdType>X</CmdType><SN>1</SN></Other>",
        content_type=MANSCDP,
    )
    assert (await platform.send_request(odd, record)).status == 415
    # an INVITE of a kind nobody handles: refused, not ignored
    invite = platform.request(
        "INVITE", record, body=b"v=0\r\ns=Unknown\r\nt=0 0\r\n", content_type="application/sdp"
    )
    assert (await platform.send_request(invite, record)).status == 488
    # an impostor with another server ID: 403
    impostor = platform.request("MESSAGE", record, body=b"", content_type=MANSCDP)
    impostor.headers = [
        (k, v.replace(platform.server_id, "99999999992000000001") if k == "From" else v)
        for k, v in impostor.headers
    ]
    assert (await platform.send_request(impostor, record)).status == 403

    # a platform disabled through the API unregisters; enabled again, registers again
    await client.patch(f"/api/uplink/platforms/{pid}", json={"enabled": False}, headers=headers)
    await until(lambda: device_id in platform.unregistered, what="unregistered")
    assert (await _state(client, pid))["state"] == "disabled"
    await client.patch(f"/api/uplink/platforms/{pid}", json={"enabled": True}, headers=headers)
    await platform.wait_registered(device_id, within=20)
    await until_state(client, pid, "registered")


async def until_state(client: TestClient, pid: int, wanted: str) -> dict[str, object]:
    import asyncio
    import time

    deadline = time.monotonic() + 30
    while True:
        state = await _state(client, pid)
        if state["state"] == wanted:
            return state
        assert time.monotonic() < deadline, state
        await asyncio.sleep(0.1)


async def test_wrong_password_shows_in_operator_words(
    client: TestClient, platform: SimulatedPlatform
) -> None:
    pid, _ = await _add(client, platform, password="wrong-password-1")
    state = await until_state(client, pid, "failed")
    assert state["last_error_code"] == "wrong_password"
    assert "password" in str(state["last_error"])


async def test_gateway_stop_unregisters_and_start_registers_again(
    app_settings, aiohttp_client, platform: SimulatedPlatform
) -> None:  # type: ignore[no-untyped-def]
    from gateway import create_app

    client = await aiohttp_client(create_app(app_settings))
    await _add(client, platform)
    device_id = client.app[UPLINK].device_id
    first = await platform.wait_registered(device_id, within=20)
    await client.close()  # the gateway stops: Expires: 0
    assert platform.unregistered == [device_id] and device_id not in platform.devices

    again = await aiohttp_client(create_app(app_settings))
    record = await platform.wait_registered(device_id, within=20)
    assert record.call_id != first.call_id
    await again.close()
