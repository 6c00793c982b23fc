"""Daily use in a real browser (issue 15): what the centres' staff see and type.

Beijing time: a session booked for 09:00 shows 09:00 (labelled 北京时间) and is stored
as 01:00 UTC, whatever zone the browser itself is in; the case's intake time is shown in
Beijing time too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from core import Settings
from gateway import create_app
from gateway._demo import DEMO_PASSWORD
from tests.browser import ARTIFACTS, chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def base(app_settings: Settings) -> AsyncIterator[str]:
    server = TestServer(create_app(app_settings), host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/"))[:-1]
    await server.close()


async def sign_in(page: Page, base: str, username: str) -> None:
    await page.goto(base + "/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_load_state()
    assert "/login" not in page.url, await page.content()


async def intake(page: Page, base: str, summary: str) -> int:
    """Register a case at the window through the form; returns its id."""
    await page.goto(base + "/cases/new")
    await page.fill("textarea[name=summary]", summary)
    await page.fill("input[name=party0_name]", "张华")
    await page.fill("input[name=party1_name]", "李明")
    await page.click("form.card button[type=submit]")
    await page.wait_for_load_state()
    refused = page.get_by_test_id("intake-error")
    assert not await refused.count(), await refused.inner_text()
    assert page.url.rsplit("/", 1)[1].isdigit(), page.url
    return int(page.url.rsplit("/", 1)[1])


async def test_a_session_booked_for_nine_shows_nine_beijing_time(base: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        # The browser's own zone must not matter: pages are rendered in the deployment's.
        context = await browser.new_context(timezone_id="America/New_York")
        page = await context.new_page()
        await sign_in(page, base, "hpx.mediator")
        case_id = await intake(page, base, "邻里排水沟纠纷")
        case = await (await page.request.get(f"{base}/api/cases/{case_id}")).json()
        received = datetime.fromisoformat(case["received_at"]).astimezone(BEIJING)
        assert await page.get_by_test_id("received-at").inner_text() == (
            f"{received:%Y-%m-%d %H:%M}"
        )
        assert "北京时间" in await page.locator("dl.facts").inner_text()

        sessions = page.get_by_test_id("sessions")
        await sessions.locator("select[name=mode]").select_option("schedule")
        await sessions.locator("input[name=scheduled_for]").fill("2026-12-03T09:00")
        await sessions.locator("input[name=mediators]").fill("杨德福")
        await sessions.locator("button[type=submit]", has_text="保存").click()
        await page.wait_for_load_state()
        assert await page.get_by_test_id("scheduled-for").inner_text() == "2026-12-03 09:00"
        row = await sessions.inner_text()
        assert "北京时间" in row and "UTC" not in row
        await page.screenshot(path=str(ARTIFACTS / "case-booked-beijing.png"), full_page=True)

        case = await (await page.request.get(f"{base}/api/cases/{case_id}")).json()
        (booked,) = case["sessions"]
        assert datetime.fromisoformat(booked["scheduled_for"]) == datetime.fromisoformat(
            "2026-12-03T01:00:00+00:00"
        )

        # The audit log and the case list speak Beijing time as well.
        await page.goto(base + "/cases")
        assert f"{received:%Y-%m-%d}" in await page.locator("table").inner_text()
        await context.close()


async def test_a_refused_intake_keeps_every_field_and_names_the_party(base: str) -> None:
    typed = {
        "textarea[name=summary]": "宅基地界址纠纷，双方争执三年",
        "input[name=mediator]": "",
        "input[name=party0_name]": "张华",
        "input[name=party0_id]": "431226199001011236",  # last digit mistyped (…1235)
        "input[name=party0_phone]": "13807451234",
        "input[name=party1_name]": "李明",
        "input[name=party1_phone]": "0745-7512345",
    }
    async with chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, base, "hpx.mediator")
        await page.goto(base + "/cases/new")
        await page.select_option("select[name=channel]", "phone")
        for selector, value in typed.items():
            await page.fill(selector, value)
        await page.click("form.card button[type=submit]")
        await page.wait_for_load_state()

        assert page.url == base + "/cases/new"
        error = await page.get_by_test_id("intake-error").inner_text()
        assert error == "申请人张华：身份证号校验位不正确，可能有数字输错"
        bad = page.locator("input[name=party0_id]")
        assert await bad.get_attribute("aria-invalid") == "true"
        assert await page.get_by_test_id("field-error").inner_text() == error
        assert await page.locator("[aria-invalid=true]").count() == 1  # only that field
        for selector, value in typed.items():
            assert await page.input_value(selector) == value, selector
        assert await page.input_value("select[name=channel]") == "phone"
        await page.screenshot(path=str(ARTIFACTS / "intake-refused.png"), full_page=True)

        # Fixing the one digit is all it takes.
        await bad.fill("431226199001011235")
        await page.click("form.card button[type=submit]")
        await page.wait_for_load_state()
        assert page.url.rsplit("/", 1)[1].isdigit(), await page.content()
        assert "宅基地界址纠纷" in await page.locator("p.summary").inner_text()


async def test_a_bad_phone_of_the_respondent_is_marked_on_the_respondent(base: str) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, base, "hpx.mediator")
        await page.goto(base + "/cases/new")
        await page.fill("textarea[name=summary]", "欠薪")
        await page.fill("input[name=party0_name]", "张华")
        await page.fill("input[name=party1_name]", "王强")
        await page.fill("input[name=party1_phone]", "12345")
        await page.click("form.card button[type=submit]")
        await page.wait_for_load_state()
        error = await page.get_by_test_id("intake-error").inner_text()
        assert error.startswith("被申请人王强：联系电话不正确")
        assert await page.locator("input[name=party1_phone]").get_attribute("aria-invalid")
        assert await page.input_value("input[name=party1_phone]") == "12345"


async def test_a_session_offers_the_units_mediators_and_the_timeline_names_people(
    base: str,
) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, base, "hpxc.mediator")
        await intake(page, base, "耕地灌溉用水纠纷")
        sessions = page.get_by_test_id("sessions")
        # Starting one now is the first choice; people's mediation is the default kind.
        assert await sessions.locator("select[name=mode]").input_value() == "start"
        assert (
            await sessions.locator("select[name=mediator_kind]").input_value()
            == "peoples_mediation"
        )
        offered = sessions.get_by_test_id("offered-mediators").locator("input[type=checkbox]")
        assert await offered.count() >= 1
        mediator = await offered.first.get_attribute("value")
        assert mediator and await offered.first.is_checked()

        await sessions.locator("select[name=mode]").select_option("record")
        await sessions.locator("input[name=mediators]").fill("龙秀英")
        await sessions.locator("select[name=outcome]").last.select_option("failed")
        await sessions.locator("input[name=notes]").last.fill("双方同意下周再谈")
        await sessions.locator("button[type=submit]", has_text="保存").click()
        await page.wait_for_load_state()

        timeline = await page.get_by_test_id("timeline").inner_text()
        assert f"{mediator}、龙秀英" in timeline
        assert "双方同意下周再谈" in timeline
        assert "矛盾纠纷调解室" in timeline or "调解室" in timeline
        assert "user:" not in timeline and "session " not in timeline
        actors = await page.get_by_test_id("event-actor").all_inner_texts()
        assert actors and all("hpxc.mediator" in a and not a.startswith("user") for a in actors)


async def test_chart_labels_stay_left_of_their_bars_in_both_languages(base: str) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, base, "hpx.mediator")
        await intake(page, base, "劳资纠纷")
        for lang in ("en", "zh-CN"):
            await page.goto(f"{base}/ledger?lang={lang}")
            for chart in ("chart-types", "chart-funnel", "chart-kpi"):
                rights = await page.eval_on_selector_all(
                    f"svg[data-testid={chart}] text[font-size='12']",
                    "labels => labels.map(t => { const b = t.getBBox(); return b.x + b.width; })",
                )
                assert rights, chart
                assert max(rights) <= 130, (lang, chart, rights)  # the bars start at x=130
            ticks = await page.eval_on_selector_all(
                "svg[data-testid=chart-trend] text[text-anchor=end]",
                "texts => texts.map(t => t.textContent)",
            )
            assert ticks and all(t.isdigit() for t in ticks), ticks
