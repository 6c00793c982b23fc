"""The KPI page next to the ledger, the report board of the chosen unit, the styled 404
and the page for meetings (a "coming soon" page until a meetings page exists)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.helpers import login

TOWNSHIP = "431226203000"


async def test_kpi_page_lists_the_unit_and_the_units_under_it(client: TestClient) -> None:
    await login(client, "county.admin")
    response = await client.get(f"/kpi?unit={TOWNSHIP}&year=2026")
    assert response.status == 200
    page = await response.text()
    assert "初信初访占比考核 · 2026" in page
    rows = page.split('data-testid="kpi-table"')[1].count("<tr data-unit=")
    assert rows == 5  # the township and its four villages
    assert 'data-unit="431226100000"' not in page  # another township is not listed
    assert (await client.get("/kpi?year=twenty")).status == 400


async def test_kpi_page_is_scoped(client: TestClient) -> None:
    await login(client, "hpxc.mediator")
    assert (await client.get(f"/kpi?unit={TOWNSHIP}")).status == 403


async def test_the_report_board_follows_the_chosen_unit(client: TestClient) -> None:
    await login(client, "county.admin")
    page = await (await client.get(f"/ledger?unit={TOWNSHIP}")).text()
    board = page.split('data-testid="report-board"')[1].split("</table>")[0]
    assert "和平溪" in board and "高村" not in board


async def test_unknown_addresses_answer_the_styled_404(client: TestClient) -> None:
    await login(client, "hpx.chair")
    response = await client.get("/no/such/page")
    assert response.status == 404
    page = await response.text()
    assert "页面不存在" in page and 'class="main-nav"' in page
    english = await (await client.get("/no/such/page?lang=en")).text()
    assert "Page not found" in english
    api = await client.get("/api/no/such")
    assert api.status == 404 and (await api.json())["error"] == "not_found"


async def test_the_chair_has_a_meetings_page(client: TestClient) -> None:
    await login(client, "hpx.chair")
    home = await (await client.get("/")).text()
    assert 'href="/meetings"' in home
    assert (await client.get("/meetings")).status == 200
