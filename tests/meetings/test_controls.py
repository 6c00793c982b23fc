"""The chair's controls taking effect in what the sites see and hear, and attendance
from the same meeting (JSON, CSV, XLSX, the month)."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import aiohttp
import numpy as np
import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from tests.meetings.peers import MeetingPeer, colour_near, signed_in, tone_strength
from tests.meetings.test_room import SITES, room, running_meeting, wait_for
from web import MEETINGS


def whole_picture_is(image: np.ndarray[Any, Any], colour: tuple[int, int, int]) -> bool:
    h, w = image.shape[:2]
    points = [(h // 2, w // 2), (h // 6, w // 6), (h // 6, 5 * w // 6), (h // 2, w // 8)]
    return all(colour_near(image[y, x], colour) for y, x in points)


@pytest.mark.slow
async def test_chair_controls_take_effect_and_attendance_follows(
    meeting_client: TestClient,
) -> None:
    occurrence, chair, chair_h = await running_meeting(meeting_client)
    base = f"/api/meetings/occurrences/{occurrence}"
    sessions: list[tuple[aiohttp.ClientSession, dict[str, str]]] = [(chair, chair_h)]
    peers: list[MeetingPeer] = []
    try:
        for username, site, colour, tone in SITES:
            if username == "hpx.chair":
                session, headers = chair, chair_h
            else:
                session, headers = await signed_in(meeting_client, username)
                sessions.append((session, headers))
            peer = MeetingPeer(colour=colour, tone=tone)
            assert (await peer.join(session, headers, occurrence, site)).status == 201
            peers.append(peer)
        chair_peer, village_peer, police_peer = peers
        (_, (village, village_h), (police, police_h)) = sessions
        colours = {p.participant_id: c for p, (_, _, c, _) in zip(peers, SITES, strict=True)}

        async def flowing() -> bool:
            return all(p.pictures > 5 and len(p.audio) > 50 for p in peers)

        await wait_for(flowing, 40, "media to flow")

        async def control(body: dict[str, Any], status: int = 200) -> dict[str, Any]:
            async with chair.post(f"{base}/control", json=body, headers=chair_h) as r:
                assert r.status == status, await r.text()
                return dict(await r.json())

        async def settle() -> None:
            await asyncio.sleep(1.5)

        # mute: the village is no longer heard, and cannot unmute itself
        await control({"action": "mute", "participant": village_peer.participant_id})
        await settle()
        assert tone_strength(chair_peer.samples(1.0), 800.0) < 0.05
        assert tone_strength(chair_peer.samples(1.0), 1300.0) > 0.3
        own = f"{base}/participants/{village_peer.participant_id}"
        async with village.patch(own, json={"muted": False}, headers=village_h) as r:
            assert r.status == 403 and (await r.json())["error"] == "unmute_forbidden"
        async with village.post(
            f"{base}/control", json={"action": "unmute"}, headers=village_h
        ) as r:
            assert r.status == 403  # controls are the chair's
        await control({"action": "unmute", "participant": village_peer.participant_id})
        await settle()
        assert tone_strength(chair_peer.samples(1.0), 800.0) > 0.3
        # mute all: only the chair is heard (the police hears the chair's 500 Hz only)
        await control({"action": "mute_all"})
        await settle()
        heard = police_peer.samples(1.0)
        assert tone_strength(heard, 500.0) > 0.3 and tone_strength(heard, 800.0) < 0.05
        await control({"action": "unmute_all"})

        # spotlight: everyone sees the police station full screen
        await control({"action": "spotlight", "participant": police_peer.participant_id})
        await settle()
        for peer in peers:
            assert whole_picture_is(peer.image(), SITES[2][2])
        await control({"action": "spotlight"})  # cleared

        # roll call: the village full screen; it answers by speaking; recorded
        await control({"action": "rollcall", "participant": village_peer.participant_id})
        await settle()
        assert whole_picture_is(police_peer.image(), SITES[1][2])
        state = await room(chair, occurrence)
        assert state["rollcall"]["answered_at"] is not None
        await control({"action": "rollcall"})

        # tour: each site in turn, 3 s each
        await control({"action": "tour", "value": 3})
        seen = set()
        for _ in range(16):
            await asyncio.sleep(0.5)
            image = chair_peer.image()
            for pid, colour in colours.items():
                if whole_picture_is(image, colour):
                    seen.add(pid)
        assert len(seen) >= 2, seen
        await control({"action": "tour", "value": 0})
        await control({"action": "tour", "value": 1}, status=400)

        # layout: the speaker layout puts the one speaking (the chair, the rest muted) large
        await control({"action": "mute_all"})
        await control({"action": "layout", "value": "speaker"})
        await settle()
        state = await room(chair, occurrence)
        assert state["speaker"] == chair_peer.participant_id
        tiles = {p["id"]: p["tile"] for p in state["participants"]}
        big_id = max(tiles, key=lambda k: tiles[k]["width"] * tiles[k]["height"])
        big = tiles[big_id]
        image = police_peer.image()
        assert colour_near(
            image[big["y"] + big["height"] // 2, big["x"] + big["width"] // 2], colours[big_id]
        )
        assert big_id == chair_peer.participant_id and big["y"] == 0
        await control({"action": "layout", "value": "mosaic"}, status=400)
        await control({"action": "layout", "value": "grid"})
        await control({"action": "unmute_all"})

        # raised hands
        async with village.patch(own, json={"hand_raised": True}, headers=village_h) as r:
            state = await r.json()
        assert next(p for p in state["participants"] if p["id"] == village_peer.participant_id)[
            "hand_raised"
        ]
        state = await control({"action": "lower_hand", "participant": village_peer.participant_id})
        assert not any(p["hand_raised"] for p in state["participants"])

        # remove the police station; it rejoins (a second join, the leave kept)
        state = await control({"action": "remove", "participant": police_peer.participant_id})
        assert police_peer.participant_id not in {p["id"] for p in state["participants"]}
        await police_peer.close()
        peers.remove(police_peer)
        again = MeetingPeer(colour=SITES[2][2], tone=SITES[2][3])
        peers.append(again)
        assert (await again.join(police, police_h, occurrence, "派出所")).status == 201

        # lock: a new site is refused; admitted by name it may enter
        await control({"action": "lock"})
        county, county_h = await signed_in(meeting_client, "county.watch")
        sessions.append((county, county_h))
        late = MeetingPeer(receive=False)
        assert (await late.join(county, county_h, occurrence, "县综治中心")).status == 403
        await late.close()
        await control({"action": "admit", "value": "county.watch"})
        late = MeetingPeer(receive=False)
        peers.append(late)
        assert (await late.join(county, county_h, occurrence, "县综治中心")).status == 201

        async with chair.post(f"{base}/end", headers=chair_h) as r:
            assert r.status == 200
        for peer in peers:
            await peer.close()
        async with chair.get(f"{base}/attendance") as r:
            report = await r.json()
        sites = {e["site"]: e for e in report["entries"]}
        assert sites["和平溪乡"]["status"] == "present"
        assert sites["楠木桥村"]["status"] == "present"
        assert sites["派出所"]["status"] == "present" and sites["派出所"]["joins"] == 2
        assert sites["和平溪村"]["status"] == "absent" and sites["人民法庭"]["status"] == "absent"
        assert not sites["县综治中心"]["required"]
        (call,) = report["roll_calls"]
        assert call["site"] == "楠木桥村" and call["answered_at"] is not None
        async with chair.get(f"{base}/attendance.csv") as r:
            assert r.status == 200 and r.content_type == "text/csv"
            text = (await r.read()).decode("utf-8-sig")
        assert "缺席" in text and "派出所" in text
        async with chair.get(f"{base}/attendance.xlsx?lang=en") as r:
            book = load_workbook(io.BytesIO(await r.read()))
        values = [v for row in book.active.iter_rows(values_only=True) for v in row if v]
        assert "Meeting attendance" in values and "absent" in values
        month = occurrence.split("-")[1]
        async with chair.get(
            f"/api/meetings/attendance/monthly?unit=431226203000&month={month[:4]}-{month[4:6]}"
        ) as r:
            summary = await r.json()
        (held,) = [m for m in summary["meetings"] if m["id"] == occurrence]
        assert held["state"] == "ended" and held["present"] == 3 and held["answered"] == 1
        assert summary["sites"]["派出所"]["present"] == 1
        # the event log kept the removal and the rejoin
        events = await meeting_client.app[MEETINGS].events(occurrence)
        reasons = [
            e.detail.get("reason") for e in events if e.kind == "leave" and e.site == "派出所"
        ]
        assert "removed by the chair" in reasons
    finally:
        for peer in peers:
            await peer.close()
        for session, _ in sessions:
            await session.close()
