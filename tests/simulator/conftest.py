"""Simulated cameras for the simulator's own tests.

Replay clips are encoded once per test run into a session-wide cache directory, so every
camera after the first loads them from disk in milliseconds.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from blockbuster import BlockBuster, blockbuster_ctx

from simulator import SimulatedCamera


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
