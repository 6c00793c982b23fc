"""The live wall shows which rooms have a mediation in progress now, with the case number
for those who may read cases (a registered camera in a village mediation room)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core import Settings
from simulator import SimulatedCamera
from tests.browser import chromium
from tests.helpers import login
from tests.recordings.service_peers import Rig, rig
from tests.recordings.test_service import _wait_online
from tests.web.test_live_browser import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
async def gateway(
    aiohttp_client,  # type: ignore[no-untyped-def]
    app_settings: Settings,
    camera: SimulatedCamera,
) -> AsyncIterator[Rig]:
    async for r in rig(aiohttp_client, app_settings, camera):
        yield r


async def test_the_wall_marks_a_room_in_mediation_with_its_case(gateway: Rig) -> None:
    r = gateway
    await _wait_online(r)
    csrf = await login(r.client, "hpxc.mediator")
    wall = await (await r.client.get("/api/live/cameras")).json()
    assert [c["mediation"] for c in wall["cameras"]] == [None]
    body = {
        "dispute_type": "family",
        "channel": "window",
        "summary": "赡养纠纷",
        "parties": [{"name": "张三"}],
    }
    response = await r.client.post("/api/cases", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status == 201, await response.text()
    case = await response.json()
    session = {"room_id": r.room_id, "mediators": ["杨德福"], "mode": "start"}
    response = await r.client.post(
        f"/api/cases/{case['id']}/sessions", json=session, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 201, await response.text()
    wall = await (await r.client.get("/api/live/cameras")).json()
    assert wall["cameras"][0]["mediation"] == {"case_number": case["number"]}

    base = str(r.client.server.make_url("/"))[:-1]
    async with chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, base, "hpxc.mediator")
        badge = page.get_by_test_id("mediation").first
        await badge.wait_for(timeout=15_000)
        assert await badge.inner_text() == f"调解中 · {case['number']}"
        other = await (await browser.new_context()).new_page()
        await sign_in(other, base, "nmq.watch")  # another village: not its room
        await other.locator("[data-testid=tile], .empty").first.wait_for(timeout=15_000)
        assert await other.get_by_test_id("mediation").count() == 0
