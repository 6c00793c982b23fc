"""Voice broadcast audio: the platform's G.711 (raw RTP or PS, UDP or TCP) through the
talk floor to the simulated camera's speaker, where the tone is heard."""

from __future__ import annotations

import asyncio
import json
import socket

import numpy as np
import pytest
from sqlalchemy import select

from core import AuditEntry, Database, Principal, Role
from media import PsMuxer, PsPacketizer, alaw_encode, build_rtp, encode_rfc4571, ulaw_encode
from sessions import CameraRef, LiveSessions, TalkFloorBusyError
from simulator import SimulatedCamera
from tests.sessions.fixtures import CHAIR, VILLAGE, WATCH, camera, camera_ref, manager, service
from tests.sessions.peers import TalkerPeer, wait_for
from uplink._broadcast_audio import BroadcastDepacketizer, BroadcastReceiver

__all__ = ["camera", "camera_ref", "manager", "service"]

PLATFORM = Principal("system", 0, "uplink:xueliang-county", VILLAGE[:6] + "000000", Role.OPERATOR)


def tone(seconds: float, frequency: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * 8000)) / 8000
    return (np.sin(2 * np.pi * frequency * t) * 12000).astype(np.int16)


def raw_packets(pcm: np.ndarray, law: str = "PCMA") -> list[bytes]:
    data = alaw_encode(pcm) if law == "PCMA" else ulaw_encode(pcm)
    pt = 8 if law == "PCMA" else 0
    return [
        build_rtp(pt, (100 + i) & 0xFFFF, 1000 + i * 160, 0x1234, data[i * 160 : (i + 1) * 160])
        for i in range(len(data) // 160)
    ]


def ps_packets(pcm: np.ndarray) -> list[bytes]:
    muxer = PsMuxer(video=None, audio="PCMA")
    rtp = PsPacketizer(0x5678, sequence=7)
    data = alaw_encode(pcm)
    out: list[bytes] = []
    for i in range(len(data) // 160):
        pts = i * 160 * 90000 // 8000
        out += rtp.packetize(muxer.mux_audio(data[i * 160 : (i + 1) * 160], pts), pts)
    return out


def test_depacketizer_raw_ps_late_and_garbage() -> None:
    pcm = tone(0.2)
    raw = raw_packets(pcm)
    d = BroadcastDepacketizer()
    got = [piece for p in raw for piece in d.feed(p)]
    assert b"".join(g for g, _ in got) == alaw_encode(pcm) and {c for _, c in got} == {"PCMA"}
    assert d.feed(raw[3]) == [] and d.late == 1  # a duplicate is dropped
    assert d.feed(b"\x00not rtp") == [] and d.bad == 1
    ps = BroadcastDepacketizer()
    pieces = [piece for p in ps_packets(pcm) for piece in ps.feed(p)]
    assert b"".join(g for g, _ in pieces) == alaw_encode(pcm)
    assert {c for _, c in pieces} == {"PCMA"}
    mu = BroadcastDepacketizer()
    assert {c for p in raw_packets(pcm, "PCMU") for _, c in mu.feed(p)} == {"PCMU"}


async def _send_udp(port: int, packets: list[bytes]) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i, packet in enumerate(packets):
            sock.sendto(packet, ("127.0.0.1", port))
            await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - loop.time()))
    finally:
        sock.close()


async def _send_tcp(port: int, packets: list[bytes]) -> None:
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, packet in enumerate(packets):
        writer.write(encode_rfc4571(packet))
        await writer.drain()
        await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - loop.time()))
    writer.close()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["udp-raw", "tcp-ps"])
async def test_broadcast_tone_reaches_the_speaker_and_is_audited(
    how: str,
    service: LiveSessions,
    camera: SimulatedCamera,
    camera_ref: CameraRef,
    db: Database,
) -> None:
    camera.sink.clear()
    talk = await service.open_broadcast(PLATFORM, camera_ref, source="gb28181:test platform")
    assert service.floor(1) is not None and service.floor(1).name == "uplink:xueliang-county"  # type: ignore[union-attr]
    receiver = BroadcastReceiver(talk.feed)
    try:
        pcm = tone(2.5)
        if how == "udp-raw":
            port = await receiver.open_udp("127.0.0.1")
            await _send_udp(port, raw_packets(pcm))
        else:
            port = await receiver.listen_tcp("127.0.0.1")
            await _send_tcp(port, ps_packets(pcm))
        await wait_for(lambda: camera.sink.duration > 1.5, 10, "broadcast audio at the speaker")
        frequency = camera.sink.dominant_frequency()
        assert frequency is not None and abs(frequency - 1000) <= 20
        assert receiver.packets >= 100 and receiver.depacketizer.bad == 0
    finally:
        await receiver.close()
        await talk.end("BYE from the platform")
    assert service.floor(1) is None and not service.broadcasts()
    async with db.read() as session:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.like("live.talk.%"))
                .order_by(AuditEntry.seq)
            )
        ).all()
    assert [r.action for r in rows] == ["live.talk.start", "live.talk.stop"]
    assert {r.actor for r in rows} == {"system:uplink:xueliang-county"}
    assert json.loads(rows[0].detail)["source"] == "gb28181:test platform"
    assert json.loads(rows[1].detail)["reason"] == "BYE from the platform"


@pytest.mark.slow
async def test_busy_floor_refuses_a_broadcast_and_a_chair_takes_it_over(
    service: LiveSessions, camera_ref: CameraRef
) -> None:
    talker, chair = TalkerPeer(), TalkerPeer()
    try:
        held = await talker.connect(lambda sdp: service.open_talk(WATCH, camera_ref, sdp))
        with pytest.raises(TalkFloorBusyError) as busy:
            await service.open_broadcast(PLATFORM, camera_ref, source="gb28181:x")
        assert busy.value.holder == "hpx.watch"
        await service.hang_up(WATCH, held.session_id, kind="talk")
        assert service.floor(1) is None
        talk = await service.open_broadcast(PLATFORM, camera_ref, source="gb28181:x")
        await chair.connect(lambda sdp: service.open_talk(CHAIR, camera_ref, sdp, takeover=True))
        await asyncio.wait_for(talk.ended.wait(), 10)
        assert talk.reason == "taken over by hpx.chair"
        assert service.floor(1) is not None and service.floor(1).name == "hpx.chair"  # type: ignore[union-attr]
    finally:
        await talker.close()
        await chair.close()
