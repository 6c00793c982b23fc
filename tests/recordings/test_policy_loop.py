"""The room policy loop and its API, recordings that end on their own, recording metrics on
/metrics, and case links restored from the signed journal after the database is lost."""

from __future__ import annotations

import asyncio
import time as walltime
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, select

from camera_registry import CameraChanges
from core import SYSTEM, Room, Settings
from recordings import RoomPolicyRow, reindex, verify_recording
from recordings._link_journal import JOURNAL_NAME
from recordings._models import RecordingCaseRow, RecordingRow, RecordingSegmentRow
from simulator import SimulatedCamera
from tests.helpers import login

from .conftest import until
from .service_peers import Rig, rig
from .test_service import new_case, record

pytestmark = pytest.mark.slow

MONDAY_9 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
MONDAY_18 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 18:00


@pytest.fixture
async def gateway(
    aiohttp_client: Any,
    app_settings: Settings,
    camera: SimulatedCamera,
) -> AsyncIterator[Rig]:
    async for r in rig(aiohttp_client, app_settings, camera):
        yield r


def metric(text: str, name: str, camera: int) -> float:
    prefix = f'{name}{{camera="{camera}"}} '
    values = [float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix)]
    assert len(values) == 1, f"{prefix!r} not exported once:\n{text}"
    return values[0]


async def policy_recording(r: Rig) -> RecordingRow | None:
    async with r.db.transaction() as session:
        return await session.scalar(
            select(RecordingRow).where(
                RecordingRow.camera_id == r.camera_id,
                RecordingRow.mode.in_(["continuous", "schedule"]),
                RecordingRow.state == "recording",
            )
        )


async def stopped(r: Rig, rid: str) -> RecordingRow:
    async with r.db.transaction() as session:
        row = await session.get(RecordingRow, rid)
        assert row is not None
        return row


async def test_policy_api_and_loop(gateway: Rig) -> None:
    r = gateway
    r.housekeeper.clock = lambda: MONDAY_9
    csrf = await login(r.client, "hpxc.mediator")
    url = f"/api/rooms/{r.room_id}/recording-policy"
    headers = {"X-CSRF-Token": csrf}
    await until(lambda: r.manager.state(r.camera_id).online, 15)
    # bad bodies: 400 with the reason, nothing stored
    for body, words in [
        ({"mode": "schedule", "windows": []}, "at least one weekly window"),
        ({"mode": "manual"}, "not a room policy"),
        ({"mode": "schedule", "windows": [{"weekdays": [0], "start": "9", "end": "10:00"}]}, ""),
        (
            {"mode": "schedule", "windows": [{"weekdays": [7], "start": "08:00", "end": "09:00"}]},
            "",
        ),
        ({"mode": "sometimes"}, ""),
    ]:
        response = await r.client.post(url, json=body, headers=headers)
        assert response.status == 400, (body, await response.text())
        assert words in await response.text()
    async with r.db.transaction() as session:
        assert await session.get(RoomPolicyRow, r.room_id) is None
        other = await session.scalar(select(Room).where(Room.unit_code != "431226203201"))
        assert other is not None
    # another unit's room is out of scope: answered like a room that does not exist
    response = await r.client.post(
        f"/api/rooms/{other.id}/recording-policy", json={"mode": "continuous"}, headers=headers
    )
    assert response.status == 404
    async with r.db.transaction() as session:
        assert await session.get(RoomPolicyRow, other.id) is None
    # continuous: the loop (woken by the API) starts a recording within a few seconds
    response = await r.client.post(url, json={"mode": "continuous"}, headers=headers)
    assert response.status == 200, await response.text()
    started = walltime.monotonic()
    row = None
    while row is None and walltime.monotonic() - started < 5:
        await asyncio.sleep(0.1)
        row = await policy_recording(r)
    assert row is not None and row.mode == "continuous"
    continuous = row.id
    # a schedule whose window is open (Monday 08:00–17:30, it is 09:00): it keeps recording
    week = {"weekdays": [0, 1, 2, 3, 4], "start": "08:00", "end": "17:30"}
    response = await r.client.post(
        url, json={"mode": "schedule", "windows": [week]}, headers=headers
    )
    assert response.status == 200, await response.text()
    await r.housekeeper.apply_room_policies()
    assert r.service.recording_camera(r.camera_id) == continuous
    await asyncio.sleep(2.5)
    # the window closes at 17:30: at 18:00 the recording stops
    r.housekeeper.clock = lambda: MONDAY_18
    await r.housekeeper.apply_room_policies()
    done = await stopped(r, continuous)
    assert done.state == "stopped" and done.stop_reason == "room schedule ended"
    assert done.segment_count >= 1
    assert await policy_recording(r) is None
    # back at 09:00 the schedule starts one; turning the policy off stops it
    r.housekeeper.clock = lambda: MONDAY_9
    await r.housekeeper.apply_room_policies()
    row = await policy_recording(r)
    assert row is not None and row.mode == "schedule"
    assert (await r.client.post(url, json={"mode": "off"}, headers=headers)).status == 200
    await r.housekeeper.apply_room_policies()
    assert (await stopped(r, row.id)).stop_reason == "room policy changed to off"
    # a manual recording is never stopped by the room's policy
    manual = await r.service.start_recording(SYSTEM, r.camera_id, "来访接待")
    response = await r.client.post(url, json={"mode": "continuous"}, headers=headers)
    await r.housekeeper.apply_room_policies()  # wants a recording; the camera is busy
    assert r.service.recording_camera(r.camera_id) == manual.id
    assert (await r.client.post(url, json={"mode": "off"}, headers=headers)).status == 200
    await r.housekeeper.apply_room_policies()
    assert r.service.recording_camera(r.camera_id) == manual.id
    await r.service.stop_recording(SYSTEM, manual.id, "done")


async def test_disabled_camera_ends_the_recording(gateway: Rig) -> None:
    from web import CAMERA_REGISTRY

    r = gateway
    await until(lambda: r.manager.state(r.camera_id).online, 15)
    row = await r.service.start_recording(SYSTEM, r.camera_id, "调解现场")
    await asyncio.sleep(3.0)
    registry = r.client.app[CAMERA_REGISTRY]
    await registry.update(SYSTEM, r.camera_id, CameraChanges(enabled=False))
    await until(lambda: row.id not in r.service.recorder.writers, 10)
    await r.service.recorder.drain()
    done = await stopped(r, row.id)
    assert done.state == "stopped", done.state
    assert done.stop_reason == "camera removed or disabled in the gateway: its stream ended"
    assert done.segment_count >= 1
    report = await asyncio.to_thread(
        verify_recording, r.service.archive.directory(done), r.service.signing_key().public
    )
    assert report.ok, report.summary()


async def test_metrics_show_recording_and_backpressure(
    gateway: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recordings import _mux

    r = gateway
    real_write = _mux.SegmentMuxer.write

    def slow_write(self: _mux.SegmentMuxer, *args: object, **kw: object) -> None:
        walltime.sleep(0.03)  # a disk that manages about a third of the frame rate
        real_write(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(_mux.SegmentMuxer, "write", slow_write)
    await until(lambda: r.manager.state(r.camera_id).online, 15)
    row = await r.service.start_recording(SYSTEM, r.camera_id, "慢盘测试")
    writer = r.service.recorder.writers[row.id]
    await until(lambda: writer.stats.backpressure >= 1, 20)
    text = await (await r.client.get("/metrics")).text()
    assert metric(text, "gateway_recording_active", r.camera_id) == 1.0
    assert metric(text, "gateway_recording_backpressure_total", r.camera_id) >= 1
    await r.service.stop_recording(SYSTEM, row.id, "done")
    stats = r.service.recorder.finished_stats[str(r.camera_id)]
    text = await (await r.client.get("/metrics")).text()
    assert metric(text, "gateway_recording_active", r.camera_id) == 0.0
    assert metric(text, "gateway_recording_backpressure_total", r.camera_id) == stats.backpressure
    assert metric(text, "gateway_recording_frames_lost_total", r.camera_id) == stats.frames_lost
    assert (
        metric(text, "gateway_recording_bytes_total", r.camera_id)
        == (await stopped(r, row.id)).bytes
    )
    assert metric(text, "gateway_recording_segments_total", r.camera_id) == stats.segments > 0
    assert metric(text, "gateway_recording_gaps_total", r.camera_id) == stats.gaps
    assert "gateway_recording_low_disk_alarm 0.0" in text
    free = [line for line in text.splitlines() if line.startswith("gateway_recording_disk_free")]
    assert free and float(free[0].split()[1]) > 0


async def test_reindex_restores_case_links(gateway: Rig) -> None:
    r = gateway
    csrf = await login(r.client, "hpxc.mediator")
    headers = {"X-CSRF-Token": csrf}
    rid = await record(r, csrf, 2.5)
    kept, gone, detached = [await new_case(r, csrf) for _ in range(3)]
    first = (await (await r.client.get(f"/api/recordings/{rid}")).json())["segments"][0]
    for case_id, body in [
        (kept, {"note": "第一次调解", "start": first["start"], "end": first["end"]}),
        (gone, {"note": "旧案"}),
        (detached, {"note": "误关联"}),
    ]:
        response = await r.client.post(
            f"/api/cases/{case_id}/recordings",
            json={"recording_id": rid, **{k: v for k, v in body.items() if v is not None}},
            headers=headers,
        )
        assert response.status == 201, await response.text()
    detail = await (await r.client.get(f"/api/recordings/{rid}")).json()
    link_id = next(c["link_id"] for c in detail["cases"] if c["case_id"] == detached)
    response = await r.client.delete(f"/api/cases/{detached}/recordings/{link_id}", headers=headers)
    assert response.status in (200, 204), await response.text()
    before = {c["case_id"]: c for c in detail["cases"] if c["case_id"] != detached}
    directory = r.service.archive.root / (await stopped(r, rid)).path
    assert len((directory / JOURNAL_NAME).read_bytes().splitlines()) == 4
    # the database loses the recording index and every link; one case is gone too
    async with r.db.transaction() as session:
        await session.execute(delete(RecordingCaseRow))
        await session.execute(delete(RecordingSegmentRow))
        await session.execute(delete(RecordingRow).where(RecordingRow.id == rid))
    from recordings._foreign_tables import CASES

    async with r.db.transaction() as session:
        await session.execute(delete(CASES).where(CASES.c.id == gone))
    report = await reindex(r.db, r.service.archive.root, r.service.signing_key())
    assert rid in report.indexed and len(report.links_restored) == 1, report.summary()
    assert any("no longer exists" in s for s in report.links_skipped)
    after = await (await r.client.get(f"/api/recordings/{rid}")).json()
    (restored,) = after["cases"]
    assert restored["start"] == first["start"] and restored["end"] == first["end"]
    for field in ("case_id", "case_number", "note", "attached_by", "start", "end"):
        assert restored.get(field) == before[kept].get(field), field
    # a second reindex adds nothing twice
    report = await reindex(r.db, r.service.archive.root, r.service.signing_key())
    assert report.links_restored == []
    assert len((await (await r.client.get(f"/api/recordings/{rid}")).json())["cases"]) == 1
