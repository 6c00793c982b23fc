"""FFmpeg (a third-party RTSP client) reads and decodes the simulated cameras' streams."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from simulator import (
    ClipLibrary,
    PictureMode,
    SimulatedCamera,
    default_camera_config,
    read_time_code,
)
from tests.simulator.conftest import require_tool, rtsp_url_with_credentials

pytestmark = pytest.mark.slow


async def _run(*argv: str, limit: float = 60) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out, err


async def _probe(url: str) -> list[dict[str, object]]:
    code, out, err = await _run(
        require_tool("ffprobe"),
        "-v",
        "error",
        "-rtsp_transport",
        "tcp",
        "-show_entries",
        "stream=codec_name,codec_type,width,height,sample_rate,profile",
        "-of",
        "json",
        url,
    )
    assert code == 0, err.decode()
    streams: list[dict[str, object]] = json.loads(out)["streams"]
    return streams


async def _count_frames(url: str, seconds: float) -> int:
    code, _, err = await _run(
        require_tool("ffmpeg"),
        "-hide_banner",
        "-rtsp_transport",
        "tcp",
        "-i",
        url,
        "-t",
        str(seconds),
        "-map",
        "0:v",
        "-f",
        "null",
        "-",
    )
    assert code == 0, err.decode()[-2000:]
    counts = re.findall(rb"frame=\s*(\d+)", err)
    return int(counts[-1]) if counts else 0


@pytest.fixture
async def live_camera(clip_cache: Path) -> AsyncIterator[SimulatedCamera]:
    cam = SimulatedCamera(
        default_camera_config(1, mode=PictureMode.LIVE), clips=ClipLibrary(clip_cache)
    )
    await cam.start()
    yield cam
    await cam.close()


async def test_ffprobe_sees_h264_at_the_profile_sizes_and_pcm_mulaw(
    camera: SimulatedCamera,
) -> None:
    main = await _probe(rtsp_url_with_credentials(camera, "main"))
    video = next(s for s in main if s["codec_type"] == "video")
    audio = next(s for s in main if s["codec_type"] == "audio")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 1920, 1080)
    assert video["profile"] == "Constrained Baseline"
    assert (audio["codec_name"], audio["sample_rate"]) == ("pcm_mulaw", "8000")
    sub = await _probe(rtsp_url_with_credentials(camera, "sub"))
    video = next(s for s in sub if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (640, 360)


async def test_ffprobe_without_credentials_is_refused(camera: SimulatedCamera) -> None:
    code, _, err = await _run(
        require_tool("ffprobe"), "-v", "error", "-rtsp_transport", "tcp", camera.rtsp_url()
    )
    assert code != 0
    assert b"401" in err


async def test_ffmpeg_decodes_the_replay_stream_at_its_frame_rate(camera: SimulatedCamera) -> None:
    frames = await _count_frames(rtsp_url_with_credentials(camera), 4)
    assert 90 <= frames <= 110  # 4 s at 25 fps, across the clip's loop point


async def test_ffmpeg_decodes_the_live_stream(live_camera: SimulatedCamera) -> None:
    frames = await _count_frames(rtsp_url_with_credentials(live_camera, "sub"), 3)
    assert 65 <= frames <= 85


async def test_live_picture_carries_the_wall_clock(
    live_camera: SimulatedCamera, tmp_path: Path
) -> None:
    loop = asyncio.get_running_loop()
    image = tmp_path / "frame.png"
    requested = loop.time()
    wall_requested = time.time()
    code, _, err = await _run(
        require_tool("ffmpeg"),
        "-v",
        "error",
        "-rtsp_transport",
        "tcp",
        "-i",
        rtsp_url_with_credentials(live_camera, "main"),
        "-frames:v",
        "1",
        "-y",
        str(image),
    )
    assert code == 0, err.decode()
    elapsed = loop.time() - requested
    frame = await asyncio.to_thread(cv2.imread, str(image))
    assert isinstance(frame, np.ndarray) and frame.shape == (1080, 1920, 3)
    captured = read_time_code(frame)
    assert captured is not None
    # The first frame is drawn after the request and before ffmpeg wrote it out.
    assert wall_requested - 0.1 <= captured <= wall_requested + elapsed


async def test_ffmpeg_decodes_the_aac_microphone_to_its_hum(clip_cache: Path) -> None:
    """``microphone_codec="AAC"``: RFC 3640 AAC-hbr at 16 kHz that FFmpeg decodes to the
    program's steady 250 Hz hum (not the G.711 program's 200 Hz)."""
    cam = SimulatedCamera(
        default_camera_config(2, microphone_codec="AAC"), clips=ClipLibrary(clip_cache)
    )
    await cam.start()
    try:
        url = rtsp_url_with_credentials(cam, "sub")
        audio = next(s for s in await _probe(url) if s["codec_type"] == "audio")
        assert (audio["codec_name"], audio["sample_rate"]) == ("aac", "16000")
        code, out, err = await _run(
            require_tool("ffmpeg"), "-hide_banner", "-rtsp_transport", "tcp", "-i", url,
            "-t", "3", "-map", "0:a", "-f", "s16le", "-ac", "1", "-ar", "16000", "-",
        )  # fmt: skip
        assert code == 0, err.decode()[-2000:]
    finally:
        await cam.close()
    samples = np.frombuffer(out, dtype=np.int16).astype(np.float64)[-16_000:]
    assert samples.size == 16_000
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    assert abs(float(np.fft.rfftfreq(samples.size, 1 / 16_000)[spectrum.argmax()]) - 250.0) < 3
    with pytest.raises(ValueError, match="PCMU or AAC"):
        default_camera_config(2, microphone_codec="G726")
