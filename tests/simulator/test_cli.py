"""``python -m simulator`` prints its endpoints as JSON and shuts down cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from simulator._soap import NS, envelope

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


async def test_cli_serves_cameras_and_stops_on_sigterm(clip_cache: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--cameras",
        "2",
        "--discovery-port",
        "0",
        "--cache-dir",
        str(clip_cache),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        text = ""
        while True:  # one indented JSON document; it ends with a closing brace at column 0
            line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
            assert line, "the simulator exited before printing its endpoints"
            text += line
            if line.rstrip() == "}":
                break
        document = json.loads(text)
        cameras = document["cameras"]
        assert len(cameras) == 2 and cameras[0]["name"] != cameras[1]["name"]
        assert cameras[0]["username"] != cameras[1]["username"]
        assert isinstance(document["discovery"]["port"], int)
        first = cameras[0]
        assert first["rtsp"]["main"].startswith("rtsp://127.0.0.1:")
        request = envelope(f'<tds:GetSystemDateAndTime xmlns:tds="{NS["tds"]}"/>')
        async with aiohttp.ClientSession() as http:
            async with http.post(
                first["device_service"],
                data=request,
                headers={"Content-Type": "application/soap+xml; charset=utf-8"},
            ) as response:
                assert response.status == 200
                assert "UTCDateTime" in await response.text()
            async with http.get(first["control_url"]) as response:
                assert (await response.json())["stall"] is False
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
        assert process.stderr is not None
        errors = (await process.stderr.read()).decode()
        assert "Traceback" not in errors and "Task was destroyed" not in errors
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
