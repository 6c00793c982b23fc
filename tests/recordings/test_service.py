"""Recording through the API: start/stop, playback with Range, audit, scope, case links,
legal hold against retention and the low-disk guard, reindex."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from core import SYSTEM, AuditEntry, Settings
from recordings import LegalHoldError, reindex
from recordings._foreign_tables import CASES
from recordings._models import RecordingRow, RecordingSegmentRow
from simulator import SimulatedCamera
from tests.helpers import login

from .service_peers import Rig, rig

pytestmark = pytest.mark.slow


@pytest.fixture
async def gateway(
    aiohttp_client,
    app_settings: Settings,
    camera: SimulatedCamera,  # type: ignore[no-untyped-def]
) -> AsyncIterator[Rig]:
    async for r in rig(aiohttp_client, app_settings, camera):
        yield r


async def _wait_online(r: Rig) -> None:
    for _ in range(300):
        if r.manager.state(r.camera_id).online:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the simulated camera did not come online")


async def record(r: Rig, csrf: str, seconds: float, reason: str = "调解现场录像") -> str:
    await _wait_online(r)
    response = await r.client.post(
        f"/api/cameras/{r.camera_id}/recordings",
        json={"reason": reason},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 201, await response.text()
    rid = str((await response.json())["id"])
    await asyncio.sleep(seconds)
    response = await r.client.post(
        f"/api/recordings/{rid}/stop", json={"reason": "调解结束"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200, await response.text()
    return rid


async def new_case(r: Rig, csrf: str) -> int:
    response = await r.client.post(
        "/api/cases",
        json={
            "dispute_type": "family",
            "channel": "window",
            "summary": "宅基地边界纠纷",
            "parties": [{"name": "张三"}, {"name": "李四", "role": "respondent"}],
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 201, await response.text()
    return int((await response.json())["id"])


async def audit_count(r: Rig, action: str, object_id: str) -> int:
    async with r.db.transaction() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == action, AuditEntry.object_id == object_id)
            )
            or 0
        )


async def test_record_play_and_scope(gateway: Rig, no_blocking: None) -> None:
    r = gateway
    csrf = await login(r.client, "hpxc.mediator")  # the village's own mediator
    rid = await record(r, csrf, 4.5)
    detail = await (await r.client.get(f"/api/recordings/{rid}")).json()
    assert detail["state"] == "stopped" and detail["stop_reason"] == "调解结束"
    assert len(detail["segments"]) >= 2 and all(len(s["sha256"]) == 64 for s in detail["segments"])
    assert detail["unit_code"] == "431226203201" and detail["camera_id"] == r.camera_id
    assert await audit_count(r, "recording.start", rid) == 1
    assert await audit_count(r, "recording.stop", rid) == 1
    # playback with HTTP Range; the first request of a playback is audited
    url = f"/api/recordings/{rid}/segments/0.mp4"
    response = await r.client.get(url, headers={"Range": "bytes=0-99"})
    assert response.status == 206 and len(await response.read()) == 100
    assert response.headers["Content-Type"] == "video/mp4"
    response = await r.client.get(url, headers={"Range": "bytes=100-"})
    assert response.status == 206
    assert await audit_count(r, "recording.play", rid) == 1
    thumb = await r.client.get(f"/api/recordings/{rid}/segments/0.jpg")
    assert thumb.status == 200 and (await thumb.read())[:2] == b"\xff\xd8"
    listed = await (await r.client.get(f"/api/recordings?camera_id={r.camera_id}")).json()
    assert [x["id"] for x in listed["recordings"]] == [rid]
    page = await r.client.get("/recordings")
    assert page.status == 200 and rid in await page.text()
    verify = await (await r.client.get(f"/api/recordings/{rid}/verify")).json()
    assert verify["ok"], verify
    # another village's operator sees nothing of it: not even that it exists
    r.client.session.cookie_jar.clear()
    csrf = await login(r.client, "nmq.watch")
    assert (await r.client.get(f"/api/recordings/{rid}")).status == 404
    assert (await r.client.get(url)).status == 404
    listed = await (await r.client.get("/api/recordings")).json()
    assert listed["recordings"] == []
    response = await r.client.post(
        f"/api/cameras/{r.camera_id}/recordings",
        json={"reason": "x"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 403
    # the township above it may watch
    r.client.session.cookie_jar.clear()
    await login(r.client, "hpx.watch")
    assert (await r.client.get(f"/api/recordings/{rid}")).status == 200


async def test_legal_hold_survives_retention_and_low_disk(gateway: Rig) -> None:
    r = gateway
    csrf = await login(r.client, "hpxc.mediator")
    held = await record(r, csrf, 2.5, "案件调解")
    plain = await record(r, csrf, 2.5, "日常接待")
    case_id = await new_case(r, csrf)
    response = await r.client.post(
        f"/api/cases/{case_id}/recordings",
        json={"recording_id": held, "note": "第一次调解"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 201, await response.text()
    detail = await (await r.client.get(f"/api/recordings/{held}")).json()
    assert detail["legal_hold"] and detail["cases"][0]["note"] == "第一次调解"
    by_case = await (await r.client.get(f"/api/recordings?case_id={case_id}")).json()
    assert [x["id"] for x in by_case["recordings"]] == [held]
    # the low-disk guard removes the plain recording, never the held one
    plan = await r.housekeeper.apply_disk_plan(total=10**12, free=10**9)
    assert [d.recording_id for d in plan.delete] == [plain]
    assert r.housekeeper.alarm is not None
    assert (await r.client.get(f"/api/recordings/{plain}")).status == 404
    assert await audit_count(r, "recording.delete", plain) == 1
    # retention far in the future still keeps it while the case is open
    decisions = await r.housekeeper.apply_retention(datetime.now(UTC) + timedelta(days=3650))
    assert [d.delete for d in decisions if d.recording_id == held] == [False]
    with pytest.raises(LegalHoldError):
        await r.housekeeper.delete(SYSTEM, held, "tidy up")
    held_dir = r.service.archive.root / (await _row(r, held)).path
    assert held_dir.is_dir()
    # the case closes; after its type's retention the recording may go
    async with r.db.transaction() as session:
        await session.execute(
            update(CASES)
            .where(CASES.c.id == case_id)
            .values(status="closed", closed_at=datetime.now(UTC) - timedelta(days=3000))
        )
    decisions = await r.housekeeper.apply_retention()
    assert [d.delete for d in decisions if d.recording_id == held] == [True]
    assert not held_dir.exists()
    assert await audit_count(r, "recording.delete", held) == 1


async def _row(r: Rig, rid: str) -> RecordingRow:
    async with r.db.transaction() as session:
        row = await session.get(RecordingRow, rid)
        assert row is not None
        return row


async def test_reindex_restores_the_index(gateway: Rig, tmp_path: Path) -> None:
    r = gateway
    csrf = await login(r.client, "hpxc.mediator")
    rid = await record(r, csrf, 4.5)
    before = await (await r.client.get(f"/api/recordings/{rid}")).json()
    async with r.db.transaction() as session:
        await session.execute(delete(RecordingSegmentRow))
        await session.execute(delete(RecordingRow).where(RecordingRow.id == rid))
    assert (await r.client.get(f"/api/recordings/{rid}")).status == 404
    report = await reindex(r.db, r.service.archive.root, r.service.signing_key())
    assert report.indexed == [rid]
    after = await (await r.client.get(f"/api/recordings/{rid}")).json()
    assert after["segments"] == before["segments"]
    assert after["camera_id"] == r.camera_id and after["state"] == "stopped"


async def test_mediation_session_records_and_attaches(gateway: Rig) -> None:
    r = gateway
    csrf = await login(r.client, "hpxc.mediator")
    await _wait_online(r)
    case_id = await new_case(r, csrf)
    response = await r.client.post(
        f"/api/cases/{case_id}/sessions",
        json={"room_id": r.room_id, "mediators": ["杨德福"], "mode": "start"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 201, await response.text()
    session = await response.json()
    by_case = await (await r.client.get(f"/api/recordings?case_id={case_id}")).json()
    (running,) = by_case["recordings"]
    assert running["state"] == "recording" and running["mode"] == "session"
    assert running["legal_hold"], "held from the first second"
    await asyncio.sleep(3.0)
    response = await r.client.post(
        f"/api/cases/{case_id}/sessions/{session['id']}/finish",
        json={"outcome": "failed", "notes": "双方未达成一致"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 200, await response.text()
    finished = await response.json()
    assert finished["recording_id"] == running["id"], finished
    detail = await (await r.client.get(f"/api/recordings/{running['id']}")).json()
    assert detail["state"] == "stopped" and detail["stop_reason"] == "mediation session finished"
    assert detail["segments"] and detail["cases"][0]["case_id"] == case_id
