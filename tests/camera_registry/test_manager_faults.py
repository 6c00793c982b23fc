"""The camera manager against misbehaving simulated cameras: each fault yields the right
state and reason, and the camera comes back on the same hub without a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest

from camera_registry import CameraManager, CameraNotFoundError, CameraSpec, CameraState, StateFeed
from simulator import CameraFleet, SimulatedCamera

from .registry_helpers import clip_dir, small_fleet

pytestmark = pytest.mark.slow


@pytest.fixture
async def fleet(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CameraFleet]:
    async with small_fleet(1, clip_dir(tmp_path_factory), discovery_port=None) as running:
        yield running


@pytest.fixture
async def manager() -> AsyncIterator[CameraManager]:
    running = CameraManager(
        stall_timeout=2.0, request_timeout=3.0, backoff=(0.3, 0.6, 1.0), health_interval=None
    )
    await running.start()
    yield running
    await running.close()


def _spec(camera: SimulatedCamera) -> CameraSpec:
    return CameraSpec(
        camera_id=7,
        name=camera.config.name,
        unit_code="431226203000",
        rtsp_url=camera.rtsp_url("main"),
        username=camera.config.username,
        password=camera.config.password,
    )


async def _until(
    feed: StateFeed, check: Callable[[CameraState], bool], within: float = 20.0
) -> CameraState:
    async with asyncio.timeout(within):
        async for state in feed:
            if check(state):
                return state
    raise AssertionError("state feed ended")


async def _online(manager: CameraManager, feed: StateFeed) -> CameraState:
    state = manager.state(7)
    if state.online:
        return state
    return await _until(feed, lambda s: s.online)


async def test_lookups_and_a_running_camera(manager: CameraManager, fleet: CameraFleet) -> None:
    with pytest.raises(CameraNotFoundError, match="not running"):
        manager.hub(7)
    feed = manager.subscribe_states()
    await manager.add(_spec(fleet.cameras[0]))
    state = await _online(manager, feed)
    assert state.talk and state.listen_only_reason is None and state.reason == "connected"
    sub = manager.hub(7).subscribe({"video", "audio"})
    first = await asyncio.wait_for(sub.get(), 5)
    assert first.kind == "video" and first.keyframe
    assert manager.ingest(7).client is not None
    sub.close()
    await manager.remove(7)
    assert 7 not in manager and manager.camera_ids == []
    feed.close()


async def test_drop_and_reboot_recover_on_the_same_hub(
    manager: CameraManager, fleet: CameraFleet
) -> None:
    camera = fleet.cameras[0]
    feed = manager.subscribe_states()
    await manager.add(_spec(camera))
    await _online(manager, feed)
    hub = manager.hub(7)
    sub = hub.subscribe({"video"})

    camera.apply_faults({"drop": True})
    offline = await _until(feed, lambda s: not s.online)
    assert "closed the connection" in offline.reason and offline.retry_in is not None
    await _until(feed, lambda s: s.online)

    camera.apply_faults({"reboot": 1.0})
    await _until(feed, lambda s: not s.online)
    back = await _until(feed, lambda s: s.online, within=30)
    assert back.talk
    assert manager.hub(7) is hub  # consumers kept their subscription
    mark = time.monotonic()
    async with asyncio.timeout(10):  # frames of the new session reach the old subscriber
        while (await sub.get()).arrival <= mark:
            pass
    sub.close()
    feed.close()


async def test_stall_is_reported_and_clears(manager: CameraManager, fleet: CameraFleet) -> None:
    camera = fleet.cameras[0]
    feed = manager.subscribe_states()
    await manager.add(_spec(camera))
    await _online(manager, feed)
    camera.apply_faults({"stall": True})
    stalled = await _until(feed, lambda s: not s.online)
    assert stalled.reason.startswith("stalled: no media for")
    camera.apply_faults({"stall": False})
    await _until(feed, lambda s: s.online)
    for _ in range(100):  # the rate over the 5 s window climbs back
        state = manager.state(7)
        if state.stats.fps > 10:
            break
        await asyncio.sleep(0.1)
    assert state.online and state.stats.fps > 10
    feed.close()


async def test_refused_password_then_fixed(manager: CameraManager, fleet: CameraFleet) -> None:
    camera = fleet.cameras[0]
    feed = manager.subscribe_states()
    await manager.add(_spec(camera))
    await _online(manager, feed)
    camera.apply_faults({"refuse_auth": True, "drop": True})
    refused = await _until(feed, lambda s: s.reason == "wrong password")
    assert not refused.online and refused.status == "offline"
    camera.apply_faults({"refuse_auth": False})
    await _until(feed, lambda s: s.online, within=30)
    feed.close()


async def test_listen_only_camera_and_credential_update(
    manager: CameraManager, fleet: CameraFleet
) -> None:
    camera = fleet.cameras[0]
    camera.apply_faults({"no_backchannel": True})
    feed = manager.subscribe_states()
    await manager.add(_spec(camera))
    state = await _online(manager, feed)
    assert not state.talk and state.status == "listen_only"
    assert state.listen_only_reason is not None and "551" in state.listen_only_reason

    hub = manager.hub(7)
    await manager.update(replace(_spec(camera), password="changed-elsewhere"))
    refused = await _until(feed, lambda s: s.reason == "wrong password")
    assert not refused.online and manager.hub(7) is hub
    camera.apply_faults({"no_backchannel": False})
    await manager.update(_spec(camera))
    back = await _until(feed, lambda s: s.online)
    assert back.talk
    feed.close()


async def test_close_is_idempotent_and_leaves_no_task(fleet: CameraFleet) -> None:
    manager = CameraManager(health_interval=1.0)
    await manager.start()
    await manager.add(_spec(fleet.cameras[0]))
    feed = manager.subscribe_states()
    await _online(manager, feed)
    await manager.close()
    await manager.close()
    assert feed._closed  # feeds end with the manager
    leftovers = [
        t
        for t in asyncio.all_tasks()
        if t is not asyncio.current_task() and (t.get_name().startswith(("ingest", "health")))
    ]
    assert leftovers == []
