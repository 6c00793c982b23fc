"""Shared by the registration, manager and camera page tests: small simulated fleets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from simulator import CameraFleet, SimulatedCamera, StreamProfile

# Small pictures keep these tests light on a 2-core machine shared with other media tests.
SMALL_STREAMS: dict[str, Any] = {
    "main": StreamProfile("main", 640, 360, 25, 600_000, 25),
    "sub": StreamProfile("sub", 320, 180, 15, 200_000, 15),
}


def clip_dir(factory: pytest.TempPathFactory) -> Path:
    """One replay-clip cache for the whole run: each clip is encoded once."""
    path = factory.getbasetemp() / "camera-clips"
    path.mkdir(exist_ok=True)
    return path


def small_fleet(count: int, cache: Path, **overrides: Any) -> CameraFleet:
    return CameraFleet.create(count, clip_cache_dir=cache, **{**SMALL_STREAMS, **overrides})


def onvif_body(
    camera: SimulatedCamera, room_id: int, password: str | None = None
) -> dict[str, Any]:
    return {
        "room_id": room_id,
        "onvif": {
            "host": camera.config.host,
            "port": camera.http_port,
            "username": camera.config.username,
            "password": camera.config.password if password is None else password,
        },
    }


async def room_of(client: TestClient, unit: str, kind: str = "mediation") -> int:
    response = await client.get("/api/rooms", params={"unit": unit})
    assert response.status == 200, await response.text()
    rooms = (await response.json())["rooms"]
    return int(next(r["id"] for r in rooms if r["kind"] == kind and r["unit"] == unit))


async def wait_until(
    check: Callable[[], Any], *, within: float = 30.0, interval: float = 0.2, what: str = ""
) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what or check}")
        await asyncio.sleep(interval)
