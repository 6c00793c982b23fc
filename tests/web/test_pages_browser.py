"""A person at a browser: sign in, look around, switch language, stay inside one's scope."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from core import Settings
from gateway import create_app
from gateway._demo import DEMO_PASSWORD
from tests.browser import ARTIFACTS, chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
async def server(app_settings: Settings):  # type: ignore[no-untyped-def]
    server = TestServer(create_app(app_settings), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def test_sign_in_navigate_and_switch_language(server: TestServer) -> None:
    base = str(server.make_url("/"))[:-1]
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(base + "/org")
        assert page.url.startswith(base + "/login")  # signed-out users are sent to sign in
        assert await page.locator("h1").inner_text() == "登录"

        await page.fill("input[name=username]", "hpx.admin")
        await page.fill("input[name=password]", "wrong-password-9")
        await page.click("button[type=submit]")
        assert "用户名或密码错误" in await page.get_by_test_id("login-error").inner_text()

        await page.fill("input[name=username]", "hpx.admin")
        await page.fill("input[name=password]", DEMO_PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(base + "/org")
        tree = await page.locator("ul.tree").first.inner_text()
        assert "和平溪乡和平溪村综治中心" in tree and "高村镇" not in tree
        await page.screenshot(path=str(ARTIFACTS / "org-zh.png"), full_page=True)

        await page.click("nav.main-nav >> text=用户")
        await page.wait_for_url(base + "/admin/users")
        assert "hpxc.mediator" in await page.get_by_test_id("users").inner_text()

        await page.click("text=English")
        await page.wait_for_load_state()
        assert await page.locator("nav.main-nav a.active").inner_text() == "Users"
        await page.click("text=中文")

        await page.click("text=首页")
        assert (
            await page.get_by_test_id("unit-name").inner_text() == "麻阳苗族自治县和平溪乡综治中心"
        )
        await page.screenshot(path=str(ARTIFACTS / "home-zh.png"), full_page=True)

        await page.click("text=退出")
        await page.wait_for_url(base + "/login")
        await page.goto(base + "/")
        assert page.url.startswith(base + "/login")


async def test_village_user_sees_only_its_village(server: TestServer) -> None:
    base = str(server.make_url("/"))[:-1]
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(base + "/login")
        await page.fill("input[name=username]", "nmq.watch")
        await page.fill("input[name=password]", DEMO_PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(base + "/")
        tree = await page.locator("ul.tree").first.inner_text()
        assert "楠木桥村" in tree and "和平溪村" not in tree
        nav = await page.locator("nav.main-nav").inner_text()
        assert "用户" not in nav and "审计日志" not in nav  # an operator manages nothing
        response = await page.goto(base + "/admin/users")
        assert response is not None and response.status == 403
        assert "您的角色无权执行此操作" in await page.locator(".alert").inner_text()


async def test_admin_creates_a_room_through_the_form(server: TestServer) -> None:
    base = str(server.make_url("/"))[:-1]
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(base + "/login?next=/org")
        await page.fill("input[name=username]", "hpx.admin")
        await page.fill("input[name=password]", DEMO_PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(base + "/org")
        form = page.locator("form[action='/org/rooms']")
        await form.locator("select[name=unit]").select_option("431226203203")
        await form.locator("select[name=kind]").select_option("mediation")
        await form.locator("input[name=name]").fill("大坳村第二调解室")
        await form.locator("button").click()
        await page.wait_for_url(base + "/org?message=saved")
        assert "大坳村第二调解室" in await page.locator("ul.tree").first.inner_text()
