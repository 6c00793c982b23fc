"""Playback in headless Chromium: the recording page plays a segment and seeks across them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page

from core import Settings
from gateway._demo import DEMO_PASSWORD
from simulator import SimulatedCamera
from tests.browser import ARTIFACTS, chromium
from tests.helpers import login

from .service_peers import Rig, rig
from .test_service import record

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
async def gateway(
    aiohttp_client,  # type: ignore[no-untyped-def]
    app_settings: Settings,
    camera: SimulatedCamera,
) -> AsyncIterator[Rig]:
    async for r in rig(aiohttp_client, app_settings, camera):
        yield r


async def until_true(page: Page, expression: str, limit: float = 15.0) -> None:
    """Poll ``expression`` in the page (wait_for_function would need 'unsafe-eval')."""
    for _ in range(int(limit / 0.1)):
        if await page.evaluate(expression):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{expression} stayed false for {limit} s")


async def test_play_and_seek_in_the_browser(gateway: Rig) -> None:
    r = gateway
    csrf = await login(r.client, "hpxc.mediator")
    rid = await record(r, csrf, 5.0)
    base = str(r.client.server.make_url("/"))[:-1]
    async with chromium(["--autoplay-policy=no-user-gesture-required"]) as browser:
        page = await browser.new_page()
        await page.goto(base + "/login")
        await page.fill("input[name=username]", "hpxc.mediator")
        await page.fill("input[name=password]", DEMO_PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(base + "/")
        nav = await page.locator("nav.main-nav").inner_text()
        assert "录像" in nav
        await page.goto(base + "/recordings")
        assert await page.get_by_test_id("timeline-row").count() == 1
        await page.goto(f"{base}/recordings/{rid}")
        await until_true(page, "document.getElementById('player').readyState >= 2")
        await until_true(page, "document.getElementById('player').currentTime > 0.5")
        size = await page.evaluate(
            "[document.getElementById('player').videoWidth,"
            " document.getElementById('player').videoHeight]"
        )
        assert size == [640, 360]
        # seek near the end: the player switches to a later segment and plays on
        box = await page.locator("#seek").bounding_box()
        assert box is not None
        await page.mouse.click(box["x"] + box["width"] * 0.85, box["y"] + box["height"] / 2)
        await until_true(page, "!document.getElementById('player').src.endsWith('/segments/0.mp4')")
        await until_true(page, "document.getElementById('player').readyState >= 2")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "recording-zh.png"), full_page=True)
