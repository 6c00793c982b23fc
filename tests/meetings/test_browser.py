"""A person at Chromium (fake camera and a 1000 Hz microphone) chairs a meeting with a
synthetic site: the device check sees the microphone, the browser decodes the composite,
the other site sees the browser's picture in its tile and hears its microphone, and the
console's spotlight button takes effect in the picture."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from core import Settings
from gateway import create_app
from gateway._demo import DEMO_PASSWORD
from tests.browser import ARTIFACTS, chromium
from tests.meetings.conftest import TEST_ROOM, next_friday
from tests.meetings.peers import MeetingPeer, colour_near, tone_strength
from web import ROOMS

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TOWNSHIP = "431226203000"
GREEN = (0, 220, 0)


@pytest.fixture(scope="module")
def tone_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "tone.wav"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1000:duration=60",
            "-ar",
            "48000",
            "-ac",
            "1",
            str(path),
        ],
        check=True,
    )
    return path


@pytest.fixture
async def server(app_settings: Settings) -> AsyncIterator[TestServer]:
    app = create_app(app_settings)
    app[ROOMS].settings = TEST_ROOM
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def until(page: Page, predicate: str, within: float = 15.0) -> None:
    """Poll a page predicate (the pages' CSP forbids Playwright's eval-based waits)."""
    deadline = asyncio.get_running_loop().time() + within
    while not await page.evaluate(predicate):
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {predicate}"
        await asyncio.sleep(0.2)


async def session_for(base: str, username: str) -> tuple[aiohttp.ClientSession, dict[str, str]]:
    session = aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post(
        "/api/session", json={"username": username, "password": DEMO_PASSWORD}
    ) as response:
        csrf = (await response.json())["csrf_token"]
    return session, {"X-CSRF-Token": csrf}


async def test_a_browser_chairs_a_meeting_with_a_synthetic_site(
    server: TestServer, tone_wav: Path
) -> None:
    base = str(server.make_url("")).rstrip("/")
    chair, chair_h = await session_for(base, "hpx.chair")
    village, village_h = await session_for(base, "nmq.watch")
    peer = MeetingPeer(colour=GREEN, tone=800.0)
    try:
        async with chair.post(
            "/api/meetings",
            json={"unit": TOWNSHIP, "title": "和平溪乡周五联席例会", "kind": "township_weekly"},
            headers=chair_h,
        ) as r:
            series = await r.json()
        occurrence = f"{series['id']}-{next_friday():%Y%m%d}"
        async with chair.post(f"/api/meetings/occurrences/{occurrence}/start", headers=chair_h):
            pass

        async with chromium([f"--use-file-for-fake-audio-capture={tone_wav}"]) as browser:
            context = await browser.new_context(locale="zh-CN")
            page = await context.new_page()
            await page.goto(base + f"/login?next=/meetings/{occurrence}")
            await page.fill("input[name=username]", "hpx.chair")
            await page.fill("input[name=password]", DEMO_PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(base + f"/meetings/{occurrence}")
            assert "主持控制台" in await page.inner_text("[data-testid=console]")
            # the device check: the microphone moves the level meter
            await until(
                page, "() => Number(document.getElementById('mic-level').dataset.level || 0) > 5"
            )
            await page.fill("[data-testid=site]", "和平溪乡主会场")
            await page.click("[data-testid=join]")
            await until(page, "() => document.getElementById('composite').videoWidth === 640", 30)
            assert (await page.inner_text("[data-testid=join-status]")) == "已入会"

            assert (await peer.join(village, village_h, occurrence, "楠木桥村")).status == 201
            rows = page.locator("#sites tr")
            await rows.nth(1).wait_for(timeout=15000)
            for _ in range(60):
                if peer.pictures > 10 and len(peer.audio) > 100:
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(2.0)
            async with chair.get(f"/api/meetings/occurrences/{occurrence}/room") as r:
                state = await r.json()
            browser_site = next(p for p in state["participants"] if p["site"] == "和平溪乡主会场")
            assert browser_site["sends_video"] and browser_site["sends_audio"]
            # the synthetic site sees the browser's camera in the browser's tile (Chromium's
            # fake camera: a moving pattern, not the empty tile) and hears its microphone
            tile = browser_site["tile"]
            region = peer.image()[
                tile["y"] + 40 : tile["y"] + tile["height"] - 10,
                tile["x"] + 10 : tile["x"] + tile["width"] - 10,
            ]
            assert float(np.std(region)) > 10.0, "the browser's tile is empty"
            assert tone_strength(peer.samples(1.5), 1000.0) > 0.3
            assert tone_strength(peer.samples(1.5), 800.0) < 0.05  # not itself
            await page.screenshot(path=str(ARTIFACTS / "meeting-chair.png"), full_page=True)

            # the console: spotlight the village; every site sees it alone
            row = page.locator("#sites tr", has_text="楠木桥村")
            await row.locator("button[data-action=spotlight]").click()
            await asyncio.sleep(2.0)
            image = peer.image()
            h, w = image.shape[:2]
            assert all(
                colour_near(image[y, x], GREEN) for y, x in ((h // 2, w // 2), (h // 5, w // 5))
            )
            decoded = await page.evaluate(
                "(() => { const v = document.getElementById('composite');"
                " return v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : -1; })()"
            )
            assert decoded > 10
            assert not await page.is_visible("[data-testid=answer]")  # nobody called yet
            # the chair writes the agenda and minutes on the console
            await page.fill("[data-testid=agenda]", "一、本周矛盾纠纷排查")
            await page.fill("[data-testid=minutes]", "会议纪要：楠木桥村汇报两起纠纷")
            await page.click("[data-testid=save-notes]")
            for _ in range(50):
                async with chair.get(f"/api/meetings/occurrences/{occurrence}") as r:
                    saved = await r.json()
                if saved["minutes"]:
                    break
                await asyncio.sleep(0.2)
            assert saved["agenda"] == "一、本周矛盾纠纷排查"
            assert saved["minutes"] == "会议纪要：楠木桥村汇报两起纠纷"
            await page.click("[data-testid=leave]")
            # the calendar lists it; the attendance report shows both sites present
            await page.goto(base + "/meetings")
            assert "和平溪乡周五联席例会" in await page.inner_text("[data-testid=meetings]")
            await page.goto(base + f"/meetings/{occurrence}/attendance")
            report = await page.inner_text("[data-testid=attendance]")
            assert "楠木桥村" in report and "出席" in report and "缺席" in report
            await page.screenshot(path=str(ARTIFACTS / "meeting-attendance.png"), full_page=True)
            await context.close()
    finally:
        await peer.close()
        await chair.close()
        await village.close()
