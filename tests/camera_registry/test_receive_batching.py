"""Receive batching: while media flows the client lets the kernel wake it once per ~10 ms of
data (SO_RCVLOWAT), yet an RTSP answer is never held back — not even when media stops."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from camera_registry import RtspClient
from media import MediaFrame
from simulator import SimulatedCamera

pytestmark = pytest.mark.slow


def _lowat(client: RtspClient) -> int:
    transport = client._transport
    assert transport is not None
    sock = transport.get_extra_info("socket")
    return int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT))


async def test_batches_media_but_answers_at_once_even_when_stalled(camera: SimulatedCamera) -> None:
    frames: list[MediaFrame] = []
    client = RtspClient(
        camera.rtsp_url("main"),
        on_frame=frames.append,
        username=camera.config.username,
        password=camera.config.password,
        backchannel=False,
    )
    await client.start()
    try:
        await asyncio.sleep(2.6)  # one tuning period at ~4 Mbit/s
        assert 1024 < _lowat(client) <= 16 * 1024
        count = len(frames)
        await asyncio.sleep(1.0)
        assert len(frames) - count >= 20  # still ~25 fps: batching does not starve the stream

        camera.apply_faults({"stall": True})  # media stops, the connection stays
        await asyncio.sleep(0.5)
        started = time.monotonic()
        answer = await client._request("OPTIONS", client.url)
        assert answer.ok
        assert time.monotonic() - started < 0.5  # not held until 5 KiB more arrive
    finally:
        camera.apply_faults({"stall": False})
        await client.close()
