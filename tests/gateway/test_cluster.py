"""Three gateway processes share twelve cameras through PostgreSQL (the PostgreSQL leg).

Each process is ``python -m gateway serve`` with its own port and the shared data
directory; the cameras are registered through the API of one of them and recorded
continuously.  Then one process is killed with ``kill -9``: its cameras must be online on
the other two within 10 s, their recordings must resume with a gap that names the
takeover, the audit chain must verify, and a live view asked of one process for a camera
another runs must play.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway._demo import DEMO_PASSWORD
from simulator import CameraFleet, StreamProfile
from tests.conftest import PG_URL
from tests.sessions.peers import ViewerPeer

from .test_compose import _free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="several processes need PostgreSQL (the CI's PG leg)"),
]
SMALL = StreamProfile("main", 640, 360, 25, 600_000, 25)  # light on the 2-core box


class Node:
    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_DATA_DIR": str(data_dir),
            "GATEWAY_HTTP_PORT": str(self.port),
            "GATEWAY_CLUSTER_URL": self.base,
            "GATEWAY_LOG_LEVEL": "WARNING",
        }
        self.log = data_dir / f"node-{self.port}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve"],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.http = aiohttp.ClientSession(self.base, cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def ready(self) -> None:
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientError):
                async with self.http.get("/healthz") as response:
                    if response.status == 200:
                        break
            if self.proc.poll() is not None:
                raise AssertionError(self.log.read_text())
            await asyncio.sleep(0.1)
        async with self.http.post(
            "/api/session", json={"username": "county.admin", "password": DEMO_PASSWORD}
        ) as response:
            assert response.status == 200, await response.text()
            self.csrf = (await response.json())["csrf_token"]

    async def call(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        async with self.http.request(method, path, headers=headers, **kw) as response:
            body = await response.json()
            assert response.status < 400, body
            return body

    async def cameras(self) -> dict[int, dict[str, Any]]:
        return {c["id"]: c for c in (await self.call("GET", "/api/cameras"))["cameras"]}

    async def close(self) -> None:
        await self.http.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            await asyncio.to_thread(self.proc.wait, 20)


@pytest.fixture
async def fleet(clip_cache: Path) -> AsyncIterator[CameraFleet]:
    cameras = CameraFleet.create(12, clip_cache_dir=clip_cache, discovery_port=None, main=SMALL)
    await cameras.start()
    yield cameras
    await cameras.close()


async def _until(check: Any, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.25)


async def test_kill_9_one_of_three_and_the_others_take_its_cameras(
    database_url: str, tmp_path: Path, fleet: CameraFleet
) -> None:
    data = tmp_path / "data"
    data.mkdir()  # shared by the three, like one box's disk (the keys, the recordings)
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gateway", "migrate"],
        env={**os.environ, "GATEWAY_DATABASE_URL": database_url, "GATEWAY_DATA_DIR": str(data)},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    nodes = [Node(database_url, data) for _ in range(3)]
    try:
        for node in nodes:
            await node.ready()
        a, b, c = nodes
        rooms = (await a.call("GET", "/api/rooms"))["rooms"]
        for index, camera in enumerate(fleet.cameras):
            await a.call(
                "POST",
                "/api/cameras",
                json={
                    "room_id": rooms[index % len(rooms)]["id"],
                    "rtsp_url": camera.rtsp_url("main"),
                    "username": camera.config.username,
                    "password": camera.config.password,
                },
            )
        for room in rooms:
            await a.call(
                "POST", f"/api/rooms/{room['id']}/recording-policy", json={"mode": "continuous"}
            )

        async def spread() -> dict[int, dict[str, Any]] | None:
            cams = await b.cameras()
            owners = Counter(cam["state"]["owner"] for cam in cams.values() if cam["state"])
            online = all(cam["state"] and cam["state"]["online"] for cam in cams.values())
            return (
                cams
                if online and len(cams) == 12 and sorted(owners.values()) == [4, 4, 4]
                else None
            )

        cams = await _until(spread, 60, "12 cameras online, 4 on each process")
        owner_of_c = next(
            cam["state"]["owner"]
            for cam in (await c.cameras()).values()
            if cam["state"]["as_of"] is None
        )
        victims = [i for i, cam in cams.items() if cam["state"]["owner"] == owner_of_c]
        assert len(victims) == 4

        async def recording_everywhere() -> bool:
            rows = (await a.call("GET", "/api/recordings"))["recordings"]
            return len({r["camera_id"] for r in rows if r["state"] == "recording"}) == 12

        await _until(recording_everywhere, 30, "every camera recording")
        await asyncio.sleep(3.0)  # a few fragments on disk

        os.kill(c.proc.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        killed_wall = datetime.now(UTC)

        async def taken_over() -> bool:
            now = await a.cameras()
            return all(
                now[i]["state"]["online"] and now[i]["state"]["owner"] not in (None, owner_of_c)
                for i in victims
            )

        await _until(taken_over, 10, "the killed process's cameras online elsewhere")
        took = time.monotonic() - killed_at
        assert took <= 10.0

        async def resumed() -> list[dict[str, Any]]:
            rows = (await a.call("GET", "/api/recordings"))["recordings"]
            fresh = [
                r
                for r in rows
                if r["camera_id"] in victims
                and r["state"] == "recording"
                and datetime.fromisoformat(r["started_at"]) > killed_wall
            ]
            return fresh if len(fresh) == 4 else []

        fresh = await _until(resumed, 20, "the victims' recordings resumed")
        for row in fresh:

            async def takeover_gap(rid: str = row["id"]) -> bool:
                detail = await a.call("GET", f"/api/recordings/{rid}")
                reasons = [g["reason"] for g in detail["gaps"]]
                return any(f"taken over from gateway process {owner_of_c}" in r for r in reasons)

            await _until(
                takeover_gap, 30, "a gap naming the takeover"
            )  # in the index once written; slow under load
        rows = (await a.call("GET", "/api/recordings"))["recordings"]
        old = [
            r for r in rows if r["camera_id"] in victims and r["id"] not in {f["id"] for f in fresh}
        ]
        assert old and all(r["state"] == "interrupted" for r in old)  # salvaged, same disk

        # a live view asked of one process, for a camera another process runs
        survivor_owners = {i: (await a.cameras())[i]["state"]["owner"] for i in victims}
        camera_id = next(i for i, node in survivor_owners.items())
        asked = a if (await b.cameras())[camera_id]["state"]["as_of"] is None else b
        viewer = ViewerPeer(audio=False)
        try:

            async def post(offer: str) -> Any:
                from sessions import SessionAnswer

                async with asked.http.post(
                    f"/api/cameras/{camera_id}/whep",
                    data=offer,
                    headers={"Content-Type": "application/sdp", "X-CSRF-Token": asked.csrf},
                ) as response:
                    assert response.status == 201, await response.text()
                    location = response.headers["Location"]
                    return SessionAnswer(location.rsplit("/", 1)[1], await response.text())

            await viewer.connect(post)
            await viewer.wait_frames(10)
            assert (viewer.frames[0].width, viewer.frames[0].height) == (640, 360)
        finally:
            await viewer.close()

        verify = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "gateway", "audit", "verify"],
            env={**os.environ, "GATEWAY_DATABASE_URL": database_url, "GATEWAY_DATA_DIR": str(data)},
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        for node in nodes:
            await node.close()
