"""The camera list page in headless Chromium: register through the form, see the status
badges (在线 / 可对讲 / 仅监听 / 离线 + reason) and thumbnails refresh by themselves.

(No discovery scan here: the page scans by multicast, and tests stay on 127.0.0.1; the
API test probes the simulator by unicast.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from camera_registry import CameraRegistration, OnvifAddress
from core import SYSTEM, Room, Settings
from gateway import create_app
from gateway._demo import DEMO_PASSWORD
from simulator import CameraFleet
from tests.browser import ARTIFACTS, chromium
from tests.camera_registry.registry_helpers import clip_dir, small_fleet, wait_until
from web import CAMERA_REGISTRY, CAMERAS, DB

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
async def fleet(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CameraFleet]:
    async with small_fleet(2, clip_dir(tmp_path_factory)) as running:
        yield running


@pytest.fixture
async def server(app_settings: Settings) -> AsyncIterator[TestServer]:
    server = TestServer(create_app(app_settings), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def test_camera_list_shows_live_status(server: TestServer, fleet: CameraFleet) -> None:
    app = server.app
    assert app is not None
    first, second = fleet.cameras
    second.apply_faults({"no_backchannel": True})
    async with app[DB].transaction() as session:
        rooms = list(
            await session.scalars(
                select(Room).where(Room.unit_code == "431226203000").order_by(Room.id)
            )
        )
    listen_only = await app[CAMERA_REGISTRY].register(
        SYSTEM,
        CameraRegistration(
            room_id=rooms[1].id,
            onvif=OnvifAddress(
                second.config.host, second.http_port, second.config.username, second.config.password
            ),
        ),
    )
    base = str(server.make_url("/"))[:-1]
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(base + "/login?next=/cameras")
        await page.fill("input[name=username]", "hpx.admin")
        await page.fill("input[name=password]", DEMO_PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(base + "/cameras")
        assert await page.locator("h1").inner_text() == "摄像机"

        form = page.get_by_test_id("register-onvif")
        await form.locator("select[name=room_id]").select_option(str(rooms[0].id))
        await form.locator("input[name=host]").fill(first.config.host)
        await form.locator("input[name=port]").fill(str(first.http_port))
        await form.locator("input[name=username]").fill(first.config.username)
        await form.locator("input[name=password]").fill("wrong-password")
        await form.locator("button[type=submit]").click()
        await page.wait_for_load_state()
        assert "摄像机拒绝了账号或密码" in await page.get_by_test_id("camera-error").inner_text()

        form = page.get_by_test_id("register-onvif")
        await form.locator("select[name=room_id]").select_option(str(rooms[0].id))
        await form.locator("input[name=host]").fill(first.config.host)
        await form.locator("input[name=port]").fill(str(first.http_port))
        await form.locator("input[name=username]").fill(first.config.username)
        await form.locator("input[name=password]").fill(first.config.password)
        await form.locator("button[type=submit]").click()
        await page.wait_for_url(base + "/cameras?message=registered")

        manager = app[CAMERAS]
        ids = manager.camera_ids
        assert len(ids) == 2
        talk_id = next(i for i in ids if i != listen_only.camera.id)
        await wait_until(
            lambda: all(manager.state(i).online for i in ids), within=30, what="both online"
        )
        await page.reload()
        talk_row = page.locator(f"tr[data-camera='{talk_id}'] td.status")
        assert "在线" in await talk_row.inner_text() and "可对讲" in await talk_row.inner_text()
        quiet_row = page.locator(f"tr[data-camera='{listen_only.camera.id}'] td.status")
        assert "仅监听" in await quiet_row.inner_text()
        await page.wait_for_function(
            "() => [...document.querySelectorAll('td.thumb img')].every(i => i.naturalWidth > 0)",
            timeout=15000,
        )

        first.apply_faults({"refuse_auth": True, "drop": True})
        await wait_until(
            lambda: manager.state(talk_id).reason == "wrong password", within=30, what="refused"
        )
        # the page refreshes its badges by itself (every 5 s)
        await page.wait_for_function(
            f"() => document.querySelector(\"tr[data-camera='{talk_id}'] td.status\")"
            ".innerText.includes('密码错误')",
            timeout=15000,
        )
        assert "离线" in await talk_row.inner_text()
        await page.screenshot(path=str(ARTIFACTS / "cameras-zh.png"), full_page=True)
