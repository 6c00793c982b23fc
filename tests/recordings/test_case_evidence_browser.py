"""From a case to its evidence in a real browser (issue 15 item 2).

A mediator registers a case, starts a session in the mediation room (the room's camera is
recorded), finishes it with notes; the case timeline then shows the recording with the
room, start–end and duration, plays it in place, and exports the session's evidence from
the case page, with no internal id typed anywhere.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator

import pytest

from core import Settings
from simulator import SimulatedCamera
from tests.browser import ARTIFACTS, chromium
from tests.web.test_daily_browser import intake, sign_in

from .service_peers import Rig, rig
from .test_browser import until_true
from .test_service import _wait_online

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
async def gateway(
    aiohttp_client,  # type: ignore[no-untyped-def]
    app_settings: Settings,
    camera: SimulatedCamera,
) -> AsyncIterator[Rig]:
    async for r in rig(aiohttp_client, app_settings, camera):
        yield r


async def test_case_to_recording_to_play_to_export(gateway: Rig) -> None:
    r = gateway
    await _wait_online(r)
    base = str(r.client.server.make_url("/"))[:-1]
    async with chromium(["--autoplay-policy=no-user-gesture-required"]) as browser:
        page = await browser.new_page()
        await sign_in(page, base, "hpxc.mediator")
        case_id = await intake(page, base, "相邻通行权纠纷")
        number = await page.get_by_test_id("case-number").inner_text()

        sessions = page.get_by_test_id("sessions")
        assert await sessions.locator("select[name=mode]").input_value() == "start"
        await sessions.locator("button[type=submit]", has_text="保存").click()
        await page.wait_for_load_state()
        await asyncio.sleep(6)  # the mediation goes on; the room is recorded
        running = page.locator("form.running")
        await running.locator("select[name=outcome]").select_option("resolved_oral")
        await running.locator("input[name=notes]").fill("双方口头和解")
        await running.locator("button[type=submit]").click()
        await page.wait_for_load_state()

        row = page.get_by_test_id("session-recording")
        assert await row.count() == 1, await page.get_by_test_id("timeline").inner_text()
        text = await row.inner_text()
        assert "调解室" in text and "秒" in text and "–" in text
        assert "rec-" not in text  # no internal ids, names and times
        assert "双方口头和解" in await page.get_by_test_id("timeline").inner_text()

        await row.locator("button.play").click()
        await until_true(page, "document.querySelector('video.inline-player').readyState >= 2")
        await until_true(page, "document.querySelector('video.inline-player').currentTime > 0.5")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "case-recording-play.png"), full_page=True)

        export = page.get_by_test_id("case-export")
        options = await export.locator("select[name=which] option").all_inner_texts()
        assert len(options) == 2 and "整个案件" in options[0] and "调解室" in options[1]
        await export.locator("select[name=which]").select_option(index=1)
        await export.locator("input[name=reason]").fill("法院调取证据")
        await export.locator("button[type=submit]").click()
        await until_true(
            page, "!!document.querySelector('[data-testid=case-export-result] a')", limit=120
        )
        href = await page.get_by_test_id("case-export-result").locator("a").get_attribute("href")
        assert href is not None
        package = await page.request.get(base + href)
        assert package.status == 200
        with zipfile.ZipFile(io.BytesIO(await package.body())) as archive:
            names = archive.namelist()
            assert "viewing-copy.mp4" in names
            meta = next(n for n in names if n.endswith(".json") and "manifest" not in n)
            assert number in json.dumps(json.loads(archive.read(meta)), ensure_ascii=False)

        # The recording page takes the case number too, never an internal id.
        await page.goto(f"{base}/cases/{case_id}")
        rid = await row.locator("button.play").get_attribute("data-recording")
        await page.goto(f"{base}/recordings/{rid}")
        labels = await page.locator("form#export label").all_inner_texts()
        assert any("案件编号" in label for label in labels)
        assert not any("ID" in label for label in labels)

        # The recordings list speaks of rooms and units, in Chinese, filtered by case number.
        await page.goto(f"{base}/recordings?case={number}")
        rooms = await page.get_by_test_id("recording-room").all_inner_texts()
        assert len(rooms) == 1 and "调解室" in rooms[0] and "和平溪" in rooms[0]
        reason = await page.get_by_test_id("recording-reason").inner_text()
        assert reason == f"案件 {number} 的调解录像"
        await page.goto(f"{base}/recordings?case=431226203201-2026-999999")
        assert await page.get_by_test_id("recording-room").count() == 0
        assert "没有该编号的案件" in await page.locator("main, body").first.inner_text()
