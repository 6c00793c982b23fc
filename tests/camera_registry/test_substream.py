"""The lazily ingested sub stream: started by the first lease, stopped after the last one.

Runs the real CameraManager against the simulated camera (1080p main, 640x360 sub).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from camera_registry import (
    CameraManager,
    CameraSpec,
    StreamClosedError,
    StreamHub,
    UnknownStreamError,
    parse_stream,
)
from camera_registry._health import decode_keyframe
from media import MediaFrame
from simulator import SimulatedCamera
from tests.sessions.peers import wait_for

pytestmark = pytest.mark.slow

LINGER = 0.6


def _spec(camera: SimulatedCamera, *, sub: bool = True) -> CameraSpec:
    return CameraSpec(
        camera_id=3,
        name=camera.config.name,
        unit_code="431226203201",
        rtsp_url=camera.rtsp_url("main"),
        username=camera.config.username,
        password=camera.config.password,
        sub_rtsp_url=camera.rtsp_url("sub") if sub else None,
    )


@pytest.fixture
async def manager() -> AsyncIterator[CameraManager]:
    running = CameraManager(health_interval=None, backoff=(0.2, 0.5, 1.0), sub_linger=LINGER)
    yield running
    await running.close()


async def _keyframe(hub: StreamHub, within: float = 10.0) -> MediaFrame:
    sub = hub.subscribe(("video",))
    try:
        async with asyncio.timeout(within):
            while not (frame := await sub.get()).keyframe:
                pass
        return frame
    finally:
        sub.close()


async def _size(hub: StreamHub) -> tuple[int, int]:
    frame = await _keyframe(hub)
    picture = await asyncio.to_thread(decode_keyframe, frame.data, None)
    return picture.shape[1], picture.shape[0]


def _sub_tasks() -> list[str]:
    return [t.get_name() for t in asyncio.all_tasks() if "/sub" in t.get_name()]


async def test_sub_stream_runs_only_while_leased(
    manager: CameraManager, camera: SimulatedCamera
) -> None:
    await manager.add(_spec(camera))
    sub = manager.sub_stream(3)
    assert sub is not None and sub.ingest is None  # nobody watches: no second session
    assert _sub_tasks() == []

    first = await manager.acquire_hub(3, "sub")
    second = await manager.acquire_hub(3, "sub")
    assert first.stream == second.stream == "sub"
    assert first.hub is second.hub and first.hub is not manager.hub(3)
    assert await _size(first.hub) == (640, 360)
    assert await _size(manager.hub(3)) == (1920, 1080)
    ingest = sub.ingest
    assert ingest is not None and sub.users == 2

    first.release()
    first.release()  # idempotent: one lease counts once
    assert sub.users == 1
    second.release()
    # Back within the linger: the same session serves, nothing reconnects.
    again = await manager.acquire_hub(3, "sub")
    assert again.hub is first.hub and sub.ingest is ingest
    await asyncio.sleep(LINGER * 1.5)
    assert sub.ingest is ingest  # still leased
    again.release()

    await wait_for(lambda: sub.ingest is None, LINGER + 5, "the sub stream stopped")
    with pytest.raises(StreamClosedError):
        first.hub.subscribe(("video",))
    await asyncio.sleep(0)  # let the finished tasks be collected
    assert _sub_tasks() == []

    # The next viewer starts it again, on a fresh hub.
    fresh = await manager.acquire_hub(3, "sub")
    assert fresh.hub is not first.hub
    assert await _size(fresh.hub) == (640, 360)
    fresh.release()


async def test_camera_without_sub_stream_serves_main(
    manager: CameraManager, camera: SimulatedCamera
) -> None:
    await manager.add(_spec(camera, sub=False))
    lease = await manager.acquire_hub(3, "sub")
    assert lease.stream == "main" and lease.hub is manager.hub(3)
    assert manager.sub_stream(3) is None
    lease.release()
    main = await manager.acquire_hub(3)
    assert main.stream == "main" and main.hub is manager.hub(3)
    with pytest.raises(UnknownStreamError):
        await manager.acquire_hub(3, "third")
    with pytest.raises(UnknownStreamError):
        parse_stream("SUB")


async def test_registration_change_and_close_leave_nothing_behind(
    manager: CameraManager, camera: SimulatedCamera
) -> None:
    await manager.add(_spec(camera))
    lease = await manager.acquire_hub(3, "sub")
    await _keyframe(lease.hub)
    # The sub stream is dropped from the registration: its viewers end (they reconnect
    # and are served main).
    await manager.update(_spec(camera, sub=False))
    with pytest.raises(StreamClosedError):
        lease.hub.subscribe(("video",))
    lease.release()
    assert manager.sub_stream(3) is None

    await manager.update(_spec(camera))
    lease = await manager.acquire_hub(3, "sub")
    await _keyframe(lease.hub)
    await manager.close()
    await manager.close()
    assert _sub_tasks() == []
    with pytest.raises(StreamClosedError):
        lease.hub.subscribe(("video",))
    lease.release()  # after close: harmless


async def test_changed_sub_url_keeps_the_viewers_hub(
    manager: CameraManager, camera: SimulatedCamera
) -> None:
    await manager.add(_spec(camera))
    lease = await manager.acquire_hub(3, "sub")
    assert await _size(lease.hub) == (640, 360)
    sub = manager.sub_stream(3)
    assert sub is not None
    before = sub.ingest
    # Re-registered with another sub stream URL: a new session on the same hub.
    await manager.update(replace(_spec(camera), sub_rtsp_url=camera.rtsp_url("main")))
    assert manager.sub_stream(3) is sub and sub.ingest is not before
    watcher = lease.hub.subscribe(("video",))
    try:
        async with asyncio.timeout(10):
            while True:
                frame = await watcher.get()
                if frame.keyframe:
                    picture = await asyncio.to_thread(decode_keyframe, frame.data, None)
                    if picture.shape[:2] == (1080, 1920):
                        break
    finally:
        watcher.close()
    lease.release()
