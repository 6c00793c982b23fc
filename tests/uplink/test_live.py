"""Live view for a platform over UDP, TCP where the platform listens and TCP where the
gateway listens: the answer SDP, the RTP (PT 96, y= SSRC, sequence, marker, one
timestamp per frame), every frame decoded by FFmpeg's MPEG-PS demuxer; BYE, no
ACK and a dropped media connection end the session (BYE from the gateway); 404 and 480 answers; two sessions
share the camera's hub."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from core import AuditEntry
from simulator import SimulatedCamera, SimulatedPlatform, rtp_header
from tests.camera_registry.registry_helpers import wait_until
from web import CAMERAS, DB, UPLINK

from .gateway_helpers import add_platform, live_camera

pytestmark = pytest.mark.slow


@pytest.fixture
async def platform() -> AsyncIterator[SimulatedPlatform]:
    async with SimulatedPlatform(
        server_id="43122600002000000001", password="Xl-pw-2026"
    ) as running:
        yield running


def check_rtp(packets: list[bytes], ssrc: int) -> tuple[bytes, int]:
    """Assert the RTP rules; the PS byte stream and how many video frames it carries."""
    headers = [rtp_header(p) for p in packets]
    assert all(h.version == 2 and h.payload_type == 96 and h.ssrc == ssrc for h in headers)
    for a, b in itertools.pairwise(headers):
        assert (a.sequence + 1) & 0xFFFF == b.sequence, "sequence numbers are contiguous"
        if not a.marker:
            assert a.timestamp == b.timestamp, "one timestamp for every packet of a frame"
    frames, current = [], b""
    for h in headers:
        current += h.payload
        if h.marker:
            frames.append(current)
            current = b""
    assert all(f.startswith(b"\x00\x00\x01\xba") for f in frames), "a pack header per frame"
    video = sum(1 for f in frames if b"\x00\x00\x01\xe0" in f)
    assert frames[0].find(b"\x00\x00\x01\xbc") > 0, "the first frame carries the PSM"
    return b"".join(frames), video


async def audited_both(read: Any) -> list[AuditEntry] | None:
    entries = await read()
    return entries if len(entries) >= 2 else None


def decode(ps: bytes) -> tuple[str, int]:
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-f", "mpeg", "-i", "pipe:0", "-select_streams", "v:0",
         "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0"],
        input=ps, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    count = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "mpeg", "-i", "pipe:0", "-map", "0:v",
         "-f", "null", "-", "-progress", "pipe:1", "-nostats"],
        input=ps, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    frames = [
        int(line.split("=")[1])
        for line in count.stdout.decode().splitlines()
        if line.startswith("frame=")
    ]
    return probe.stdout.decode().strip(), frames[-1]


@pytest.mark.parametrize("mode", ["udp", "tcp-passive", "tcp-active"])
async def test_live_session_every_frame_decodes(
    client: TestClient, camera: SimulatedCamera, platform: SimulatedPlatform, mode: str
) -> None:
    headers, live = await live_camera(client, camera)
    pid = await add_platform(client, headers, platform)
    device = await platform.wait_registered(client.app[UPLINK].device_id, within=30)
    call = await platform.invite(device, live["gb_id"], mode=mode)
    assert call.answer.status == 200, call.answer.first
    sdp = call.sdp
    assert sdp["y"] == "0200009319" and "f" in sdp and sdp["s"] == "Play"
    lines = call.answer.body.decode().strip().splitlines()
    assert lines[-2].startswith("y=") and lines[-1].startswith("f="), "y= and f= come last"
    if mode != "udp":
        assert "TCP/RTP/AVP 96" in sdp["m"]
        setup = "a=setup:active" if mode == "tcp-passive" else "a=setup:passive"
        assert setup in call.answer.body.decode()
    await call.receiver.wait_packets(150, within=30)

    async def watching() -> list[dict[str, object]]:
        state = await (await client.get(f"/api/uplink/platforms/{pid}")).json()
        return list(state["sessions"])

    (session,) = await wait_until(watching, within=10, what="the session listed")
    assert session["camera_id"] == live["id"] and session["channel_id"] == live["gb_id"]

    async def frames_sent() -> bool:
        sessions = await watching()
        return bool(sessions) and int(str(sessions[0]["frames"])) >= 40

    await wait_until(frames_sent, within=30, what="40 frames sent")

    assert (await call.bye()).status == 200
    await wait_until(lambda: not client.app[UPLINK].sessions(pid), within=10, what="ended")
    received = len(call.receiver.packets)
    await asyncio.sleep(0.5)
    assert len(call.receiver.packets) <= received + 5, "media stops after BYE"

    async def audited() -> list[AuditEntry]:
        async with client.app[DB].read() as session:
            rows = await session.scalars(
                select(AuditEntry).where(AuditEntry.action.startswith("uplink.live"))
            )
            return list(rows)

    entries = await wait_until(lambda: audited_both(audited), within=10, what="the session audited")
    assert {e.action for e in entries} == {"uplink.live.start", "uplink.live.end"}
    assert all(e.actor == f"platform:{platform.server_id}" for e in entries)
    assert all(e.object_id == str(live["id"]) for e in entries)
    assert "hung up" in next(e.detail for e in entries if e.action == "uplink.live.end")

    ps, video_frames = check_rtp(call.receiver.packets, 200009319)
    description, decoded = await asyncio.to_thread(decode, ps)
    assert description.startswith("h264,") and video_frames > 20
    assert decoded == video_frames, f"{decoded} of {video_frames} frames decoded"
    await call.receiver.close()


async def test_refusals_shared_hub_ack_timeout_and_media_drop(
    client: TestClient, camera: SimulatedCamera, platform: SimulatedPlatform
) -> None:
    headers, live = await live_camera(client, camera)
    await add_platform(client, headers, platform)
    device = await platform.wait_registered(client.app[UPLINK].device_id, within=30)
    uplink = client.app[UPLINK]

    unknown = await platform.invite(device, "43122620001329999999")
    assert unknown.answer.status == 404
    refused = await platform.invite(device, live["gb_id"], session="Talkback")
    assert refused.answer.status == 488

    # CANCEL before the answer: 200 to the CANCEL, 487 to the INVITE, nothing left behind
    final, cancelled = await platform.invite_then_cancel(device, live["gb_id"])
    assert cancelled.status == 200 and final.status == 487, (cancelled.first, final.first)
    assert not uplink.sessions(1)

    # two platforms' sessions at once share the camera's one hub
    hub_before = client.app[CAMERAS].state(live["id"]).stats.subscribers
    first = await platform.invite(device, live["gb_id"], mode="tcp-passive", ssrc="0200000001")
    second = await platform.invite(device, live["gb_id"], mode="udp", ssrc="0200000002")
    await first.receiver.wait_packets(50)
    await second.receiver.wait_packets(50)
    stats = client.app[CAMERAS].state(live["id"]).stats
    assert stats.subscribers == hub_before + 2
    assert client.app[CAMERAS].state(live["id"]).ingest.reconnects == 0

    # the sub stream (a=stream:1): the camera's 640x360 stream, started on demand
    sub = await platform.invite(device, live["gb_id"], mode="udp", ssrc="0200000003", stream=1)
    assert sub.answer.status == 200
    await sub.receiver.wait_packets(60, within=30)
    assert "sub" in {s["stream"] for s in uplink.sessions(1)}
    assert (await sub.bye()).status == 200
    sub_ps, _ = check_rtp(sub.receiver.packets, 200000003)
    sub_description, _ = await asyncio.to_thread(decode, sub_ps)
    assert sub_description.startswith("h264,640,360"), sub_description
    await sub.receiver.close()

    # the platform closes its media connection: the gateway ends the session with a BYE
    first.receiver.drop()
    await platform.wait_for(lambda: platform.call_ended(first.call_id), 15)
    assert (await second.bye()).status == 200

    # no ACK: the session gives up and says BYE
    silent = await platform.invite(device, live["gb_id"], mode="udp", ack=False)
    assert silent.answer.status == 200
    await platform.wait_for(lambda: platform.call_ended(silent.call_id), 45)
    await silent.receiver.close()

    # an offline camera: 480
    response = await client.patch(
        f"/api/cameras/{live['id']}", json={"enabled": False}, headers=headers
    )
    assert response.status == 200
    offline = await platform.invite(device, live["gb_id"])
    assert offline.answer.status == 480
    await wait_until(lambda: not uplink.sessions(1), within=10, what="no sessions left")
    for call in (first, second):
        await call.receiver.close()
