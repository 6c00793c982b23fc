"""A platform's queries against the gateway's real camera side: the catalog (paged, each
UDP message under 1300 bytes, ON/OFF by camera health, GB2312/GB18030 names), DeviceInfo,
DeviceStatus, RecordInfo from the recordings index with the case number, ConfigDownload,
DeviceControl refused, and SUBSCRIBE with a NOTIFY when a camera goes off."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient

from camera_registry import Camera
from core import Room
from recordings import RecordingRow
from simulator import SimulatedCamera, SimulatedPlatform
from tests.camera_registry.registry_helpers import room_of, wait_until
from tests.helpers import login
from web import DB, SETTINGS, UPLINK

HPX = "431226203000"
RARE = "萳竹村调解室"  # 萳 is not in GB2312 (wvp #1344)

pytestmark = pytest.mark.slow


@pytest.fixture(params=[("udp", "GB2312"), ("tcp", "GB18030")], ids=["udp-gb2312", "tcp-gb18030"])
async def platform(request: pytest.FixtureRequest) -> AsyncIterator[SimulatedPlatform]:
    transport, _ = request.param
    async with SimulatedPlatform(
        server_id="43122600002000000001", password="Xl-pw-2026", transport=transport
    ) as running:
        running.charset = request.param[1]  # type: ignore[attr-defined]
        yield running


async def _setup(
    client: TestClient, camera: SimulatedCamera, platform: SimulatedPlatform
) -> tuple[dict[str, str], dict[str, object], list[str]]:
    headers = {"X-CSRF-Token": await login(client, "hpx.admin")}
    room = await room_of(client, HPX)
    response = await client.post(
        "/api/cameras",
        json={
            "room_id": room,
            "name": "和平溪乡调解室",
            "rtsp_url": camera.rtsp_url("main"),
            "username": camera.config.username,
            "password": camera.config.password,
        },
        headers=headers,
    )
    assert response.status == 201, await response.text()
    live = await response.json()

    async def online() -> bool:
        state = (await (await client.get(f"/api/cameras/{live['id']}")).json())["state"]
        return bool(state and state["online"])

    await wait_until(online, within=40, what="camera online")
    # four more cameras, disabled (offline), one named with a character GB2312 lacks
    offline: list[str] = []
    async with client.app[DB].transaction() as session:
        room_row = await session.get(Room, room)
        assert room_row is not None
        for i, name in enumerate(["接待室一", "接待室二", RARE, "接待室四"]):
            gb_id = f"431226200013200{90 + i:05d}"
            session.add(
                Camera(
                    room_id=room,
                    name=name,
                    source="rtsp",
                    credentials="",
                    rtsp_url=f"rtsp://192.0.2.{i + 1}/stream",
                    enabled=False,
                    gb_id=gb_id,
                )
            )
            offline.append(gb_id)
    transport, charset = platform.transport.lower(), platform.charset  # type: ignore[attr-defined]
    response = await client.post(
        "/api/uplink/platforms",
        json={
            "name": "县雪亮平台",
            "server_id": platform.server_id,
            "host": "127.0.0.1",
            "port": platform.port,
            "transport": transport,
            "password": platform.password,
            "charset": charset,
        },
        headers=headers,
    )
    assert response.status == 201, await response.text()
    return headers, live, offline


async def test_queries_and_catalog_subscription(
    client: TestClient, camera: SimulatedCamera, platform: SimulatedPlatform
) -> None:
    headers, live, offline = await _setup(client, camera, platform)
    device_id = client.app[UPLINK].device_id
    device = await platform.wait_registered(device_id, within=30)

    # ---- Catalog: every camera and the talking camera's speaker, paged
    pages = await platform.query(device, "Catalog")
    sums = {element.findtext("SumNum") for _, element in pages}
    items = [item for _, element in pages for item in element.iter("Item")]
    assert sums == {"6"} and len(items) == 6  # 5 cameras + 1 speaker (137)
    if platform.transport == "UDP":
        assert len(pages) >= 2
        assert all(message.wire_size < 1300 for message, _ in pages), [
            m.wire_size for m, _ in pages
        ]
    by_id = {item.findtext("DeviceID"): item for item in items}
    live_id = str(live["gb_id"])
    speaker = live_id[:10] + "137" + live_id[13:]
    assert set(by_id) == {live_id, speaker, *offline}
    assert by_id[live_id].findtext("Status") == "ON"
    assert by_id[live_id].findtext("Name") == "和平溪乡调解室"
    assert by_id[live_id].findtext("ParentID") == device_id
    assert by_id[live_id].findtext("CivilCode") == "431226203"
    assert all(by_id[g].findtext("Status") == "OFF" for g in offline)
    assert by_id[offline[2]].findtext("Name") == RARE
    declared = {
        re.search(rb'encoding="([^"]+)"', m.body).group(1).decode()  # type: ignore[union-attr]
        for m, e in pages
        if RARE in ET_text(e)
    }
    assert declared == {"GB18030"}  # GB2312 cannot carry 萳: the page says GB18030

    # ---- DeviceInfo, DeviceStatus
    (info,) = await platform.query(device, "DeviceInfo")
    assert info[1].findtext("Result") == "OK" and info[1].findtext("Channel") == "5"
    (status,) = await platform.query(device, "DeviceStatus", target=live_id)
    assert status[1].findtext("Online") == "ONLINE" and status[1].findtext("Result") == "OK"
    (status,) = await platform.query(device, "DeviceStatus", target=offline[0])
    assert status[1].findtext("Online") == "OFFLINE"
    (status,) = await platform.query(device, "DeviceStatus", target="43122620001329999999")
    assert status[1].findtext("Result") == "ERROR"

    # ---- RecordInfo: a recording tied to a case carries the case number in its name
    now = datetime.now(UTC).replace(microsecond=0)
    async with client.app[DB].transaction() as session:
        session.add(
            RecordingRow(
                id="rec-uplink-1",
                camera_id=int(str(live["id"])),
                unit_code=HPX,
                room_id=None,
                mode="manual",
                state="stopped",
                reason="调解",
                started_by="user:test",
                started_at=now - timedelta(minutes=30),
                stopped_at=now - timedelta(minutes=20),
                media_start=now - timedelta(minutes=30),
                media_end=now - timedelta(minutes=20),
                bytes=123456,
                segment_count=1,
                path="2026/12/01/rec-uplink-1",
                key_id="test",
            )
        )
    recording_dir = client.app[SETTINGS].storage.data_dir / "recordings/2026/12/01/rec-uplink-1"
    recording_dir.mkdir(parents=True)  # the case link is journalled beside the segments
    case = await client.post(
        "/api/cases",
        json={
            "dispute_type": "family",
            "channel": "window",
            "summary": "宅基地边界纠纷",
            "parties": [{"name": "张三"}, {"name": "李四", "role": "respondent"}],
        },
        headers=headers,
    )
    assert case.status == 201, await case.text()
    number = (await case.json())["number"]
    attached = await client.post(
        f"/api/cases/{(await case.json())['id']}/recordings",
        json={"recording_id": "rec-uplink-1"},
        headers=headers,
    )
    assert attached.status == 201, await attached.text()
    beijing = now + timedelta(hours=8)
    window = (
        f"<StartTime>{(beijing - timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%S')}</StartTime>"
        f"<EndTime>{beijing.strftime('%Y-%m-%dT%H:%M:%S')}</EndTime><Type>all</Type>"
    )
    records = await platform.query(device, "RecordInfo", target=live_id, fields=window)
    (item,) = [i for _, e in records for i in e.iter("Item")]
    assert number in (item.findtext("Name") or "")
    start = (beijing - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")
    assert item.findtext("StartTime") == start and item.findtext("FileSize") == "123456"
    empty = await platform.query(device, "RecordInfo", target=offline[0], fields=window)
    assert [e.findtext("SumNum") for _, e in empty] == ["0"]

    # ---- ConfigDownload, DeviceControl
    (config,) = await platform.query(
        device, "ConfigDownload", fields="<ConfigType>BasicParam</ConfigType>"
    )
    assert config[1].findtext("BasicParam/HeartBeatInterval") == "60"
    assert config[1].findtext("BasicParam/SIPServerID") == platform.server_id
    (control,) = await platform.query(
        device, "DeviceControl", target=live_id, root="Control",
        fields="<PTZCmd>A50F010800FA00B7</PTZCmd>",
    )  # fmt: skip
    assert control[1].findtext("Result") == "ERROR"

    # ---- SUBSCRIBE Catalog; disabling the live camera sends OFF
    answer = await platform.subscribe_catalog(device)
    assert answer.status == 200 and answer.get("Expires") == "600"
    response = await client.patch(
        f"/api/cameras/{live['id']}", json={"enabled": False}, headers=headers
    )
    assert response.status == 200

    def off_notified() -> bool:
        return any(
            item.findtext("DeviceID") == live_id and item.findtext("Event") == "OFF"
            for _, element in platform.notifies()
            for item in element.iter("Item")
        )

    await platform.wait_for(off_notified, 20)
    notify = platform.notifies()[0][0]
    assert notify.call_id == answer.call_id  # inside the subscription's dialog
    assert "Subscription-State" in dict(notify.headers)


def ET_text(element: object) -> str:
    import xml.etree.ElementTree as ET

    assert isinstance(element, ET.Element)
    return "".join(element.itertext())
