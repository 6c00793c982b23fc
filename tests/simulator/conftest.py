"""Simulated cameras for the simulator's own tests.

Replay clips are encoded once per test run into a session-wide cache directory, so every
camera after the first loads them from disk in milliseconds.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from blockbuster import BlockBuster, blockbuster_ctx

from simulator import ClipLibrary, SimulatedCamera, default_camera_config


@pytest.fixture(scope="session")
def clip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture
async def camera(clip_cache: Path) -> AsyncIterator[SimulatedCamera]:
    cam = SimulatedCamera(
        default_camera_config(0, session_timeout=10), clips=ClipLibrary(clip_cache)
    )
    await cam.start()
    yield cam
    await cam.close()


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install -y ffmpeg)")
    return path


def rtsp_url_with_credentials(camera: SimulatedCamera, token: str = "main") -> str:
    return camera.rtsp_url(token).replace(
        "rtsp://", f"rtsp://{camera.config.username}:{camera.config.password}@"
    )


@pytest.fixture(autouse=True)
def blockbuster() -> Iterator[BlockBuster]:
    """Fail a test when the simulator's code blocks its event loop (test code may block)."""
    with blockbuster_ctx("simulator") as detector:
        yield detector
