"""A person at Chromium: the live wall decodes the camera, push-to-talk reaches the speaker."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from core import SYSTEM, Settings
from gateway._demo import DEMO_PASSWORD
from simulator import SimulatedCamera
from tests.browser import ARTIFACTS, chromium
from tests.sessions.fixtures import camera
from tests.web.test_live_api import live_app
from web import LIVE, RECORDINGS

__all__ = ["camera"]

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="session")
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
            "sine=frequency=1000:duration=30",
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
async def server(app_settings: Settings, camera: SimulatedCamera) -> AsyncIterator[TestServer]:
    server = TestServer(live_app(app_settings, camera), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def sign_in(page: Page, base: str, username: str) -> None:
    await page.goto(base + "/login?next=/live")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(base + "/live")


async def decoded(page: Page, where: str, within: float = 15.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        stats = await page.evaluate("window.liveWall.stats()")
        mine = [s for s in stats if s["where"] == where and s.get("framesDecoded", 0) > 10]
        if mine:
            return dict(mine[0])
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no frames decoded in the {where}: {stats}")
        await asyncio.sleep(0.25)


async def test_live_wall_decodes_and_push_to_talk_reaches_the_speaker(
    server: TestServer, camera: SimulatedCamera, tone_wav: Path
) -> None:
    base = str(server.make_url("/"))[:-1]
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium([f"--use-file-for-fake-audio-capture={tone_wav}"]) as browser:
        page = await (await browser.new_context()).new_page()
        await sign_in(page, base, "hpx.watch")
        assert "实时视频墙" in await page.locator("nav.main-nav").inner_text()
        tile = page.locator("[data-testid=tile]").first
        await tile.wait_for()
        stats = await decoded(page, "tile")
        assert (stats["frameWidth"], stats["frameHeight"]) == (640, 360)
        assert stats["stream"] == "main"  # a grid tile asks for sub; this camera has none
        assert "在线" in await tile.inner_text()
        recordings = server.app[RECORDINGS]
        row = await recordings.start_recording(SYSTEM, 1, "调解会开始")
        await tile.locator(".badge.rec").filter(has_text="录像中").wait_for(timeout=10_000)
        await recordings.stop_recording(SYSTEM, row.id, "调解会结束")
        await tile.locator(".badge.rec").wait_for(state="detached", timeout=10_000)
        await page.screenshot(path=str(ARTIFACTS / "live-wall.png"))

        await tile.click()
        await decoded(page, "large")
        camera.sink.clear()
        await page.locator("#ptt").hover()
        await page.mouse.down()
        for _ in range(100):  # (wait_for_function would need 'unsafe-eval' in the CSP)
            if await page.evaluate("window.liveWall.talking()"):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the talk session did not open")
        await asyncio.sleep(3.0)
        await page.screenshot(path=str(ARTIFACTS / "live-talk.png"))

        # A second person presses talk on the same room: told who holds the floor.
        other = await (await browser.new_context()).new_page()
        await sign_in(other, base, "hpx.mediator")
        await other.locator("[data-testid=tile]").first.click()
        await other.locator("#ptt").hover()
        await other.mouse.down()
        status = other.get_by_test_id("talk-status")
        await status.filter(has_text="和平溪乡值班员").wait_for(timeout=10_000)
        assert "正在对该房间讲话" in await status.inner_text()
        await other.mouse.up()
        await other.close()

        await page.mouse.up()
        frequency = camera.sink.dominant_frequency()
        assert camera.sink.duration > 1.5
        assert frequency is not None and abs(frequency - 1000) <= 20, frequency
        await page.locator("#large-close").click()
        live = server.app[LIVE]
        await asyncio.sleep(0.5)
        assert live.floor(1) is None  # closing the large view hung up
        assert [s.kind for s in live.sessions()] == ["view"]  # only the tile remains
