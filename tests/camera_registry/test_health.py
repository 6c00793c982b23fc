"""Picture checks: black, covered and frozen pictures on synthetic frames (pure), on real
H.264 keyframes through a hub (PyAV-encoded), and no false alarm on the simulator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import av
import cv2
import numpy as np
import pytest

from camera_registry import (
    CameraManager,
    CameraSpec,
    HealthSampler,
    StreamHub,
    clock_warning,
    judge,
    measure,
)
from media import MediaFrame
from simulator import CameraFleet

from .registry_helpers import clip_dir, small_fleet, wait_until


def _scene(seed: int = 1, clock: str = "12:00:00.000") -> np.ndarray:
    """A room-like picture: furniture edges, a bit of sensor noise, an on-screen clock."""
    rng = np.random.default_rng(seed)
    img = np.full((180, 320), 110, np.uint8)
    cv2.rectangle(img, (30, 60), (140, 160), 60, -1)
    cv2.rectangle(img, (180, 40), (300, 120), 190, -1)
    cv2.line(img, (0, 170), (320, 150), 230, 3)
    cv2.putText(img, clock, (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 255, 2)
    noise = rng.normal(0, 2.0, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def test_a_normal_room_is_fine_and_changes_between_keyframes() -> None:
    verdict = judge(_scene(1, "12:00:00.000"), _scene(2, "12:00:01.000"))
    assert verdict.problem is None
    assert verdict.change is not None and verdict.change > 0.5


def test_black_picture() -> None:
    dark = np.random.default_rng(3).integers(0, 12, (180, 320), dtype=np.uint8)
    verdict = judge(dark)
    assert verdict.problem == "black" and "black" in verdict.detail
    assert measure(dark).brightness < 12


def test_covered_lens_is_uniform_without_detail() -> None:
    cloth = cv2.GaussianBlur(np.full((180, 320), 140, np.uint8), (0, 0), 5)
    cloth = np.clip(cloth + np.random.default_rng(4).normal(0, 1.0, cloth.shape), 0, 255)
    verdict = judge(cloth.astype(np.uint8))
    assert verdict.problem == "covered"
    # a dim but detailed room is neither black nor covered
    dim = (_scene(5) * 0.35).astype(np.uint8)
    assert judge(dim).problem is None


def test_frozen_picture_is_identical_between_keyframes() -> None:
    picture = _scene(6)
    verdict = judge(picture, picture.copy())
    assert verdict.problem == "frozen" and verdict.change == 0.0
    # a small change (one clock digit) is a live picture
    assert judge(_scene(6, "12:00:01.000"), picture).problem is None
    # a new resolution is never "frozen"
    assert judge(picture, cv2.resize(picture, (160, 90))).problem is None


def test_measure_refuses_what_is_not_a_grey_picture() -> None:
    with pytest.raises(ValueError, match="2-D grey image"):
        measure(np.zeros((4, 4, 3), np.uint8))


def test_clock_warning() -> None:
    assert clock_warning(None) is None and clock_warning(12.0) is None
    assert "120 s behind" in (clock_warning(-120.0) or "")


def _encode_idr(gray: np.ndarray) -> bytes:
    """One H.264 IDR (Annex-B, SPS/PPS in band) of ``gray``, as a camera would send it."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = gray.shape[1], gray.shape[0], "yuv420p"
    codec.options = {"preset": "ultrafast", "tune": "zerolatency"}
    bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    packets = list(codec.encode(av.VideoFrame.from_ndarray(bgr, format="bgr24")))
    packets += list(codec.encode(None))
    return b"".join(bytes(p) for p in packets)


def _publish(hub: StreamHub, data: bytes, ts: int) -> None:
    hub.publish(MediaFrame("video", "H264", 90000, ts, True, data, time.monotonic()))


@pytest.mark.parametrize(
    ("first", "second", "problem"),
    [
        (_scene(7), _scene(8, "12:00:01.000"), None),
        (np.zeros((180, 320), np.uint8), np.zeros((180, 320), np.uint8), "black"),
        (_scene(9), _scene(9), "frozen"),
    ],
)
async def test_sampler_decodes_keyframes_from_the_hub(
    first: np.ndarray, second: np.ndarray, problem: str | None
) -> None:
    hub = StreamHub("test")
    sampler = HealthSampler(hub, interval=None)
    idr1, idr2 = _encode_idr(first), _encode_idr(second)
    _publish(hub, idr1, 0)  # cached: the sampler starts from it
    asyncio.get_running_loop().call_later(0.2, lambda: _publish(hub, idr2, 90000))
    verdict = await sampler.check(5.0)
    assert verdict.problem == problem, verdict.detail
    assert verdict.thumbnail[:2] == b"\xff\xd8"
    hub.close()


@pytest.fixture
async def fleet(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CameraFleet]:
    async with small_fleet(1, clip_dir(tmp_path_factory), discovery_port=None) as running:
        yield running


@pytest.mark.slow
async def test_simulated_camera_picture_is_healthy(fleet: CameraFleet) -> None:
    camera = fleet.cameras[0]
    manager = CameraManager(health_interval=None)
    await manager.start()
    try:
        await manager.add(
            CameraSpec(
                1,
                "sim",
                "431226203000",
                camera.rtsp_url("main"),
                camera.config.username,
                camera.config.password,
            )
        )
        await wait_until(lambda: manager.state(1).online, what="camera online")
        verdict = await manager.check_picture(1)
        assert verdict.problem is None, verdict.detail
        assert verdict.change is not None and verdict.change > 0.5  # the clock moved
        assert manager.state(1).picture == verdict
    finally:
        await manager.close()
