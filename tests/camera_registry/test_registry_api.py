"""Registration through the API against simulated cameras, with onvif-zeep-async as the
ONVIF client: the stored row, sealed credentials, audit, scope, and the camera going live."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from camera_registry import Camera
from core import AuditEntry
from simulator import CameraFleet
from tests.helpers import login
from web import CAMERAS, DB

from .registry_helpers import clip_dir, onvif_body, room_of, small_fleet, wait_until

pytestmark = pytest.mark.slow

HPX = "431226203000"  # 和平溪乡
GAOCUN = "431226100000"  # 高村镇


@pytest.fixture
async def fleet(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CameraFleet]:
    async with small_fleet(2, clip_dir(tmp_path_factory)) as running:
        yield running


async def _admin(client: TestClient, username: str = "hpx.admin") -> dict[str, str]:
    client.session.cookie_jar.clear()  # sign in afresh as another person
    return {"X-CSRF-Token": await login(client, username)}


async def test_onvif_registration_stores_profiles_talk_and_clock(
    client: TestClient, fleet: CameraFleet
) -> None:
    camera = fleet.cameras[0]
    camera.apply_faults({"clock_skew": 120.0})
    headers = await _admin(client)
    room = await room_of(client, HPX)
    response = await client.post("/api/cameras", json=onvif_body(camera, room), headers=headers)
    assert response.status == 201, await response.text()
    body = await response.json()

    assert body["source"] == "onvif" and body["room"]["id"] == room and body["unit"] == HPX
    assert body["serial"] == camera.config.serial
    assert body["manufacturer"] == camera.config.manufacturer
    assert [p["token"] for p in body["profiles"]] == ["main", "sub"]
    assert body["profiles"][0]["width"] == 640 and body["profiles"][1]["width"] == 320
    assert body["rtsp_url"] == camera.rtsp_url("main")
    assert body["sub_rtsp_url"] == camera.rtsp_url("sub")
    assert body["snapshot_uri"] == camera.snapshot_url("main")
    assert body["audio_outputs"] == ["AudioOutput_1"] and body["audio_decoders"] == ["G711"]
    assert "PCMU" in body["backchannel_codecs"]
    assert body["talk"] is True and body["talk_reason"] is None
    assert 118 < body["clock_offset"] < 122
    assert camera.config.password not in str(body)

    camera_id = body["id"]
    async with client.app[DB].transaction() as session:
        row = await session.get(Camera, camera_id)
        assert row is not None and camera.config.password not in row.credentials
        audit = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "camera.register", AuditEntry.object_id == str(camera_id)
            )
        )
        assert audit is not None and audit.actor == "user:hpx.admin"
        assert camera.config.password not in audit.detail

    async def live() -> dict[str, object] | None:
        state = (await (await client.get(f"/api/cameras/{camera_id}")).json())["state"]
        return state if state["online"] and state["fps"] > 5 else None

    state = await wait_until(live, within=30, what="camera online with frames")
    assert state["talk"] is True and state["status"] == "online"
    assert "ahead of the gateway" in state["clock_warning"]

    frame = await client.app[CAMERAS].hub(camera_id).subscribe({"video"}).get()
    assert frame.keyframe and frame.codec == "H264"

    snapshot = await client.get(f"/api/cameras/{camera_id}/snapshot")
    assert snapshot.status == 200 and snapshot.content_type == "image/jpeg"
    assert (await snapshot.read())[:2] == b"\xff\xd8"
    thumb = await client.get(f"/api/cameras/{camera_id}/snapshot", params={"size": "thumb"})
    assert thumb.status == 200 and (await thumb.read())[:2] == b"\xff\xd8"

    metrics = await (await client.get("/metrics")).text()
    assert f'gateway_camera_online{{camera="{camera_id}"}} 1.0' in metrics
    assert f'gateway_camera_talk{{camera="{camera_id}"}} 1.0' in metrics

    listed = (await (await client.get("/api/cameras")).json())["cameras"]
    assert [c["id"] for c in listed] == [camera_id]

    again = await client.post("/api/cameras", json=onvif_body(camera, room), headers=headers)
    assert again.status == 409 and (await again.json())["error"] == "camera_duplicate"


async def test_wrong_password_is_refused_and_nothing_is_stored(
    client: TestClient, fleet: CameraFleet
) -> None:
    headers = await _admin(client)
    room = await room_of(client, HPX)
    body = onvif_body(fleet.cameras[0], room, password="not-the-password")
    response = await client.post("/api/cameras", json=body, headers=headers)
    assert response.status == 400
    error = await response.json()
    assert error["error"] == "camera_wrong_password"
    assert "wrong password" in error["message"]
    async with client.app[DB].transaction() as session:
        assert (await session.scalars(select(Camera))).all() == []

    unreachable = onvif_body(fleet.cameras[0], room)
    unreachable["onvif"]["port"] = 1
    response = await client.post("/api/cameras", json=unreachable, headers=headers)
    assert response.status == 503 and (await response.json())["error"] == "camera_unreachable"


async def test_rtsp_url_registration_and_a_listen_only_camera(
    client: TestClient, fleet: CameraFleet
) -> None:
    headers = await _admin(client)
    room = await room_of(client, HPX, "reception")
    camera = fleet.cameras[1]
    camera.apply_faults({"no_backchannel": True})
    url = camera.rtsp_url("sub").replace(
        "rtsp://", f"rtsp://{camera.config.username}:{camera.config.password}@"
    )
    response = await client.post(
        "/api/cameras", json={"room_id": room, "rtsp_url": url, "name": "接待室"}, headers=headers
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["source"] == "rtsp" and body["name"] == "接待室"
    assert body["rtsp_url"] == camera.rtsp_url("sub")  # credentials never stay in the URL
    assert body["profiles"] == [] and body["clock_offset"] is None
    assert body["talk"] is False and "551" in body["talk_reason"]

    bad = await client.post(
        "/api/cameras",
        json={"room_id": room, "rtsp_url": camera.rtsp_url("main"), "password": "x"},
        headers=headers,
    )
    assert bad.status == 400
    wrong_scheme = await client.post(
        "/api/cameras", json={"room_id": room, "rtsp_url": "http://x/"}, headers=headers
    )
    assert (await wrong_scheme.json())["error"] == "invalid_stream_url"


async def test_cameras_stay_inside_their_unit(client: TestClient, fleet: CameraFleet) -> None:
    gaocun_headers = await _admin(client, "gc.admin")
    gaocun_room = await room_of(client, GAOCUN)
    response = await client.post(
        "/api/cameras", json=onvif_body(fleet.cameras[0], gaocun_room), headers=gaocun_headers
    )
    assert response.status == 201, await response.text()
    camera_id = (await response.json())["id"]

    hpx_headers = await _admin(client, "hpx.admin")
    refused = await client.post(
        "/api/cameras", json=onvif_body(fleet.cameras[1], gaocun_room), headers=hpx_headers
    )
    assert refused.status in (403, 404)
    assert (await client.get(f"/api/cameras/{camera_id}")).status == 404
    assert (await client.get(f"/api/cameras/{camera_id}/snapshot")).status == 404
    assert (await (await client.get("/api/cameras")).json())["cameras"] == []
    patch = await client.patch(f"/api/cameras/{camera_id}", json={"name": "x"}, headers=hpx_headers)
    assert patch.status == 404
    assert (await client.delete(f"/api/cameras/{camera_id}", headers=hpx_headers)).status == 404

    mediator = await _admin(client, "hpxc.mediator")  # may watch, may not register
    hpxc_room = await room_of(client, "431226203201")
    denied = await client.post(
        "/api/cameras", json=onvif_body(fleet.cameras[1], hpxc_room), headers=mediator
    )
    assert denied.status == 403

    await _admin(client, "county.admin")
    county = (await (await client.get("/api/cameras")).json())["cameras"]
    assert [c["id"] for c in county] == [camera_id]


async def test_discovery_lists_unregistered_cameras(client: TestClient, fleet: CameraFleet) -> None:
    headers = await _admin(client)
    probe = {"host": "127.0.0.1", "port": fleet.discovery_port, "wait": 1.0}
    found = await (await client.post("/api/cameras/discover", json=probe, headers=headers)).json()
    ports = sorted(d["port"] for d in found["devices"])
    assert ports == sorted(c.http_port for c in fleet.cameras)
    assert {d["name"] for d in found["devices"]} == {c.config.name for c in fleet.cameras}

    room = await room_of(client, HPX)
    registered = await client.post(
        "/api/cameras", json=onvif_body(fleet.cameras[0], room), headers=headers
    )
    assert registered.status == 201
    found = await (await client.post("/api/cameras/discover", json=probe, headers=headers)).json()
    assert [d["port"] for d in found["devices"]] == [fleet.cameras[1].http_port]


async def test_patch_disable_enable_and_delete(client: TestClient, fleet: CameraFleet) -> None:
    headers = await _admin(client)
    room = await room_of(client, HPX)
    other_room = await room_of(client, HPX, "reception")
    camera = fleet.cameras[0]
    created = await client.post("/api/cameras", json=onvif_body(camera, room), headers=headers)
    camera_id = (await created.json())["id"]
    manager = client.app[CAMERAS]
    assert camera_id in manager

    renamed = await client.patch(
        f"/api/cameras/{camera_id}",
        json={"name": "调解室一号", "room_id": other_room},
        headers=headers,
    )
    assert renamed.status == 200
    body = await renamed.json()
    assert body["name"] == "调解室一号" and body["room"]["id"] == other_room

    wrong = await client.patch(
        f"/api/cameras/{camera_id}", json={"password": "nope"}, headers=headers
    )
    assert wrong.status == 400 and (await wrong.json())["error"] == "camera_wrong_password"

    disabled = await client.patch(
        f"/api/cameras/{camera_id}", json={"enabled": False}, headers=headers
    )
    assert (await disabled.json())["state"] is None and camera_id not in manager
    enabled = await client.patch(
        f"/api/cameras/{camera_id}", json={"enabled": True}, headers=headers
    )
    assert enabled.status == 200 and camera_id in manager
    await wait_until(lambda: manager.state(camera_id).online, within=30, what="online again")

    gone = await client.delete(f"/api/cameras/{camera_id}", headers=headers)
    assert gone.status == 200 and camera_id not in manager
    assert (await client.get(f"/api/cameras/{camera_id}")).status == 404
    async with client.app[DB].transaction() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_type == "camera", AuditEntry.object_id == str(camera_id))
                .order_by(AuditEntry.seq)
            )
        ).all()
    assert actions == [
        "camera.register",
        "camera.update",
        "camera.update",
        "camera.update",
        "camera.delete",
    ]
