"""The RTSP client against GStreamer's RTSP server (a third-party peer)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from camera_registry._errors import BackchannelUnavailableError, CameraAuthError
from camera_registry._rtsp_client import RtspClient, RtspState
from media import MediaFrame, g711_decode, g711_encode

from .conftest import GstServer

pytestmark = pytest.mark.slow


def _decode_video(frames: list[MediaFrame]) -> list[av.VideoFrame]:
    decoder = av.CodecContext.create("h264", "r")
    out: list[av.VideoFrame] = []
    for f in frames:
        out.extend(decoder.decode(av.Packet(f.data)))
    return out


async def _collect(client: RtspClient, frames: list[MediaFrame], seconds: float) -> None:
    await client.start()
    await asyncio.sleep(seconds)


def _tone(freq: float, seconds: float) -> np.ndarray:
    t = np.arange(int(8000 * seconds)) / 8000
    return (9000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


async def test_onvif_digest_stream_decodes_and_backchannel_reaches_speaker(
    gst_server: Callable[..., GstServer], tmp_path: Path
) -> None:
    sink = tmp_path / "speaker.ulaw"
    server = gst_server(
        "--onvif",
        "--auth",
        "digest",
        "--user",
        "admin",
        "--password",
        "s3cret",
        "--width",
        "640",
        "--height",
        "360",
        "--backchannel-out",
        str(sink),
    )
    frames: list[MediaFrame] = []
    client = RtspClient(server.url, on_frame=frames.append, username="admin", password="s3cret")
    with pytest.raises(BackchannelUnavailableError):
        client.send_backchannel(b"\xff" * 160)  # never before PLAY's 200 OK
    await client.start()
    try:
        assert client.listen_only_reason is None
        assert client.backchannel is not None and client.backchannel.direction == "sendonly"
        assert [t.codec for t in client.tracks] == ["H264", "PCMU"]
        tone = g711_encode(_tone(1000, 1.5), client.backchannel.codec)
        for i in range(0, len(tone), 160):  # steady 20 ms packets, like a talker
            client.send_backchannel(tone[i : i + 160])
            await asyncio.sleep(0.02)
    finally:
        await client.close()
    await client.close()  # idempotent
    video = [f for f in frames if f.kind == "video"]
    audio = [f for f in frames if f.kind == "audio"]
    assert video[0].keyframe and video[0].discontinuity
    assert b"\x00\x00\x00\x01\x67" in video[0].data  # SPS before the first IDR
    decoded = _decode_video(video)
    assert len(decoded) >= 25
    assert {(f.width, f.height) for f in decoded} == {(640, 360)}
    assert all(f.codec == "PCMU" and f.clock_rate == 8000 for f in audio) and audio
    # what the GStreamer "speaker" received is our 1 kHz tone
    pcm = g711_decode(sink.read_bytes(), "PCMU")
    assert len(pcm) >= 8000
    spectrum = np.abs(np.fft.rfft(pcm[:8000].astype(np.float64)))
    assert abs(int(np.argmax(spectrum)) - 1000) <= 20


async def test_server_without_backchannel_answers_551_and_session_is_listen_only(
    gst_server: Callable[..., GstServer],
) -> None:
    server = gst_server("--audio", "pcma", "--config-interval", "-1")
    frames: list[MediaFrame] = []
    client = RtspClient(server.url, on_frame=frames.append)
    await client.start()
    await asyncio.sleep(1.5)
    await client.close()
    assert client.listen_only_reason is not None and "551" in client.listen_only_reason
    assert client.backchannel is None
    with pytest.raises(BackchannelUnavailableError, match="551"):
        client.send_backchannel(b"\xd5" * 160)
    assert any(f.kind == "audio" and f.codec == "PCMA" for f in frames)
    assert len(_decode_video([f for f in frames if f.kind == "video"])) >= 20


async def test_basic_auth_and_wrong_password(gst_server: Callable[..., GstServer]) -> None:
    server = gst_server("--auth", "basic", "--user", "op", "--password", "right")
    bad = RtspClient(server.url.replace("rtsp://", "rtsp://op:wrong@"), on_frame=lambda f: None)
    with pytest.raises(CameraAuthError, match="wrong password"):
        await bad.start()
    nobody = RtspClient(server.url, on_frame=lambda f: None)
    with pytest.raises(CameraAuthError, match="requires a user name"):
        await nobody.start()
    frames: list[MediaFrame] = []
    good = RtspClient(server.url.replace("rtsp://", "rtsp://op:right@"), on_frame=frames.append)
    await good.start()
    await asyncio.sleep(1.0)
    await good.close()
    assert any(f.keyframe for f in frames)
    assert "op:right" not in good.url


async def test_keepalive_keeps_a_short_session_alive(gst_server: Callable[..., GstServer]) -> None:
    server = gst_server("--audio", "none", "--session-timeout", "2")
    frames: list[MediaFrame] = []
    client = RtspClient(server.url, on_frame=frames.append, backchannel=False, rtcp_interval=0)
    await client.start()
    assert client.session_timeout == 2.0  # GStreamer says timeout=2 in its Session header
    cseq = client._cseq
    await asyncio.sleep(5.0)
    assert client._use_get_parameter  # GStreamer lists GET_PARAMETER in Public
    assert client._cseq >= cseq + 4  # a keepalive every second, each answered
    assert client.playing
    before = len(frames)
    await asyncio.sleep(0.5)
    assert len(frames) > before
    await client.close()
    assert client.state is RtspState.CLOSED and not client._tasks


@pytest.mark.parametrize("rtcp", [True, False])
async def test_rtcp_receiver_reports_reach_gstreamer(
    gst_server: Callable[..., GstServer], rtcp: bool
) -> None:
    """Our receiver reports arrive at GStreamer's RTSP server and its rtpbin reads them
    (the block about each of its streams, with our CNAME and the highest sequence number
    we received); the session stays up past its 2 s timeout with no RTSP keepalive.
    Without RTCP the server hears no report at all: the check can fail."""
    server = gst_server("--audio", "pcmu", "--session-timeout", "2", "--print-reports")
    frames: list[MediaFrame] = []
    client = RtspClient(
        server.url,
        on_frame=frames.append,
        backchannel=False,
        keepalive=False,
        rtcp_interval=0.5 if rtcp else 0,
    )
    await client.start()
    try:
        await asyncio.sleep(7.0)  # more than three session timeouts
        assert client.playing
        before = len(frames)
        await asyncio.sleep(0.5)
        assert len(frames) > before
        highest = {r.kind: r.stats.extended_highest for r in client.receivers}
        assert client.lost == 0
    finally:
        await client.close()
    reports = [line.split() for line in server.stop().splitlines() if line.startswith("RB ")]
    ours = [dict(f.split("=", 1) for f in line[1:]) for line in reports]
    ours = [r for r in ours if r["cname"] == client.cname]
    if not rtcp:
        assert ours == []
        return
    assert {r["stream"] for r in ours} == {"0", "1"}  # video and audio
    last = {r["stream"]: int(r["highest"]) for r in ours}
    for stream, kind in (("0", "video"), ("1", "audio")):
        assert 0 <= highest[kind] - last[stream] < 400  # a report from the last second
