"""Voice broadcast from the simulated platform: Broadcast notify → OK → the gateway's
INVITE for the audio → a tone heard at the simulated camera's speaker; the platform's
BYE gives the floor back; a busy floor answers ERROR; a chair's takeover hangs up."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from core import AuditEntry, Role
from sessions import CameraRef
from simulator import SimulatedCamera, SimulatedPlatform
from tests.camera_registry.registry_helpers import wait_until
from tests.sessions.fixtures import CHAIR, principal
from tests.sessions.peers import TalkerPeer
from web import DB, LIVE, UPLINK

from .gateway_helpers import add_platform, live_camera

pytestmark = pytest.mark.slow


def speaker(gb_id: str) -> str:
    return f"{gb_id[:10]}137{gb_id[13:]}"


@pytest.fixture
async def platform() -> AsyncIterator[SimulatedPlatform]:
    async with SimulatedPlatform(
        server_id="43122600002000000001", password="Xl-pw-2026"
    ) as running:
        yield running


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_broadcast_tone_reaches_the_room(
    client: TestClient, camera: SimulatedCamera, platform: SimulatedPlatform, transport: str
) -> None:
    headers, live = await live_camera(client, camera)
    pid = await add_platform(client, headers, platform, transport=transport)
    device = await platform.wait_registered(client.app[UPLINK].device_id, within=30)
    camera.sink.clear()
    platform.broadcast_seconds = 2.5
    result, audio = await platform.broadcast(device, speaker(live["gb_id"]))
    assert result == "OK" and audio is not None
    subject = audio.invite.get("Subject") or ""
    assert subject.startswith(f"{platform.server_id}:") and subject.endswith(
        f",{speaker(live['gb_id'])}:0"
    )
    assert b"m=audio" in audio.invite.body and b"a=recvonly" in audio.invite.body
    holder = client.app[LIVE].floor(live["id"])
    assert holder is not None and "县雪亮平台" in holder.name
    (session,) = await wait_until(lambda: client.app[UPLINK].sessions(pid), within=10)
    assert session["kind"] == "broadcast"
    await wait_until(lambda: camera.sink.duration > 1.5, within=15, what="audio at the speaker")
    frequency = camera.sink.dominant_frequency()
    assert frequency is not None and abs(frequency - 1000) <= 20
    assert (await audio.bye()).status == 200
    await wait_until(lambda: client.app[LIVE].floor(live["id"]) is None, within=10)

    async def talk_rows() -> list[AuditEntry]:
        async with client.app[DB].read() as db_session:
            found = await db_session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.like("live.talk.%"))
                .order_by(AuditEntry.seq)
            )
            return list(found)

    # the end is audited just after the floor is given back
    async def both() -> bool:
        return len(await talk_rows()) == 2

    await wait_until(both, within=10, what="the end audited")
    rows = await talk_rows()
    assert [(r.action, r.actor) for r in rows] == [
        ("live.talk.start", "platform:县雪亮平台"),
        ("live.talk.stop", "platform:县雪亮平台"),
    ]
    assert json.loads(rows[1].detail)["reason"] == "the platform hung up (BYE)"


async def test_busy_floor_answers_error_and_a_chair_takes_over(
    client: TestClient, camera: SimulatedCamera, platform: SimulatedPlatform
) -> None:
    headers, live = await live_camera(client, camera)
    await add_platform(client, headers, platform)
    device = await platform.wait_registered(client.app[UPLINK].device_id, within=30)
    sessions = client.app[LIVE]
    ref = CameraRef(live["id"], "431226203000")
    talker = TalkerPeer()
    chair = TalkerPeer()
    try:
        watch = principal("hpx.watch", "431226203000", Role.OPERATOR, 7)
        held = await talker.connect(lambda sdp: sessions.open_talk(watch, ref, sdp))
        result, audio = await platform.broadcast(device, speaker(live["gb_id"]))
        assert result == "ERROR" and audio is None  # somebody talks: the floor is busy
        await sessions.hang_up(watch, held.session_id, kind="talk")
        platform.broadcast_seconds = 30.0
        result, audio = await platform.broadcast(device, speaker(live["gb_id"]))
        assert result == "OK" and audio is not None
        await chair.connect(lambda sdp: sessions.open_talk(CHAIR, ref, sdp, takeover=True))
        # the chair took the floor: the gateway hangs the broadcast up
        await platform.wait_for(lambda: audio.ended_by_device, 15)
        holder = sessions.floor(live["id"])
        assert holder is not None and holder.name == "hpx.chair"
    finally:
        await talker.close()
        await chair.close()
