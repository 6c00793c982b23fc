"""Talk-back as people live it: the talker sees a microphone level; when the chair takes
the floor over, the first talker's button lets go and a notice names the chair within
1 s; badges name people, not accounts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from core import Settings
from simulator import SimulatedCamera
from tests.browser import ARTIFACTS, chromium
from tests.sessions.fixtures import camera
from tests.web.test_live_api import live_app
from tests.web.test_live_browser import decoded, sign_in, tone_wav
from web import LIVE

__all__ = ["camera", "tone_wav"]

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
async def server(app_settings: Settings, camera: SimulatedCamera) -> AsyncIterator[TestServer]:
    server = TestServer(live_app(app_settings, camera), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def _until(page: Page, expression: str, within: float = 15.0) -> float:
    start = time.monotonic()
    while not await page.evaluate(expression):
        if time.monotonic() - start > within:
            raise AssertionError(f"{expression} stayed false for {within} s")
        await asyncio.sleep(0.05)
    return time.monotonic()


async def _hold_talk(page: Page) -> None:
    await page.locator("[data-testid=tile]").first.click()
    await decoded(page, "large")
    await page.locator("#ptt").hover()
    await page.mouse.down()


async def test_takeover_reaches_the_first_talker_within_a_second(
    server: TestServer, tone_wav: Path
) -> None:
    base = str(server.make_url("/"))[:-1]
    async with chromium([f"--use-file-for-fake-audio-capture={tone_wav}"]) as browser:
        first = await (await browser.new_context()).new_page()
        await sign_in(first, base, "hpx.mediator")
        await _hold_talk(first)
        await _until(first, "window.liveWall.talking()")
        # The talker sees the microphone hear them.
        await _until(first, "document.getElementById('mic-level').value > 0.05")
        assert await first.locator("#mic-level").is_visible()

        chair = await (await browser.new_context()).new_page()
        chair.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await sign_in(chair, base, "hpx.chair")
        # The wall names the talker by name.
        badge = chair.locator("[data-testid=tile] .badge.talking").first
        await badge.wait_for(timeout=10_000)
        assert "和平溪乡调解员" in await badge.inner_text()
        await _hold_talk(chair)
        taken = await _until(chair, "window.liveWall.talking()")
        noticed = await _until(
            first, "document.getElementById('talk-status').dataset.takenBy !== undefined"
        )
        assert noticed - taken < 1.0, f"the notice took {noticed - taken:.2f} s"
        status = await first.get_by_test_id("talk-status").inner_text()
        assert status == "和平溪乡政法委员 接管了对讲"
        assert not await first.evaluate("window.liveWall.talking()")
        assert "on" not in (await first.locator("#ptt").get_attribute("class") or "")
        assert await first.locator("#ptt").inner_text() == "按住说话"
        ARTIFACTS.mkdir(exist_ok=True)
        await first.screenshot(path=str(ARTIFACTS / "talk-taken-over.png"))
        live = server.app[LIVE]
        holder = live.floor(1)
        assert holder is not None and holder.name == "hpx.chair"
        await chair.mouse.up()
