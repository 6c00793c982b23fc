"""RTSP restream across processes (the PostgreSQL leg): any process answers any pull.

Two gateway processes share two cameras through PostgreSQL, each with its own RTSP
restream port.  ffmpeg, with one restream account's digest credentials, asks each
process for the camera the *other* one runs: the asked process answers ``302 Moved
Temporarily`` with the owner's restream address, ffmpeg follows it, signs in again there
and decodes frames.  A pull of the asked process's own camera is served without a
redirect.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from simulator import CameraFleet, StreamProfile
from tests.conftest import PG_URL

from .test_cluster import ROOT, Node, _until
from .test_compose import _free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="several processes need PostgreSQL (the CI's PG leg)"),
]
SMALL = StreamProfile("main", 640, 360, 25, 600_000, 25)


async def _ffmpeg(source: str, seconds: float = 2.0) -> tuple[int, str]:
    """Decode ``seconds`` of video; (frames decoded, ffmpeg's debug log)."""
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "debug", "-rtsp_transport", "tcp",
        "-i", source, "-t", str(seconds), "-map", "0:v", "-f", "null", "-",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _out, err = await asyncio.wait_for(proc.communicate(), 90)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    log = err.decode(errors="replace")
    assert proc.returncode == 0, log[-3000:]
    frames = re.findall(r"frame=\s*(\d+)", log)
    return (int(frames[-1]) if frames else 0), log


async def test_a_pull_asked_of_either_process_is_redirected_to_the_owner_and_decodes(
    database_url: str, tmp_path: Path, clip_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gateway", "migrate"],
        env={**os.environ, "GATEWAY_DATABASE_URL": database_url, "GATEWAY_DATA_DIR": str(data)},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    fleet = CameraFleet.create(2, clip_cache_dir=clip_cache, discovery_port=None, main=SMALL)
    await fleet.start()
    nodes: list[Node] = []
    rtsp: dict[int, int] = {}  # node index → its restream port
    try:
        for index in range(2):
            rtsp[index] = _free_port()
            monkeypatch.setenv("GATEWAY_RESTREAM_PORT", str(rtsp[index]))
            nodes.append(Node(database_url, data))
        for node in nodes:
            await node.ready()
        a, b = nodes
        rooms = (await a.call("GET", "/api/rooms"))["rooms"]
        for camera in fleet.cameras:
            await a.call(
                "POST",
                "/api/cameras",
                json={
                    "room_id": rooms[0]["id"],
                    "rtsp_url": camera.rtsp_url("main"),
                    "username": camera.config.username,
                    "password": camera.config.password,
                },
            )

        async def one_each(node: Node = b) -> dict[int, dict[str, Any]] | None:
            cams = await node.cameras()
            owners = {cam["state"]["owner"] for cam in cams.values() if cam["state"]}
            online = all(cam["state"] and cam["state"]["online"] for cam in cams.values())
            return cams if online and len(cams) == 2 and len(owners) == 2 else None

        cams = await _until(one_each, 60, "two cameras online, one on each process")
        unit = next(iter(cams.values()))["unit"]
        account = await a.call(
            "POST", "/api/restream/accounts", json={"name": "nvr-cluster", "unit": unit}
        )
        user, password = account["name"], account["password"]

        for index, node in enumerate(nodes):
            mine = await node.cameras()
            # as_of is None for the state this process publishes itself (it runs the camera)
            own = next(i for i, cam in mine.items() if cam["state"]["as_of"] is None)
            other = next(i for i in mine if i != own)
            other_port = rtsp[1 - index]

            frames, log = await _ffmpeg(
                f"rtsp://{user}:{password}@127.0.0.1:{rtsp[index]}/cameras/{other}"
            )
            # ffmpeg followed the 302: it read from the owner's port (no credentials in
            # the Location; ffmpeg signed in there with the ones it had)
            assert re.search(
                rf"Input file #0 \(rtsp://127\.0\.0\.1:{other_port}/cameras/{other}\)", log
            ), log[-3000:]
            assert frames >= 10, log[-3000:]

            frames, log = await _ffmpeg(
                f"rtsp://{user}:{password}@127.0.0.1:{rtsp[index]}/cameras/{own}"
            )
            assert f":{other_port}/" not in log  # served where it was asked
            assert frames >= 10, log[-3000:]

        # the owner's /healthz says where it takes pulls (what the redirect is built from)
        async with b.http.get("/healthz") as response:
            assert (await response.json())["restream_port"] == rtsp[1]
    finally:
        for node in nodes:
            await node.close()
        await fleet.close()
