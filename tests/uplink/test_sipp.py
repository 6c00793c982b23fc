"""SIPp (Debian sip-tester) as an independent upper platform: it challenges the
registration and verifies the MD5 digest itself, queries the catalog, INVITEs a camera
channel and hangs up; the PS stream it asked for arrives at the test's UDP port and
FFmpeg decodes it."""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from simulator import SimulatedCamera, rtp_header
from web import UPLINK

from .gateway_helpers import add_platform, live_camera
from .test_live import check_rtp, decode

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (sip-tester) is not installed"),
]

SCENARIOS = Path(__file__).with_name("sipp")
SERVER = "43122600002000000001"
PASSWORD = "Sipp-pw-2026"


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.packets.append(data)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_sipp_registers_queries_and_plays(
    client: TestClient, camera: SimulatedCamera, tmp_path: Path
) -> None:
    headers, live = await live_camera(client, camera)
    device = client.app[UPLINK].device_id
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    sock.bind(("127.0.0.1", 0))
    media, collector = await loop.create_datagram_endpoint(_Collector, sock=sock)
    values = {
        "{device}": device,
        "{server}": SERVER,
        "{domain}": SERVER[:10],
        "{password}": PASSWORD,
        "{channel}": str(live["gb_id"]),
        "{media_port}": str(sock.getsockname()[1]),
        "{watch_ms}": "3000",
        "{gateway}": f"127.0.0.1:{client.app[UPLINK].sip_address[1]}",
    }
    scenario = (SCENARIOS / "platform.xml").read_text(encoding="utf-8")
    for key, value in values.items():
        scenario = scenario.replace(key, value)
    (tmp_path / "platform.xml").write_text(scenario, encoding="utf-8")
    port = _free_udp_port()
    log = tmp_path / "messages.log"
    process = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(tmp_path / "platform.xml"),
        "-i", "127.0.0.1", "-p", str(port), "-t", "u1",
        "-trace_msg", "-message_file", str(log), "-trace_err",
        "-error_file", str(tmp_path / "errors.log"), "-timeout", "90s", "-timeout_error",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, cwd=tmp_path,
    )  # fmt: skip
    try:
        await asyncio.sleep(0.5)  # sipp binds its port
        platform = type("Sipp", (), {"server_id": SERVER, "port": port, "transport": "UDP",
                                     "password": PASSWORD})()  # fmt: skip
        await add_platform(client, headers, platform, keepalive_interval=5)  # type: ignore[arg-type]
        _, stderr = await asyncio.wait_for(process.communicate(), 100)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        media.close()
    errors = (tmp_path / "errors.log").read_text() if (tmp_path / "errors.log").exists() else ""
    assert process.returncode == 0, (stderr.decode()[-2000:], errors[-2000:])
    trace = log.read_text(encoding="utf-8", errors="replace")
    assert "<CmdType>Catalog</CmdType>" in trace and "<SN>4711</SN>" in trace
    assert f"<DeviceID>{live['gb_id']}</DeviceID>" in trace  # the camera is in the catalog
    assert "<Status>ON</Status>" in trace

    assert collector.packets, "no RTP reached the port SIPp offered"
    assert rtp_header(collector.packets[0]).ssrc == 100000001
    ps, video_frames = check_rtp(collector.packets, 100000001)
    description, decoded = await asyncio.to_thread(decode, ps)
    assert description.startswith("h264,") and decoded == video_frames > 10
