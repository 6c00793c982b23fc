"""Playback of a recording for a platform (s=Playback): the simulated platform invites a
recorded range, receives it as PS over RTP, seeks with MANSRTSP INFO, gets MediaStatus
121 at the end and hangs up; every frame decodes; the playback is audited."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from core import AuditEntry
from recordings import RecordingRow
from simulator import SimulatedCamera, SimulatedPlatform, rtp_header
from tests.camera_registry.registry_helpers import wait_until
from web import DB, UPLINK

from .gateway_helpers import add_platform, live_camera
from .test_live import check_rtp, decode

pytestmark = pytest.mark.slow


@pytest.fixture
async def platform() -> AsyncIterator[SimulatedPlatform]:
    async with SimulatedPlatform(
        server_id="43122600002000000001", password="Xl-pw-2026"
    ) as running:
        yield running


async def recorded(
    client: TestClient, headers: dict[str, str], camera_id: int, seconds: float
) -> RecordingRow:
    response = await client.post(
        f"/api/cameras/{camera_id}/recordings", json={"reason": "调解现场录像"}, headers=headers
    )
    assert response.status == 201, await response.text()
    rid = str((await response.json())["id"])
    await asyncio.sleep(seconds)
    response = await client.post(
        f"/api/recordings/{rid}/stop", json={"reason": "调解结束"}, headers=headers
    )
    assert response.status == 200, await response.text()

    async def indexed() -> RecordingRow | None:
        async with client.app[DB].read() as session:
            row = await session.get(RecordingRow, rid)
        return row if row is not None and row.media_end is not None and row.segment_count else None

    row = await wait_until(indexed, within=20, what="the recording indexed")
    assert row is not None
    return row


async def test_playback_of_a_recorded_range_with_a_seek(
    client: TestClient, camera: SimulatedCamera, platform: SimulatedPlatform
) -> None:
    headers, live = await live_camera(client, camera)
    row = await recorded(client, headers, live["id"], 9.0)
    assert row.media_start is not None and row.media_end is not None
    pid = await add_platform(client, headers, platform)
    device = await platform.wait_registered(client.app[UPLINK].device_id, within=30)
    start = int(row.media_start.timestamp()) + 1
    end = int(row.media_end.timestamp()) - 1
    assert end - start >= 6

    none = await platform.invite(device, live["gb_id"], session="Playback", ssrc="1200009001",
                                 times=(start - 86400, end - 86400))  # fmt: skip
    assert none.answer.status == 404  # nothing recorded then

    call = await platform.invite(device, live["gb_id"], session="Playback", ssrc="1200009002",
                                 times=(start, end))  # fmt: skip
    assert call.answer.status == 200, call.answer.first
    sdp = call.sdp
    assert sdp["s"] == "Playback" and sdp["t"] == f"{start} {end}" and sdp["y"] == "1200009002"
    await call.receiver.wait_packets(60, within=20)
    (session,) = await wait_until(lambda: client.app[UPLINK].sessions(pid), within=10)
    assert session["kind"] == "playback" and session["camera_id"] == live["id"]
    # seek to one second before the end: the rest of the range is skipped
    seek_from = len(call.receiver.packets)
    began = asyncio.get_running_loop().time()
    answer = await call.info(f"PLAY RTSP/1.0\nCSeq: 2\nRange: npt={end - start - 1}-\n")
    assert answer.status == 200
    bad = await call.info("PLAY RTSP/1.0\nCSeq: 3\nScale: 8.0\n")
    assert bad.status == 400  # 8× is beyond 0.5–4×; the playback goes on
    # the end of the range: MediaStatus 121 in the dialog, the platform hangs up (wvp)
    await platform.wait_for(lambda: bool(call.media_status()), 20)
    assert asyncio.get_running_loop().time() - began < 5.0, "the seek skipped the range"
    assert b"<NotifyType>121</NotifyType>" in call.media_status()[0].body
    await wait_until(lambda: not client.app[UPLINK].sessions(pid), within=15, what="ended")

    ps, video_frames = check_rtp(call.receiver.packets, 1200009002)
    description, decoded = await asyncio.to_thread(decode, ps)
    assert description.startswith("h264,") and video_frames > 25
    assert decoded == video_frames, f"{decoded} of {video_frames} frames decoded"
    # the seek shows as a jump of the RTP timestamps between two frames
    stamps = [rtp_header(p).timestamp for p in call.receiver.packets[seek_from:]]
    jumps = [b - a for a, b in itertools.pairwise(stamps)]
    assert max(jumps) > 90000 * 2
    await call.receiver.close()

    async with client.app[DB].read() as session:
        rows = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "recording.play"))
        ).all()
    assert [(r.actor, r.object_id) for r in rows] == [("platform:县雪亮平台", row.id)]
    assert json.loads(rows[0].detail)["source"] == "gb28181"


async def test_download_runs_faster_and_reports_its_size(
    client: TestClient, camera: SimulatedCamera, platform: SimulatedPlatform
) -> None:
    headers, live = await live_camera(client, camera)
    row = await recorded(client, headers, live["id"], 7.0)
    assert row.media_start is not None and row.media_end is not None
    await add_platform(client, headers, platform, transport="tcp")
    device = await platform.wait_registered(client.app[UPLINK].device_id, within=30)
    start = int(row.media_start.timestamp()) + 1
    end = int(row.media_end.timestamp()) - 1
    began = asyncio.get_running_loop().time()
    call = await platform.invite(device, live["gb_id"], session="Download", mode="tcp-passive",
                                 ssrc="1200009003", times=(start, end), download_speed=4)  # fmt: skip
    assert call.answer.status == 200, call.answer.first
    assert "a=filesize:" in call.answer.body.decode()
    await platform.wait_for(lambda: bool(call.media_status()), 20)
    assert asyncio.get_running_loop().time() - began < (end - start) / 2, "4× faster than real time"
    ps, video_frames = check_rtp(call.receiver.packets, 1200009003)
    _description, decoded = await asyncio.to_thread(decode, ps)
    assert decoded == video_frames and video_frames >= 25 * (end - start) * 0.8
    await call.receiver.close()
