"""Faults of a camera during a recording, through the whole gateway: the camera drops its
connection, stalls, reboots and flaps; the recording goes on by itself, every outage is a
gap with its reason, the segments before a fault stay intact and verifiable, and media
flows again after each one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from core import Settings
from simulator import SimulatedCamera
from tests.helpers import login
from tests.recordings.service_peers import Rig, rig

pytestmark = pytest.mark.slow


@pytest.fixture
async def gateway(
    aiohttp_client,  # type: ignore[no-untyped-def]
    app_settings: Settings,
    camera: SimulatedCamera,
) -> AsyncIterator[Rig]:
    async for r in rig(aiohttp_client, app_settings, camera):
        yield r


async def _until(predicate: Callable[[], bool], within: float = 30.0) -> None:
    for _ in range(int(within * 10)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not reached within {within} s")


async def _detail(r: Rig, rid: str) -> dict:  # type: ignore[type-arg]
    response = await r.client.get(f"/api/recordings/{rid}")
    assert response.status == 200
    return dict(await response.json())


async def _segments_after(r: Rig, rid: str, mark: datetime, count: int = 1) -> None:
    """Wait until ``count`` segments that began after ``mark`` are in the index."""
    for _ in range(300):
        detail = await _detail(r, rid)
        fresh = [s for s in detail["segments"] if datetime.fromisoformat(s["start"]) > mark]
        if len(fresh) >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no new segment after {mark:%H:%M:%S}")


async def test_drop_stall_reboot_and_flap_during_a_recording(
    gateway: Rig, camera: SimulatedCamera
) -> None:
    r = gateway
    csrf = await login(r.client, "hpxc.mediator")
    await _until(lambda: r.manager.state(r.camera_id).online)
    started = await r.client.post(
        f"/api/cameras/{r.camera_id}/recordings",
        json={"reason": "调解现场录像"},
        headers={"X-CSRF-Token": csrf},
    )
    assert started.status == 201, await started.text()
    rid = str((await started.json())["id"])
    await _segments_after(r, rid, datetime.min.replace(tzinfo=UTC), 2)
    before = [s["sha256"] for s in (await _detail(r, rid))["segments"]]

    def online() -> bool:
        return r.manager.state(r.camera_id).online

    # 1. The camera closes the connection.
    mark = datetime.now(UTC)
    camera.apply_faults({"drop": True})
    await _until(online)
    await _segments_after(r, rid, mark)

    # 2. It keeps the connection but sends nothing until the gateway calls it stalled.
    mark = datetime.now(UTC)
    camera.apply_faults({"stall": True})
    await _until(lambda: not online(), 40)
    assert r.manager.state(r.camera_id).reason.startswith("stalled")
    camera.apply_faults({"stall": False})
    await _until(online)
    await _segments_after(r, rid, mark)

    # 3. It reboots: 3 s away, back with a new SSRC and sequence numbers.
    mark = datetime.now(UTC)
    camera.apply_faults({"reboot": 3.0})
    await _until(lambda: not online())
    await _until(online, 40)
    await _segments_after(r, rid, mark)

    # 4. It flaps: four drops two seconds apart.
    mark = datetime.now(UTC)
    for _ in range(4):
        camera.apply_faults({"drop": True})
        await asyncio.sleep(2)
    await _until(online)
    await _segments_after(r, rid, mark, 2)

    stopped = await r.client.post(
        f"/api/recordings/{rid}/stop", json={"reason": "调解结束"}, headers={"X-CSRF-Token": csrf}
    )
    assert stopped.status == 200, await stopped.text()
    detail = await _detail(r, rid)
    assert detail["state"] == "stopped" and detail["stop_reason"] == "调解结束"
    # Nothing recorded before the faults changed.
    assert [s["sha256"] for s in detail["segments"][: len(before)]] == before
    reasons = [g["reason"] for g in detail["gaps"]]
    assert reasons, "outages left no gap"
    known = ("camera offline:", "camera stream restarted", "no media from the camera")
    assert all(reason.startswith(known) for reason in reasons), reasons
    assert any("stalled" in reason for reason in reasons), reasons
    # The reboot and the flaps: several separate outages, each its own gap.
    assert len(reasons) >= 4, reasons
    verify = await (await r.client.get(f"/api/recordings/{rid}/verify")).json()
    assert verify["ok"], verify
