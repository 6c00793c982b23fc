"""The MCU room with real aiortc participants: one composite encoded once for everyone,
a mix in which nobody hears themselves, listeners, bad offers, a locked room."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from tests.meetings.conftest import next_friday
from tests.meetings.peers import MeetingPeer, colour_near, signed_in, tone_strength
from web import MEETINGS, ROOMS

TOWNSHIP = "431226203000"


async def running_meeting(client: TestClient) -> tuple[str, aiohttp.ClientSession, dict[str, str]]:
    """The next Friday's township meeting, started by its chair; the chair's session."""
    chair, headers = await signed_in(client, "hpx.chair")
    async with chair.post(
        "/api/meetings",
        json={"unit": TOWNSHIP, "title": "和平溪乡周五联席例会", "kind": "township_weekly"},
        headers=headers,
    ) as response:
        assert response.status == 201, await response.text()
        series = await response.json()
    occurrence = f"{series['id']}-{next_friday():%Y%m%d}"
    async with chair.post(f"/api/meetings/occurrences/{occurrence}/start", headers=headers) as r:
        assert r.status == 200, await r.text()
    return occurrence, chair, headers


async def room(session: aiohttp.ClientSession, occurrence: str) -> dict[str, Any]:
    async with session.get(f"/api/meetings/occurrences/{occurrence}/room") as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def wait_for(predicate: Any, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not await predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


SITES = [
    ("hpx.chair", "和平溪乡", (0, 0, 230), 500.0),
    ("nmq.watch", "楠木桥村", (0, 220, 0), 800.0),
    ("hpx.watch", "派出所", (230, 0, 0), 1300.0),
]


@pytest.mark.slow
async def test_each_site_sees_the_others_tiles_and_hears_the_others_not_itself(
    meeting_client: TestClient,
) -> None:
    occurrence, chair, chair_headers = await running_meeting(meeting_client)
    sessions: list[aiohttp.ClientSession] = [chair]
    csrf: list[dict[str, str]] = []
    peers: list[MeetingPeer] = []
    try:
        for username, site, colour, tone in SITES:
            session, headers = (
                (chair, chair_headers)
                if username == "hpx.chair"
                else await signed_in(meeting_client, username)
            )
            if session is not chair:
                sessions.append(session)
            csrf.append(headers)
            peer = MeetingPeer(colour=colour, tone=tone)
            response = await peer.join(session, headers, occurrence, site)
            assert response.status == 201, await response.text()
            assert response.headers["Location"].startswith(
                f"/api/meetings/occurrences/{occurrence}/"
            )
            peers.append(peer)
        # a listener: receives only (the county watches the township's meeting)
        county, county_headers = await signed_in(meeting_client, "county.watch")
        sessions.append(county)
        listener = MeetingPeer()
        response = await listener.join(county, county_headers, occurrence, "县综治中心")
        assert response.status == 201, await response.text()
        everyone = [*peers, listener]

        async def flowing() -> bool:
            state = await room(chair, occurrence)
            senders = [p for p in state["participants"] if p["sends_video"]]
            return (
                len(state["participants"]) == 4
                and len(senders) == 3
                and all(p.pictures > 5 and len(p.audio) > 50 for p in everyone)
            )

        await wait_for(flowing, 40, "media to flow both ways")
        await asyncio.sleep(2.5)  # pictures of every site in every tile, a steady mix
        state = await room(chair, occurrence)
        tiles = {p["id"]: p["tile"] for p in state["participants"]}
        assert state["width"] == 640 and state["height"] == 360

        for peer in everyone:
            image = peer.image()
            assert image.shape[:2] == (360, 640)  # the composite, not a site's own picture
            for other, (_, site, colour, _) in zip(peers, SITES, strict=True):
                tile = tiles[other.participant_id]
                x, y = tile["x"] + tile["width"] // 2, tile["y"] + tile["height"] // 3
                assert colour_near(image[y, x], colour), (site, image[y, x].tolist(), colour)
            listener_tile = tiles[listener.participant_id]
            x = listener_tile["x"] + listener_tile["width"] // 2
            y = listener_tile["y"] + listener_tile["height"] // 3
            assert not any(colour_near(image[y, x], c) for _, _, c, _ in SITES)  # no video: empty

        for peer, (_, site, _, own) in zip(peers, SITES, strict=True):
            heard = peer.samples(1.5)
            others = [t for _, _, _, t in SITES if t != own]
            for tone in others:
                assert tone_strength(heard, tone) > 0.3, (site, tone)
            assert tone_strength(heard, own) < 0.05, (site, "hears itself")
        heard = listener.samples(1.5)
        for _, _, _, tone in SITES:
            assert tone_strength(heard, tone) > 0.3, ("listener", tone)

        # one Opus encode per speaker plus one shared mix for the silent listener
        before = state["stats"]
        await asyncio.sleep(1.0)
        after = (await room(chair, occurrence))["stats"]
        ticks = after["audio_ticks"] - before["audio_ticks"]
        encodes = after["opus_encodes"] - before["opus_encodes"]
        assert ticks > 20 and encodes <= 4 * ticks + 4
        # the picture is encoded once per tick, whatever the number of receivers
        assert after["pictures"] > before["pictures"]

        # two sites hang up; the chair's console shows them gone
        for peer, session, headers in zip(peers[1:], sessions[1:3], csrf[1:], strict=True):
            assert peer.location is not None
            async with session.delete(peer.location, headers=headers) as r:
                assert r.status == 204
            async with session.delete(peer.location, headers=headers) as r:
                assert r.status == 404  # gone already
        assert len((await room(chair, occurrence))["participants"]) == 2
    finally:
        for peer in peers:
            await peer.close()
        if "listener" in locals():
            await listener.close()
        for session in sessions:
            await session.close()
    service = meeting_client.app[MEETINGS]
    events = await service.events(occurrence)
    joins = [e for e in events if e.kind == "join"]
    assert sorted(e.site for e in joins) == sorted(["和平溪乡", "楠木桥村", "派出所", "县综治中心"])
    leaves = {e.site: e.detail["reason"] for e in events if e.kind == "leave"}
    assert leaves["楠木桥村"] == "left" and leaves["派出所"] == "left"


async def test_bad_offers_scope_state_and_lock(meeting_client: TestClient) -> None:
    chair, headers = await signed_in(meeting_client, "hpx.chair")
    try:
        async with chair.post(
            "/api/meetings",
            json={"unit": TOWNSHIP, "title": "例会", "kind": "township_weekly"},
            headers=headers,
        ) as response:
            series = await response.json()
        occurrence = f"{series['id']}-{next_friday():%Y%m%d}"
        sdp = {**headers, "Content-Type": "application/sdp"}
        url = f"/api/meetings/occurrences/{occurrence}/join"
        peer = MeetingPeer(colour=(0, 0, 200), tone=600.0, receive=False)
        offer = await peer.offer()
        await peer.close()
        async with chair.post(url, data=offer, headers=sdp) as response:
            assert response.status == 409  # not started yet
            assert "not been started" in (await response.json())["message"]
        async with chair.post(f"/api/meetings/occurrences/{occurrence}/start", headers=headers):
            pass
        async with chair.post(url, data="hello, this is not SDP", headers=sdp) as response:
            assert response.status == 400
        no_media = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
        async with chair.post(url, data=no_media, headers=sdp) as response:
            assert response.status == 400
            assert "no audio or video" in (await response.json())["message"]
        async with chair.post(url, data=offer, headers=headers) as response:
            assert response.status == 400  # not application/sdp

        other, other_headers = await signed_in(meeting_client, "gc.admin")  # another township
        try:
            async with other.post(
                url, data=offer, headers={**other_headers, "Content-Type": "application/sdp"}
            ) as response:
                assert response.status == 404
        finally:
            await other.close()

        # the chair joins (as a listener), locks the room; a village is refused with the reason
        listener = MeetingPeer(receive=False)
        response = await listener.join(chair, headers, occurrence, "主会场")
        assert response.status == 201, await response.text()
        village, village_headers = await signed_in(meeting_client, "nmq.watch")
        try:
            control = f"/api/meetings/occurrences/{occurrence}/control"
            async with village.post(control, json={"action": "lock"}, headers=village_headers) as r:
                assert r.status == 403
            async with chair.post(control, json={"action": "lock"}, headers=headers) as r:
                assert r.status == 200 and (await r.json())["locked"] is True
            async with chair.post(control, json={"action": "dance"}, headers=headers) as r:
                assert r.status == 400
            late = MeetingPeer(receive=False)
            response = await late.join(village, village_headers, occurrence, "楠木桥村")
            assert response.status == 403
            body = await response.json()
            assert body["error"] == "room_locked" and "locked" in body["message"]
            await late.close()
            async with chair.post(control, json={"action": "unlock"}, headers=headers) as r:
                assert r.status == 200
            late = MeetingPeer(receive=False)
            response = await late.join(village, village_headers, occurrence, "楠木桥村")
            assert response.status == 201
            await late.close()
        finally:
            await village.close()
        async with chair.post(f"/api/meetings/occurrences/{occurrence}/end", headers=headers) as r:
            assert r.status == 200
        await listener.close()
        assert meeting_client.app[ROOMS].room(occurrence) is None  # the room closed with it
        events = await meeting_client.app[MEETINGS].events(occurrence)
        leaves = [e for e in events if e.kind == "leave"]
        assert len(leaves) == 2 and all(e.detail["reason"] for e in leaves)
    finally:
        await chair.close()


@pytest.mark.slow
async def test_a_participant_that_vanishes_is_dropped_within_10_s_and_its_leave_recorded(
    meeting_client: TestClient,
) -> None:
    import json
    import signal
    import sys
    from pathlib import Path

    occurrence, chair, headers = await running_meeting(meeting_client)
    script = Path(__file__).with_name("vanishing_peer.py")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        offer = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
        async with chair.post(
            f"/api/meetings/occurrences/{occurrence}/join?site=路口村",
            data=offer,
            headers={**headers, "Content-Type": "application/sdp"},
        ) as response:
            assert response.status == 201, await response.text()
            answer = await response.text()
        process.stdin.write((json.dumps(answer) + "\n").encode())
        await process.stdin.drain()

        async def connected() -> bool:
            state = meeting_client.app[ROOMS].room(occurrence)
            return state is not None and any(
                p.pc is not None and p.pc.connectionState == "connected"
                for p in state.participants.values()
            )

        await wait_for(connected, 30, "the peer to connect")
        await asyncio.sleep(2.0)  # it stays while it answers (RTCP)
        assert len((await room(chair, occurrence))["participants"]) == 1
        process.send_signal(signal.SIGKILL)  # no BYE, no DTLS close: it just vanishes
        killed = time.monotonic()
        await process.wait()

        async def gone() -> bool:
            return not (await room(chair, occurrence))["participants"]

        await wait_for(gone, 15, "the vanished participant to be dropped")
        assert time.monotonic() - killed < 10.0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await chair.close()
    events = await meeting_client.app[MEETINGS].events(occurrence)
    (leave,) = [e for e in events if e.kind == "leave"]
    assert leave.site == "路口村" and "vanished" in str(leave.detail["reason"])
