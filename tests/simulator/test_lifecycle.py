"""start()/close() are idempotent and leave no task or encoder thread behind."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from simulator import ClipLibrary, PictureMode, SimulatedCamera, default_camera_config
from tests.simulator.rtsp_peer import RtspPeer


def _other_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


async def _play(camera: SimulatedCamera, token: str) -> RtspPeer:
    peer = RtspPeer(camera.rtsp_url(token), camera.config.username, camera.config.password)
    await peer.connect()
    base = (await peer.request("DESCRIBE")).header("Content-Base")
    transport = {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"}
    assert (await peer.request("SETUP", f"{base}trackID=0", transport)).status == 200
    assert (await peer.request("PLAY")).status == 200
    await peer.next_frame(0)
    return peer


async def test_close_while_streaming_leaves_nothing_running(clip_cache: Path) -> None:
    before = _other_tasks()
    camera = SimulatedCamera(default_camera_config(4), clips=ClipLibrary(clip_cache))
    await camera.start()
    await camera.start()  # idempotent
    peer = await _play(camera, "main")
    camera.reboot(5.0)  # a pending reboot is cancelled by close()
    await asyncio.sleep(0.1)
    await camera.close()
    await camera.close()  # idempotent
    await peer.close()
    await asyncio.sleep(0)
    assert _other_tasks() <= before
    assert not camera.online


async def test_live_encoder_threads_stop_with_their_last_viewer(clip_cache: Path) -> None:
    config = default_camera_config(5, mode=PictureMode.LIVE)
    async with SimulatedCamera(config, clips=ClipLibrary(clip_cache)) as camera:
        peer = await _play(camera, "sub")
        assert any(t.name.startswith("live-sub") for t in threading.enumerate())
        await peer.close()
        for _ in range(50):
            if not any(t.name.startswith("live-sub") for t in threading.enumerate()):
                break
            await asyncio.sleep(0.05)
        assert not any(t.name.startswith("live-sub") for t in threading.enumerate())
        peer = await _play(camera, "sub")  # and start again for the next viewer
        await peer.close()
    assert not any(t.name.startswith("live-") for t in threading.enumerate())
