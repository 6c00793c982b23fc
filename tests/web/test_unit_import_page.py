"""The organisation page imports a CSV of units, as ``units import`` does, within the
administrator's own subtree."""

from __future__ import annotations

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from tests.helpers import login


def _form(csrf: str, body: bytes) -> FormData:
    form = FormData()
    form.add_field("_csrf", csrf)
    form.add_field("file", body, filename="units.csv", content_type="text/csv")
    return form


async def _units(client: TestClient) -> dict[str, str]:
    response = await client.get("/api/units")
    assert response.status == 200
    body = await response.json()
    return {u["code"]: u["name"] for u in body["units"]}


async def test_township_admin_imports_villages(client: TestClient, no_blocking: None) -> None:
    csrf = await login(client, "hpx.admin")
    before = await _units(client)
    body = "431226203205,和平溪乡新村综治中心\n431226203201,和平溪乡和平溪村综治中心\n"
    page = await client.post("/org/units/import", data=_form(csrf, body.encode("gb18030")))
    assert page.status == 200
    html = await page.text()
    assert "431226203205 和平溪乡新村综治中心" in html and "1 个新增" in html
    after = await _units(client)
    assert set(after) - set(before) == {"431226203205"}

    again = await client.post("/org/units/import", data=_form(csrf, body.encode()))
    assert again.status == 200 and "0 个新增" in await again.text()
    assert await _units(client) == after

    # Another township's village is outside this administrator's unit: nothing is written.
    outside = "431226203206,和平溪乡又一村\n431226100202,高村镇某村\n"
    refused = await client.post("/org/units/import", data=_form(csrf, outside.encode()))
    assert refused.status == 400
    text = await refused.text()
    assert "单位文件未导入" in text and "431226100202 is outside your unit" in text
    assert await _units(client) == after


async def test_import_needs_org_manage(client: TestClient) -> None:
    csrf = await login(client, "hpx.watch")
    body = b"431226203205,x\n"
    response = await client.post(
        "/org/units/import", data=_form(csrf, body), headers={"Accept": "application/json"}
    )
    assert response.status == 403
