"""Upper platforms through the API: validation, sealed password, scope, audit; the
gateway's device ID; every registered camera's channel ID (assigned, editable)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from core import AuditEntry
from simulator import SimulatedCamera
from tests.camera_registry.registry_helpers import room_of
from tests.helpers import login
from uplink import UplinkPlatform
from web import DB

HPX = "431226203000"  # 和平溪乡
GAOCUN = "431226100000"  # 高村镇
SECRET = "Platform-pw-12345678"


def body(**extra: Any) -> dict[str, Any]:
    return {
        "name": "麻阳县雪亮平台",
        "server_id": "43122600002000000001",
        "host": "127.0.0.1",
        "port": 15060,
        "password": SECRET,
        **extra,
    }


async def _as(client: TestClient, username: str) -> dict[str, str]:
    client.session.cookie_jar.clear()
    return {"X-CSRF-Token": await login(client, username)}


async def test_platform_lifecycle_is_scoped_sealed_and_audited(client: TestClient) -> None:
    headers = await _as(client, "hpx.admin")
    response = await client.post("/api/uplink/platforms", json=body(), headers=headers)
    assert response.status == 201, await response.text()
    created = await response.json()
    pid = created["id"]
    assert created["domain"] == "4312260000"  # the server ID's first ten digits
    assert created["transport"] == "udp" and created["charset"] == "GB2312"
    assert created["expires"] == 3600 and created["keepalive_interval"] == 60
    assert created["keepalive_misses"] == 3 and created["version"] == "2016"
    assert created["unit"] == HPX and created["cameras"] is None
    assert created["state"] in ("registering", "failed", "registered")
    assert SECRET not in str(created)

    async with client.app[DB].transaction() as session:
        row = await session.get(UplinkPlatform, pid)
        assert row is not None and SECRET not in row.password and row.password
        audit = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "uplink.platform.create")
        )
        assert audit is not None and audit.actor == "user:hpx.admin"
        assert SECRET not in audit.detail

    patched = await client.patch(
        f"/api/uplink/platforms/{pid}",
        json={"transport": "tcp", "charset": "GB18030", "password": "another-Secret-1"},
        headers=headers,
    )
    assert patched.status == 200, await patched.text()
    assert (await patched.json())["transport"] == "tcp"
    listed = await (await client.get("/api/uplink/platforms")).json()
    assert [p["id"] for p in listed["platforms"]] == [pid]

    overview = await (await client.get("/api/uplink")).json()
    assert len(overview["device_id"]) == 20 and overview["device_id"].isdigit()
    assert overview["device_id"][10:13] == "118"
    assert overview["device_id"][:6] == "431226"  # the root unit's county code
    assert overview["sip"]["port"] >= 0 and [p["id"] for p in overview["platforms"]] == [pid]

    # another township's admin does not see it; an operator may not manage platforms
    other = await _as(client, "gc.admin")
    assert (await client.get(f"/api/uplink/platforms/{pid}")).status == 404
    assert (await client.delete(f"/api/uplink/platforms/{pid}", headers=other)).status == 404
    await _as(client, "hpx.watch")
    assert (await client.get("/api/uplink/platforms")).status == 403

    headers = await _as(client, "county.admin")  # the county sees the township's platform
    assert (await client.delete(f"/api/uplink/platforms/{pid}", headers=headers)).status == 200
    assert (await client.get(f"/api/uplink/platforms/{pid}")).status == 404


async def test_bad_platform_input_is_refused_and_stores_nothing(client: TestClient) -> None:
    headers = await _as(client, "hpx.admin")
    cases = [
        body(server_id="1234"),
        body(server_id="4312260000200000000x"),
        body(domain="43"),
        body(transport="sctp"),
        body(charset="latin-1"),
        body(port=0),
        body(expires=10),
        body(keepalive_interval=0),
        body(password=""),
        body(host="bad host"),
        body(cameras=[999999]),
        body(version="2011"),
        {"name": "x"},
    ]
    for bad in cases:
        response = await client.post("/api/uplink/platforms", json=bad, headers=headers)
        assert response.status == 400, (bad, await response.text())
        assert (await response.json())["message"]
    listed = await (await client.get("/api/uplink/platforms")).json()
    assert listed["platforms"] == []


async def test_camera_channel_id_assigned_and_editable(
    client: TestClient, camera: SimulatedCamera
) -> None:
    headers = await _as(client, "hpx.admin")
    room = await room_of(client, HPX)
    response = await client.post(
        "/api/cameras",
        json={
            "room_id": room,
            "rtsp_url": camera.rtsp_url("main"),
            "username": camera.config.username,
            "password": camera.config.password,
        },
        headers=headers,
    )
    assert response.status == 201, await response.text()
    cam = await response.json()
    gb_id = cam["gb_id"]
    # centre code 43122620 (the township's first 8 digits), industry 00, IPC 132, net 0
    assert gb_id == f"43122620001320{cam['id']:06d}"
    fetched = await (await client.get(f"/api/cameras/{cam['id']}")).json()
    assert fetched["gb_id"] == gb_id

    for bad in ("123", "43122620001110000001", "4312262000132000000x"):
        refused = await client.patch(
            f"/api/cameras/{cam['id']}", json={"gb_id": bad}, headers=headers
        )
        assert refused.status == 400, await refused.text()
    edited = await client.patch(
        f"/api/cameras/{cam['id']}", json={"gb_id": "43122620001310000077"}, headers=headers
    )
    assert edited.status == 200, await edited.text()
    assert (await edited.json())["gb_id"] == "43122620001310000077"

    # a platform limited to that camera; a camera of another township is refused
    ok = await client.post("/api/uplink/platforms", json=body(cameras=[cam["id"]]), headers=headers)
    assert ok.status == 201 and (await ok.json())["cameras"] == [cam["id"]]
    other = await _as(client, "gc.admin")
    refused = await client.post(
        "/api/uplink/platforms", json=body(cameras=[cam["id"]]), headers=other
    )
    assert refused.status == 400


def test_uplink_settings_from_environment() -> None:
    from core import load_settings

    settings = load_settings(
        {
            "GATEWAY_UPLINK_SIP_HOST": "127.0.0.1",
            "GATEWAY_UPLINK_SIP_PORT": "0",
            "GATEWAY_UPLINK_DEVICE_ID": "43122600001180000009",
        }
    )
    assert settings.uplink.sip_host == "127.0.0.1" and settings.uplink.sip_port == 0
    assert settings.uplink.device_id == "43122600001180000009"
    defaults = load_settings({}).uplink
    assert (defaults.sip_host, defaults.sip_port, defaults.device_id) == ("0.0.0.0", 5060, "")


def test_device_id_rules() -> None:
    from uplink import derive_device_id

    assert derive_device_id("431226000000") == "43122600001180000001"
    assert derive_device_id("431226000000", "34020000001180000002") == "34020000001180000002"
    import pytest

    with pytest.raises(ValueError, match="20 digits"):
        derive_device_id("431226000000", "1234")
