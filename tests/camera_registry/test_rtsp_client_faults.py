"""Client errors against misbehaving peers: refused, silent, garbage, closed; 551 retry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from camera_registry._errors import (
    BackchannelUnavailableError,
    CameraConnectionError,
    CameraTimeoutError,
    InvalidStreamUrlError,
    MalformedMediaError,
    RtspStateError,
)
from camera_registry._rtsp_client import RtspClient, RtspState
from media import MediaFrame, split_annexb
from tests.media.h264_streams import encode_clip, rtp_stream

from .conftest import free_port
from .scripted_rtsp_server import ScriptedRtspServer


@pytest.fixture(scope="module")
def clip() -> tuple[list[bytes], bytes, bytes]:
    aus = [split_annexb(au) for au in encode_clip(50, 160, 120)]
    sps = next(n for au in aus for n in au if n[0] & 0x1F == 7)
    pps = next(n for au in aus for n in au if n[0] & 0x1F == 8)
    return rtp_stream(aus, seed=5), sps, pps


async def _server(clip: tuple[list[bytes], bytes, bytes], mode: str) -> ScriptedRtspServer:
    packets, sps, pps = clip
    return await ScriptedRtspServer(packets, mode=mode, sps=sps, pps=pps).start()


@pytest.fixture
async def media_server(clip: tuple[list[bytes], bytes, bytes]) -> AsyncIterator[ScriptedRtspServer]:
    server = await _server(clip, "media")
    yield server
    await server.close()


async def test_connection_refused() -> None:
    client = RtspClient(f"rtsp://127.0.0.1:{free_port()}/x", on_frame=lambda f: None)
    with pytest.raises(CameraConnectionError, match="connection refused"):
        await client.start()


def test_bad_url() -> None:
    with pytest.raises(InvalidStreamUrlError, match="rtsp://"):
        RtspClient("http://cam/x", on_frame=lambda f: None)


@pytest.mark.parametrize(
    ("mode", "error", "match"),
    [
        ("silent", CameraTimeoutError, "did not answer OPTIONS"),
        ("garbage", MalformedMediaError, "unexpected byte"),
    ],
)
async def test_misbehaving_servers(
    clip: tuple[list[bytes], bytes, bytes], mode: str, error: type[Exception], match: str
) -> None:
    server = await _server(clip, mode)
    try:
        client = RtspClient(server.url, on_frame=lambda f: None, request_timeout=0.5)
        with pytest.raises(error, match=match):
            await client.start()
        assert client._transport is None  # nothing left open after a failed start
    finally:
        await server.close()


async def test_551_retry_then_media_then_drop(media_server: ScriptedRtspServer) -> None:
    frames: list[MediaFrame] = []
    client = RtspClient(media_server.url, on_frame=frames.append)
    await client.start()
    assert (
        client.listen_only_reason
        == "camera refused the ONVIF backchannel (551 Option not supported)"
    )
    describes = [r for r in media_server.requests if r.method == "DESCRIBE"]
    assert [d.header("Require") for d in describes] == ["www.onvif.org/ver20/backchannel", None]
    setup = next(r for r in media_server.requests if r.method == "SETUP")
    assert setup.url == media_server.url + "/track1"
    for _ in range(200):
        if len(frames) == 50:
            break
        await asyncio.sleep(0.05)
    await client.close()
    assert len(frames) == 50 and frames[0].keyframe
    assert [r.method for r in media_server.requests][-1] == "TEARDOWN"
    assert await client.wait_closed() is None  # closed by us, not by an error


async def test_dropped_connection_is_reported(clip: tuple[list[bytes], bytes, bytes]) -> None:
    server = await _server(clip, "drop")
    try:
        client = RtspClient(server.url, on_frame=lambda f: None)
        await client.start()
        error = await asyncio.wait_for(client.wait_closed(), 10)
        assert isinstance(error, CameraConnectionError)
        assert "closed the connection" in error.message
        await client.close()
    finally:
        await server.close()


async def test_state_machine_misuse_says_so_and_a_failed_start_can_be_retried(
    clip: tuple[list[bytes], bytes, bytes],
) -> None:
    port = free_port()
    frames: list[MediaFrame] = []
    client = RtspClient(f"rtsp://127.0.0.1:{port}/live", on_frame=frames.append)
    assert client.state is RtspState.IDLE
    with pytest.raises(CameraConnectionError):
        await client.start()  # nobody listens yet
    assert client.state is RtspState.IDLE and client._transport is None
    with pytest.raises(BackchannelUnavailableError, match="no usable backchannel"):
        client.send_backchannel(b"\xff" * 160)

    packets, sps, pps = clip
    server = ScriptedRtspServer(packets, mode="media", sps=sps, pps=pps)
    server.port = port
    await server.start()
    try:
        await client.start()  # the same client, retried
        assert client.state is RtspState.PLAYING
        with pytest.raises(RtspStateError, match="cannot start an RTSP session that is playing"):
            await client.start()
        await client.close()
        await client.close()  # idempotent
        assert client.state is RtspState.CLOSED
        with pytest.raises(RtspStateError, match="closed; create a new client"):
            await client.start()
    finally:
        await server.close()
