"""The meeting is recorded through ``recordings``: the composite and the whole mix, in
signed, hash-chained segments that verify like a case recording, tied to the occurrence
by its events."""

from __future__ import annotations

import asyncio
import io

import av
import numpy as np
import pytest
from aiohttp.test_utils import TestClient

from tests.meetings.peers import MeetingPeer, colour_near, tone_strength
from tests.meetings.test_room import running_meeting, wait_for
from web import MEETINGS

pytestmark = pytest.mark.slow


async def test_the_composite_and_the_mix_are_recorded_and_verify(
    meeting_client: TestClient,
) -> None:
    occurrence, chair, headers = await running_meeting(meeting_client)
    base = f"/api/meetings/occurrences/{occurrence}"
    peer = MeetingPeer(colour=(0, 0, 230), tone=500.0)
    listener = MeetingPeer()
    try:
        assert (await peer.join(chair, headers, occurrence, "和平溪乡")).status == 201
        assert (await listener.join(chair, headers, occurrence, "值班室")).status == 201

        async def flowing() -> bool:
            return peer.pictures > 5 and len(listener.audio) > 100

        await wait_for(flowing, 40, "media to flow")
        await asyncio.sleep(3.0)
        async with chair.post(f"{base}/end", headers=headers) as r:
            assert r.status == 200
    finally:
        await peer.close()
        await listener.close()
    try:
        events = await meeting_client.app[MEETINGS].events(occurrence)
        states = [e.detail for e in events if e.kind == "recording"]
        assert [s["state"] for s in states] == ["started", "stopped"]
        rid = str(states[0]["recording"])
        async with chair.get(f"/api/recordings/{rid}") as r:
            assert r.status == 200, await r.text()  # the chair may see the meeting's record
            found = await r.json()
        assert found["unit_code"] == "431226203000" and found["state"] != "recording"
        assert "视频会议" in found["reason"]
        async with chair.get(f"/api/recordings/{rid}/verify") as r:
            report = await r.json()
        assert report["ok"] is True and report["segments"] >= 1, report
        async with chair.get(f"/api/recordings/{rid}/segments/0.mp4") as r:
            assert r.status == 200
            data = await r.read()
        # the attendance page lists it, with a link to the recording's player page
        async with chair.get(f"/meetings/{occurrence}/attendance") as r:
            page = await r.text()
        assert "会议录像" in page and f'href="/recordings/{rid}"' in page and "播放" in page
        async with chair.get(f"/meetings/{occurrence}/attendance?lang=en") as r:
            page = await r.text()
        assert "Meeting recordings" in page and ">Play</a>" in page
        async with chair.get(f"/recordings/{rid}") as r:
            assert r.status == 200 and f"/api/recordings/{rid}/" in await r.text()
    finally:
        await chair.close()
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", 640, 360)
        assert container.streams.audio, "the mix is recorded beside the picture"
        pictures = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(pictures) > 10
    # the grid of two: the site's red on the left, the listener's empty tile on the right
    last = pictures[-1]
    assert colour_near(last[180, 160], (0, 0, 230))
    assert not colour_near(last[180, 480], (0, 0, 230))
    with av.open(io.BytesIO(data)) as container:
        samples = np.concatenate(
            [f.to_ndarray().reshape(-1).astype(np.float64) for f in container.decode(audio=0)]
        )
        rate = container.streams.audio[0].rate
    # the whole mix: the site's 500 Hz tone (resampled to the FFT helper's 48 kHz view)
    wide = np.interp(np.arange(0, samples.size, rate / 48_000), np.arange(samples.size), samples)
    assert tone_strength(wide[-48_000 * 2 :], 500.0) > 0.3
