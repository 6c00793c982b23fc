"""The RTSP server's ONVIF backchannel and fault knobs, driven by a minimal test client."""

from __future__ import annotations

import asyncio
import re
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from simulator import (
    BACKCHANNEL_OPTION,
    ClipLibrary,
    SimulatedCamera,
    default_camera_config,
    ulaw_encode,
)
from tests.simulator.rtsp_peer import RtspPeer

REQUIRE = {"Require": BACKCHANNEL_OPTION}


@pytest.fixture
async def peer(camera: SimulatedCamera) -> AsyncIterator[RtspPeer]:
    client = RtspPeer(camera.rtsp_url(), camera.config.username, camera.config.password)
    await client.connect()
    yield client
    await client.close()


async def _play_all(peer: RtspPeer, backchannel: bool = True) -> None:
    headers = REQUIRE if backchannel else {}
    described = await peer.request("DESCRIBE", headers={"Accept": "application/sdp", **headers})
    assert described.status == 200
    base = described.header("Content-Base")
    tracks = [(0, 0), (1, 2)] + ([(2, 4)] if backchannel else [])
    for track, channel in tracks:
        setup = await peer.request(
            "SETUP",
            f"{base}trackID={track}",
            {"Transport": f"RTP/AVP/TCP;unicast;interleaved={channel}-{channel + 1}", **headers},
        )
        assert setup.status == 200, setup
    assert (await peer.request("PLAY", headers={"Range": "npt=0.000-", **headers})).status == 200


def _ssrc(packet: bytes) -> int:
    return int(struct.unpack_from("!I", packet, 8)[0])


def _tone_packets(frequency: float, seconds: float, ssrc: int = 0x1234ABCD) -> list[bytes]:
    t = np.arange(int(8000 * seconds)) / 8000
    payload = ulaw_encode((np.sin(2 * np.pi * frequency * t) * 8000).astype(np.int16))
    packets = []
    for n in range(len(payload) // 160):
        header = struct.pack(
            "!BBHII", 0x80, 0x80 if n == 0 else 0, (1000 + n) & 0xFFFF, 5000 + 160 * n, ssrc
        )
        packets.append(header + payload[160 * n : 160 * (n + 1)])
    return packets


async def test_describe_with_require_offers_a_sendonly_pcmu_pcma_track(peer: RtspPeer) -> None:
    plain = (await peer.request("DESCRIBE")).body.decode()
    assert plain.count("m=") == 2 and "sendonly" not in plain
    fmtp = re.search(r"a=fmtp:96 (.*)", plain)
    assert fmtp is not None
    assert "packetization-mode=1" in fmtp.group(1)
    assert re.search(r"profile-level-id=42[ce]0[0-9a-f]{2}", fmtp.group(1))
    assert "sprop-parameter-sets=Z" in fmtp.group(1)  # base64 of an SPS (0x67) starts with Z
    assert "m=audio 0 RTP/AVP 0" in plain and "PCMU/8000" in plain

    sdp = (await peer.request("DESCRIBE", headers=REQUIRE)).body.decode()
    sections = sdp.split("m=")[1:]
    assert len(sections) == 3
    back = sections[2]
    assert back.startswith("audio 0 RTP/AVP 0 8")
    assert "a=sendonly" in back and "PCMU/8000" in back and "PCMA/8000" in back


async def test_backchannel_tone_reaches_the_speaker(
    camera: SimulatedCamera, peer: RtspPeer
) -> None:
    await _play_all(peer)
    for packet in _tone_packets(1000.0, 1.0):
        peer.send_interleaved(4, packet)
        await asyncio.sleep(0.02)
    await peer.request("GET_PARAMETER")  # a round trip: every packet sent before it is in
    sink = camera.sink
    assert sink.packets == 50 and sink.lost == 0
    assert sink.payload_types == {0}
    assert abs(sink.duration - 1.0) < 1e-9
    frequency = sink.dominant_frequency()
    assert frequency is not None and abs(frequency - 1000.0) <= 20.0  # ±2 %
    # A sine of amplitude 8000: -12.2 dBFS peak, 3 dB less RMS; G.711 keeps it within 0.5 dB.
    assert -15.8 < sink.rms_dbfs() < -14.8
    assert set(sink.timestamp_steps()) == {160}
    assert 0.015 < float(np.median(sink.packet_intervals())) < 0.03

    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{camera.http_base}/sim/backchannel") as response,
    ):
        summary = await response.json()
    assert summary["packets"] == 50 and summary["timestamp_step"] == 160
    assert abs(summary["dominant_frequency"] - 1000) <= 20


async def test_backchannel_audio_before_play_is_counted_not_played(
    camera: SimulatedCamera, peer: RtspPeer
) -> None:
    base = (await peer.request("DESCRIBE", headers=REQUIRE)).header("Content-Base")
    transport = {"Transport": "RTP/AVP/TCP;unicast;interleaved=4-5", **REQUIRE}
    assert (await peer.request("SETUP", f"{base}trackID=2", transport)).status == 200
    for packet in _tone_packets(1000.0, 0.1):
        peer.send_interleaved(4, packet)
    await peer.request("GET_PARAMETER")
    assert camera.sink.before_play == 5 and camera.sink.packets == 0


async def test_second_talker_is_refused_while_the_speaker_is_held(
    camera: SimulatedCamera, peer: RtspPeer
) -> None:
    await _play_all(peer)
    other = RtspPeer(camera.rtsp_url(), camera.config.username, camera.config.password)
    await other.connect()
    try:
        base = (await other.request("DESCRIBE", headers=REQUIRE)).header("Content-Base")
        transport = {"Transport": "RTP/AVP/TCP;unicast;interleaved=4-5", **REQUIRE}
        assert (await other.request("SETUP", f"{base}trackID=2", transport)).status == 503
    finally:
        await other.close()
    await peer.request("TEARDOWN")
    again = RtspPeer(camera.rtsp_url(), camera.config.username, camera.config.password)
    await again.connect()
    try:
        base = (await again.request("DESCRIBE", headers=REQUIRE)).header("Content-Base")
        transport = {"Transport": "RTP/AVP/TCP;unicast;interleaved=4-5", **REQUIRE}
        assert (await again.request("SETUP", f"{base}trackID=2", transport)).status == 200
    finally:
        await again.close()


async def test_camera_media_arrives_on_the_interleaved_channels(peer: RtspPeer) -> None:
    await _play_all(peer, backchannel=False)
    video = await peer.next_frame(0)
    audio = await peer.next_frame(2)
    assert video[1] & 0x7F == 96 and audio[1] & 0x7F == 0
    assert len(audio) == 12 + 160


async def test_no_backchannel_knob_answers_551(camera: SimulatedCamera, peer: RtspPeer) -> None:
    camera.apply_faults({"no_backchannel": True})
    response = await peer.request("DESCRIBE", headers=REQUIRE)
    assert response.status == 551
    assert response.header("Unsupported") == BACKCHANNEL_OPTION
    assert (await peer.request("DESCRIBE")).status == 200  # the listen-only retry works


async def test_unknown_require_option_answers_551(peer: RtspPeer) -> None:
    response = await peer.request("DESCRIBE", headers={"Require": "com.example.unknown"})
    assert response.status == 551


async def test_basic_auth_and_refuse_auth_knob(camera: SimulatedCamera) -> None:
    peer = RtspPeer(
        camera.rtsp_url(), camera.config.username, camera.config.password, use_basic=True
    )
    await peer.connect()
    try:
        assert (await peer.request("DESCRIBE")).status == 200
        camera.apply_faults({"refuse_auth": True})
        refused = await peer.request("DESCRIBE")
        assert refused.status == 401
        assert any(v.startswith("Digest") for v in refused.headers["www-authenticate"])
    finally:
        await peer.close()


async def test_wrong_digest_password_is_refused(camera: SimulatedCamera) -> None:
    peer = RtspPeer(camera.rtsp_url(), camera.config.username, "not-the-password")
    await peer.connect()
    try:
        assert (await peer.request("DESCRIBE")).status == 401
    finally:
        await peer.close()


async def test_udp_transport_is_refused(peer: RtspPeer) -> None:
    base = (await peer.request("DESCRIBE")).header("Content-Base")
    setup = await peer.request(
        "SETUP", f"{base}trackID=0", {"Transport": "RTP/AVP;unicast;client_port=5000-5001"}
    )
    assert setup.status == 461


async def test_reboot_brings_new_ssrc_and_sequence(camera: SimulatedCamera) -> None:
    first = RtspPeer(camera.rtsp_url(), camera.config.username, camera.config.password)
    await first.connect()
    await _play_all(first, backchannel=False)
    before = await first.next_frame(0)
    second = RtspPeer(camera.rtsp_url(), camera.config.username, camera.config.password)
    await second.connect()
    await _play_all(second, backchannel=False)
    assert _ssrc(await second.next_frame(0)) == _ssrc(before)  # one RTP stream per boot
    await second.close()

    reboot = camera.reboot(0.3)
    with pytest.raises(ConnectionResetError):
        while True:
            await first.next_frame(0)
    await first.close()
    await reboot
    assert camera.online and camera.boot_count == 2

    after = RtspPeer(camera.rtsp_url(), camera.config.username, camera.config.password)
    await after.connect()
    try:
        await _play_all(after, backchannel=False)
        assert _ssrc(await after.next_frame(0)) != _ssrc(before)
    finally:
        await after.close()


async def test_reboot_through_the_control_endpoint(camera: SimulatedCamera) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(camera.control_url, json={"reboot": 0.5}) as response:
            assert response.status == 200
            assert (await response.json())["actions"] == ["reboot"]
        await asyncio.sleep(0.2)
        assert not camera.online
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.get(camera.control_url) as response:
                pass
        await asyncio.sleep(0.8)
        async with http.get(camera.control_url) as response:
            assert response.status == 200
    assert camera.boot_count == 2


async def test_drop_knob_resets_the_connection(camera: SimulatedCamera, peer: RtspPeer) -> None:
    await _play_all(peer, backchannel=False)
    await peer.next_frame(0)
    async with (
        aiohttp.ClientSession() as http,
        http.post(camera.control_url, json={"drop": True}) as response,
    ):
        assert response.status == 200
    with pytest.raises(ConnectionResetError):
        while True:
            await peer.next_frame(0)
    assert camera.online


async def test_stall_knob_stops_media_but_keeps_the_session(
    camera: SimulatedCamera, peer: RtspPeer
) -> None:
    await _play_all(peer, backchannel=False)
    await peer.next_frame(0)
    camera.apply_faults({"stall": True})
    await asyncio.sleep(0.1)
    while not peer.frames.empty():  # what was already in flight
        peer.frames.get_nowait()
    with pytest.raises(TimeoutError):
        await peer.next_frame(0, within=0.6)
    assert (await peer.request("GET_PARAMETER")).status == 200
    camera.apply_faults({"stall": False})
    await peer.next_frame(0, within=3)


async def test_unknown_fault_knob_is_a_400(camera: SimulatedCamera) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(camera.control_url, json={"explode": True}) as response,
    ):
        assert response.status == 400
        assert "explode" in await response.text()


async def test_session_times_out_without_keepalive(clip_cache: Path) -> None:
    config = default_camera_config(2, session_timeout=1)
    async with SimulatedCamera(config, clips=ClipLibrary(clip_cache)) as camera:
        peer = RtspPeer(camera.rtsp_url(), config.username, config.password)
        await peer.connect()
        try:
            await _play_all(peer, backchannel=False)
            await peer.next_frame(0)
            with pytest.raises(ConnectionResetError):
                while True:  # media keeps flowing until the silent client is timed out
                    await peer.next_frame(0, within=3)
        finally:
            await peer.close()
