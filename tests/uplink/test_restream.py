"""The RTSP restream against real readers: ffprobe/ffmpeg pull the simulated camera
through the gateway with Digest credentials, over TCP and UDP, and decode frames."""

from __future__ import annotations

import asyncio
import json
import re
import signal

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from core import AuditEntry, Settings
from simulator import SimulatedCamera
from tests.helpers import login
from tests.sessions.fixtures import camera
from tests.sessions.peers import wait_for
from tests.web.test_live_api import live_app
from web import DB, RESTREAM

__all__ = ["camera"]

pytestmark = pytest.mark.slow

_csrf: dict[int, str] = {}  # one sign-in per test client

TOWNSHIP = "431226203000"  # 和平溪乡: the camera's village is below it
OTHER_VILLAGE = "431226203202"  # 楠木桥村: the camera is not in its scope


@pytest.fixture
async def gw(aiohttp_client, app_settings: Settings, camera: SimulatedCamera) -> TestClient:  # type: ignore[no-untyped-def]
    return await aiohttp_client(live_app(app_settings, camera))


async def new_account(client: TestClient, name: str, unit: str) -> tuple[str, str]:
    csrf = _csrf.get(id(client)) or await login(client, "hpx.admin")
    _csrf[id(client)] = csrf
    response = await client.post(
        "/api/restream/accounts",
        json={"name": name, "unit": unit, "note": "测试 NVR"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["urls"]["main"].endswith("/cameras/{id}")
    return name, body["password"]


def url(client: TestClient, user: str, password: str, path: str = "/cameras/1") -> str:
    port = client.app[RESTREAM].port
    return f"rtsp://{user}:{password}@127.0.0.1:{port}{path}"


async def run(*args: str, limit: float = 60.0) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode(), err.decode()


async def count_frames(source: str, transport: str, seconds: float = 3.0) -> int:
    code, _out, err = await run(
        "ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", transport,
        "-i", source, "-t", str(seconds), "-map", "0:v", "-f", "null", "-",
    )  # fmt: skip
    assert code == 0, err[-2000:]
    frames = re.findall(r"frame=\s*(\d+)", err)
    return int(frames[-1]) if frames else 0


async def actions(client: TestClient, prefix: str) -> list[AuditEntry]:
    async with client.app[DB].read() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action.like(prefix + "%")).order_by(AuditEntry.seq)
        )
        return list(rows)


async def test_ffprobe_reads_with_digest_over_tcp_and_udp(gw: TestClient) -> None:
    user, password = await new_account(gw, "nvr-hpx-01", TOWNSHIP)
    code, out, err = await run(
        "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries",
        "stream=codec_name,width,height", "-of", "json", url(gw, user, password),
    )  # fmt: skip
    assert code == 0, err
    streams = json.loads(out)["streams"]
    video = next(s for s in streams if s["codec_name"] == "h264")
    assert (video["width"], video["height"]) == (640, 360)
    assert any(s["codec_name"] in ("pcm_alaw", "pcm_mulaw", "aac") for s in streams)
    # frames decode at the camera's rate over both transports (25 fps for 3 s)
    assert await count_frames(url(gw, user, password), "tcp") >= 50
    assert await count_frames(url(gw, user, password), "udp") >= 50
    await wait_for(lambda: not gw.app[RESTREAM].sessions, 10, "sessions ended")
    for _ in range(100):  # the end of a pull is audited just after its session ends
        if len(await actions(gw, "restream.pull.stop")) == 3:
            break
        await asyncio.sleep(0.1)
    assert len(await actions(gw, "restream.pull.stop")) == 3
    starts = await actions(gw, "restream.pull.start")
    assert len(starts) == 3 and {e.actor for e in starts} == {"restream:nvr-hpx-01"}
    transports = [json.loads(e.detail)["transport"] for e in starts]
    assert transports == ["tcp", "tcp", "udp"]
    assert all(e.unit_code == "431226203201" and e.object_id == "1" for e in starts)


async def test_wrong_password_401_and_out_of_scope_404(gw: TestClient) -> None:
    user, password = await new_account(gw, "nvr-hpx-02", TOWNSHIP)
    code, _out, err = await run(
        "ffprobe", "-v", "error", "-rtsp_transport", "tcp", url(gw, user, password + "x"),
    )  # fmt: skip
    assert code != 0 and "401" in err, err
    other, other_password = await new_account(gw, "nvr-nmq-01", OTHER_VILLAGE)
    code, _out, err = await run(
        "ffprobe", "-v", "error", "-rtsp_transport", "tcp", url(gw, other, other_password),
    )  # fmt: skip
    assert code != 0 and "404" in err, err
    code, _out, err = await run(
        "ffprobe", "-v", "error", "-rtsp_transport", "tcp",
        url(gw, user, password, "/cameras/99"),
    )  # fmt: skip
    assert code != 0 and "404" in err, err
    failed = await actions(gw, "restream.auth_failed")
    assert [e.actor for e in failed] == ["restream:nvr-hpx-02"]
    assert not await actions(gw, "restream.pull.start")


async def test_two_readers_share_the_hub_and_a_vanished_reader_is_cleaned_up(
    gw: TestClient, camera: SimulatedCamera
) -> None:
    user, password = await new_account(gw, "nvr-hpx-03", TOWNSHIP)
    steady = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "tcp",
        "-i", url(gw, user, password), "-map", "0:v", "-f", "null", "-",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    vanishing = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "udp",
        "-i", url(gw, user, password), "-map", "0:v", "-f", "null", "-",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    server = gw.app[RESTREAM]
    try:
        await wait_for(
            lambda: len(server.sessions) == 2 and all(s.playing for s in server.sessions.values()),
            30,
            "two readers playing",
        )
        hub = gw.app[RESTREAM]._cameras.hub(1)
        assert hub.stats().subscribers >= 2
        vanishing.send_signal(signal.SIGKILL)
        await vanishing.wait()
        await wait_for(lambda: len(server.sessions) == 1, 15, "the vanished reader's session ended")
        survivor = next(iter(server.sessions.values()))
        sent = survivor.bytes_sent
        await asyncio.sleep(1.0)
        assert survivor.bytes_sent > sent  # the other reader was not disturbed
        # a third reader at once: still one camera session
        assert await count_frames(url(gw, user, password), "tcp", 2.0) >= 30
    finally:
        for proc in (steady, vanishing):
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
    await wait_for(lambda: not server.sessions, 15, "every session ended")


async def test_malformed_rtsp_gets_400_and_revoking_ends_the_pull(gw: TestClient) -> None:
    user, password = await new_account(gw, "nvr-hpx-04", TOWNSHIP)
    reader = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "tcp",
        "-i", url(gw, user, password), "-map", "0:v", "-f", "null", "-",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    server = gw.app[RESTREAM]
    try:
        await wait_for(lambda: any(s.playing for s in server.sessions.values()), 30, "playing")
        session = next(iter(server.sessions.values()))
        for garbage in (b"\x00\x01\x02 not rtsp\r\n\r\n", b"DESCRIBE\r\nCSeq: 1\r\n\r\n"):
            rd, wr = await asyncio.open_connection("127.0.0.1", server.port)
            wr.write(garbage)
            answer = await asyncio.wait_for(rd.read(4096), 10)
            assert answer.startswith(b"RTSP/1.0 400 "), answer
            assert await asyncio.wait_for(rd.read(), 10) == b""  # that connection is closed
            wr.close()
        # a request without CSeq, and an unknown method, on a healthy connection
        rd, wr = await asyncio.open_connection("127.0.0.1", server.port)
        wr.write(b"OPTIONS rtsp://127.0.0.1/cameras/1 RTSP/1.0\r\n\r\n")
        assert (await asyncio.wait_for(rd.read(4096), 10)).startswith(b"RTSP/1.0 400 ")
        wr.close()
        sent = session.bytes_sent
        await asyncio.sleep(1.0)
        assert session.bytes_sent > sent and session.playing  # the reader never noticed
        csrf = _csrf[id(gw)]
        accounts = await (await gw.get("/api/restream/accounts")).json()
        account = next(a for a in accounts["accounts"] if a["name"] == user)
        status = await (await gw.get("/api/restream")).json()
        assert [p["account"] for p in status["pulls"]] == [user] and status["listening"]
        revoked = await gw.delete(
            f"/api/restream/accounts/{account['id']}", headers={"X-CSRF-Token": csrf}
        )
        assert revoked.status == 200 and (await revoked.json())["revoked"]
        await wait_for(lambda: not server.sessions, 10, "the revoked account's pull ended")
        assert await asyncio.wait_for(reader.wait(), 30) is not None
        code, _out, err = await run(
            "ffprobe", "-v", "error", "-rtsp_transport", "tcp", url(gw, user, password),
        )  # fmt: skip
        assert code != 0 and "401" in err
    finally:
        if reader.returncode is None:
            reader.send_signal(signal.SIGKILL)
            await reader.wait()
    for _ in range(100):
        stops = await actions(gw, "restream.pull.stop")
        if stops:
            break
        await asyncio.sleep(0.1)
    assert json.loads(stops[0].detail)["reason"] == "the restream account was revoked"
    revokes = await actions(gw, "restream.account.revoke")
    assert [e.actor for e in revokes] == ["user:hpx.admin"]


async def test_workers_share_the_port_and_each_takes_pulls_on_its_own(gw: TestClient) -> None:
    """``serve --workers``: two servers bind one port (SO_REUSEPORT), each also its own
    port (where siblings redirect), and a pull through either own port decodes."""
    from gateway.app import SECRETS
    from tests.gateway.test_compose import _free_port
    from uplink import RestreamServer
    from web import CAMERAS, RESTREAM_ACCOUNTS

    user, password = await new_account(gw, "nvr-workers", TOWNSHIP)
    app = gw.app
    shared = _free_port()
    workers = [
        RestreamServer(
            app[CAMERAS],
            app[DB],
            app[RESTREAM_ACCOUNTS],
            app[SECRETS].derive("restream-digest-nonces"),
            host="127.0.0.1",
            port=shared,
            own_port=0,  # a free port of its own (serve --workers sets port + 1 + I)
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            await worker.start()
        assert all(w.listening and w.error is None and w.port == shared for w in workers)
        owns = [w.advertised_port for w in workers]
        assert None not in owns and len({shared, *owns}) == 3
        for port in [*owns, shared]:
            source = f"rtsp://{user}:{password}@127.0.0.1:{port}/cameras/1"
            assert await count_frames(source, "tcp", 2.0) >= 30
    finally:
        for worker in workers:
            await worker.close()
