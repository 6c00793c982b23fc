"""Peers for the recordings tests: a simulated camera (sub stream, replay) and its ingest."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from camera_registry import CameraIngest
from recordings import Manifest, RecordingFiles, SigningKey, recording_dir
from recordings._naming import new_recording_id
from simulator import SimulatedCamera


def sub_url(camera: SimulatedCamera) -> str:
    return camera.rtsp_url("sub")


@pytest.fixture
async def ingest(camera: SimulatedCamera) -> AsyncIterator[CameraIngest]:
    ing = CameraIngest(
        "7",
        sub_url(camera),
        username=camera.config.username,
        password=camera.config.password,
        backoff=(0.3,),
        stall_timeout=2.0,
    )
    await ing.start()
    await until(lambda: ing.online, 15)
    yield ing
    await ing.close()


async def until(predicate: Callable[[], bool], limit: float = 15.0) -> None:
    for _ in range(int(limit / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not reached within {limit} s")


@pytest.fixture
def key(tmp_path: Path) -> SigningKey:
    return SigningKey.load_or_create(tmp_path / "data")


def new_files(root: Path, key: SigningKey, unit: str = "431226203201") -> RecordingFiles:
    now = datetime.now(UTC)
    rid = new_recording_id(now)
    manifest = Manifest(rid, "7", unit, None, now, "user:test", "test", "manual", key.key_id)
    return RecordingFiles.create(recording_dir(root, rid), manifest, key)


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (apt-get install -y ffmpeg)")
    return path


def ffprobe_streams(path: Path) -> list[dict[str, object]]:
    out = subprocess.run(
        [require("ffprobe"), "-v", "error", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        text=True,
    )
    return list(json.loads(out.stdout)["streams"])


def decoded_frames(path: Path) -> int:
    """Frames ffmpeg decodes from the file's video (errors fail the call)."""
    out = subprocess.run(
        [
            require("ffmpeg"),
            "-v",
            "error",
            "-xerror",
            "-i",
            str(path),
            "-map",
            "0:v",
            "-f",
            "null",
            "-",
            "-progress",
            "pipe:1",
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    frames = [
        int(v)
        for k, _, v in (line.partition("=") for line in out.stdout.splitlines())
        if k == "frame"
    ]
    return frames[-1] if frames else 0
