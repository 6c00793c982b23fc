"""``serve --demo``'s cameras draw their picture live, with the deployment's wall clock."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from gateway._demo_cameras import start_demo_fleet


def _free_base() -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if 1024 < base < 60000:
            return base
    raise AssertionError("no free port")


def _with_credentials(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.netloc}"
    return urlunsplit(parts._replace(netloc=netloc))


async def test_demo_cameras_encode_live_in_the_deployments_zone() -> None:
    fleet = await asyncio.to_thread(start_demo_fleet, 1, _free_base(), "Asia/Tokyo")
    try:
        (camera,) = fleet.cameras
        # live: drawn and encoded now, so the picture's clock is today's, not the clip's
        assert camera["mode"] == "live"
        environ_file = Path(f"/proc/{fleet.process.pid}/environ")
        environ = (await asyncio.to_thread(environ_file.read_bytes)).split(b"\0")
        assert b"TZ=Asia/Tokyo" in environ  # the OSD clock is set to the site's zone
        url = _with_credentials(camera["rtsp"]["sub"], camera["username"], camera["password"])
        grab = await asyncio.to_thread(
            subprocess.run,
            [
                *("ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", url, "-frames:v", "1"),
                *("-f", "rawvideo", "-pix_fmt", "gray", "-"),
            ],
            capture_output=True,
            timeout=60,
        )
        assert grab.returncode == 0, grab.stderr.decode()
        assert len(grab.stdout) == 640 * 360  # one decoded frame of the live sub stream
    finally:
        await asyncio.to_thread(fleet.stop)
