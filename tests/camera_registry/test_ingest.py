"""CameraIngest: states with reasons, reconnect with backoff, the hub surviving sessions."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest

from camera_registry._ingest import BACKOFF_STEPS, CameraIngest, IngestEvent
from media import split_annexb
from tests.media.h264_streams import encode_clip, rtp_stream

from .conftest import GstServer, free_port
from .scripted_rtsp_server import ScriptedRtspServer


async def _until(predicate: Callable[[], bool], limit: float = 15.0) -> None:
    for _ in range(int(limit / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not reached within {limit} s")


def test_backoff_schedule_with_jitter() -> None:
    ingest = CameraIngest("c", "rtsp://127.0.0.1/x", rng=random.Random(1))
    for attempt, step in enumerate([*BACKOFF_STEPS, 60, 60]):
        delay = ingest._delay(attempt)
        assert 0.8 * step <= delay <= 1.2 * step
    assert BACKOFF_STEPS[:4] == (1, 2, 5, 10) and BACKOFF_STEPS[-1] == 60


async def test_connection_refused_is_offline_with_reason() -> None:
    events: list[IngestEvent] = []
    ingest = CameraIngest(
        "c1", f"rtsp://127.0.0.1:{free_port()}/x", on_event=events.append, backoff=(0.1,)
    )
    await ingest.start()
    await _until(lambda: len(events) >= 2)
    await ingest.close()
    await ingest.close()
    assert all(not e.online and e.reason == "connection refused" for e in events)
    assert events[0].retry_in is not None and 0.08 <= events[0].retry_in <= 0.12


@pytest.mark.slow
async def test_online_offline_reconnect_and_talk(gst_server: Callable[..., GstServer]) -> None:
    server = gst_server("--onvif")
    events: list[IngestEvent] = []
    ingest = CameraIngest("room-1", server.url, on_event=events.append, backoff=(0.3,))
    await ingest.start()
    await _until(lambda: ingest.online)
    sub = ingest.hub.subscribe()
    first = await asyncio.wait_for(sub.get(), 5)
    assert first.kind == "video" and first.keyframe
    assert events[-1].reason == "connected" and events[-1].listen_only_reason is None
    ingest.send_talk(b"\xff" * 160)
    await _until(lambda: any(f.kind == "talk" for f in list(sub._queue)))
    # the camera goes away …
    server.stop()
    await _until(lambda: not ingest.online)
    assert "closed the connection" in events[-1].reason
    # … and comes back on the same address: the hub and its subscriber carry on
    port = server.port
    gst_server("--onvif", port=port)
    await _until(lambda: ingest.online and ingest.sessions == 2)
    async with asyncio.timeout(5):
        while True:
            frame = await sub.get()
            if frame.kind == "video" and frame.discontinuity:
                break
    assert frame.keyframe
    await _until(lambda: ingest.hub.stats().fps > 10)  # the rate over the window recovers
    assert ingest.hub.stats().subscribers == 1
    assert ingest.stats().reconnects == 1
    await ingest.close()
    assert ingest.client is None


@pytest.mark.slow
async def test_wrong_password_state(gst_server: Callable[..., GstServer]) -> None:
    server = gst_server("--auth", "digest", "--password", "right")
    events: list[IngestEvent] = []
    ingest = CameraIngest(
        "c", server.url, username="admin", password="wrong", on_event=events.append, backoff=(5,)
    )
    await ingest.start()
    await _until(lambda: bool(events))
    await ingest.close()
    assert not events[0].online and events[0].reason == "wrong password"


@pytest.fixture(scope="module")
def packets() -> tuple[list[bytes], bytes, bytes]:
    aus = [split_annexb(au) for au in encode_clip(60, 160, 120)]
    sps = next(n for au in aus for n in au if n[0] & 0x1F == 7)
    pps = next(n for au in aus for n in au if n[0] & 0x1F == 8)
    return rtp_stream(aus, seed=9), sps, pps


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("stall", "stalled: no media for 1 s"),
        ("reboot", "camera rebooted (SSRC changed on the video track)"),
    ],
)
async def test_stall_and_reboot(
    packets: tuple[list[bytes], bytes, bytes], mode: str, reason: str
) -> None:
    pkts, sps, pps = packets
    server = await ScriptedRtspServer(pkts, mode=mode, sps=sps, pps=pps).start()
    events: list[IngestEvent] = []
    ingest = CameraIngest("c", server.url, on_event=events.append, stall_timeout=1.0, backoff=(5,))
    try:
        await ingest.start()
        await _until(lambda: any(e.reason == reason for e in events))
    finally:
        await ingest.close()
        await server.close()
    if mode == "reboot":
        assert ingest.stats().gaps >= 1
        assert ingest.stats().last_gap is not None
