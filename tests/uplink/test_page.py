"""The upper platforms page: state and last error in an operator's words (zh-CN and
English), the device ID, channel IDs; admins add and disable platforms from it."""

from __future__ import annotations

import asyncio
import re
import time

from aiohttp.test_utils import TestClient

from simulator import SimulatedPlatform
from tests.helpers import login
from web import UPLINK


async def _state(client: TestClient, wanted: str, count: int) -> None:
    async def check() -> bool:
        overview = await (await client.get("/api/uplink")).json()
        states = [p["state"] for p in overview["platforms"]]
        return states.count(wanted) >= count

    end = time.monotonic() + 30
    while not await check():
        assert time.monotonic() < end, f"no platform became {wanted}"
        await asyncio.sleep(0.1)


async def test_page_shows_states_errors_and_channels(client: TestClient) -> None:
    async with (
        SimulatedPlatform(server_id="43122600002000000001", password="Good-pw-1") as good,
        SimulatedPlatform(server_id="43122600002000000002", password="Other-pw-1") as bad,
    ):
        csrf = await login(client, "hpx.admin")
        page = await client.get("/admin/uplink")
        assert page.status == 200
        assert "上级平台" in await page.text()
        for platform, password in ((good, "Good-pw-1"), (bad, "wrong-pw-99")):
            response = await client.post(
                "/admin/uplink",
                data={
                    "_csrf": csrf,
                    "name": f"平台{platform.server_id[-1]}",
                    "server_id": platform.server_id,
                    "host": "127.0.0.1",
                    "port": str(platform.port),
                    "password": password,
                    "transport": "udp",
                    "charset": "GB2312",
                },
                allow_redirects=False,
            )
            assert response.status == 303, await response.text()
            assert "error" not in response.headers["Location"]
        await good.wait_registered(client.app[UPLINK].device_id, within=30)
        await _state(client, "registered", 1)
        await _state(client, "failed", 1)
        html = await (await client.get("/admin/uplink")).text()
        assert "已注册" in html and "注册失败" in html
        assert "密码错误" in html  # the wrong password, in words
        assert client.app[UPLINK].device_id in html
        english = await (await client.get("/admin/uplink?lang=en")).text()
        assert "Registered" in english and "wrong password" in english

        # disable the failing one from the page
        pid = re.findall(r'data-platform="(\d+)"', html)[1]
        response = await client.post(
            f"/admin/uplink/{pid}/disable", data={"_csrf": csrf}, allow_redirects=False
        )
        assert response.status == 303
        await _state(client, "disabled", 1)

        client.session.cookie_jar.clear()
        await login(client, "hpx.watch")
        assert (await client.get("/admin/uplink")).status == 403
