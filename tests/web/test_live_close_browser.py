"""Closing a view on the live wall ends its WHEP session cleanly: every DELETE answers 204
(no 404 in the console), and the gateway has no session left behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from core import Settings
from simulator import SimulatedCamera
from tests.browser import chromium
from tests.sessions.fixtures import camera
from tests.web.test_live_api import live_app
from tests.web.test_live_browser import decoded, sign_in
from web import LIVE

__all__ = ["camera"]

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
async def server(app_settings: Settings, camera: SimulatedCamera) -> AsyncIterator[TestServer]:
    server = TestServer(live_app(app_settings, camera), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def test_closing_the_large_view_and_leaving_end_sessions_without_404(
    server: TestServer,
) -> None:
    base = str(server.make_url("/"))[:-1]
    deletes: list[tuple[str, int]] = []
    async with chromium() as browser:
        page = await (await browser.new_context()).new_page()
        page.on(
            "response",
            lambda r: deletes.append((r.url, r.status)) if r.request.method == "DELETE" else None,
        )
        await sign_in(page, base, "hpx.watch")
        tile = page.locator("[data-testid=tile]").first
        await tile.wait_for()
        await decoded(page, "tile")
        await tile.click()
        await decoded(page, "large")
        await page.locator("#large-close").click()
        for _ in range(100):
            if deletes:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        assert deletes and all(status == 204 for _, status in deletes), deletes
        live = server.app[LIVE]
        for _ in range(100):
            if live.viewers(1) == 1:  # the tile still watches; the large view is gone
                break
            await asyncio.sleep(0.1)
        assert live.viewers(1) == 1
        await page.goto(base + "/")  # leaving the wall closes the tile too
        for _ in range(150):
            if live.viewers(1) == 0:
                break
            await asyncio.sleep(0.1)
        assert live.viewers(1) == 0
        assert all(status == 204 for _, status in deletes), deletes


async def test_the_wall_uses_the_page_width_and_goes_full_screen(server: TestServer) -> None:
    base = str(server.make_url("/"))[:-1]
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1800, "height": 1000})
        await sign_in(page, base, "hpx.watch")
        await page.locator("[data-testid=tile]").first.wait_for()
        box = await page.get_by_test_id("grid").bounding_box()
        assert box is not None and box["width"] > 1300, box  # not held to 1280 px
        await page.get_by_test_id("fullscreen").click()
        for _ in range(50):
            if await page.evaluate("document.fullscreenElement?.id === 'grid'"):
                break
            await asyncio.sleep(0.1)
        assert await page.evaluate("document.fullscreenElement?.id") == "grid"
