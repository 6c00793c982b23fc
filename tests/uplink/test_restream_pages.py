"""The restream accounts page: create (password shown once), list, revoke — zh-CN and en."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from tests.helpers import login


async def test_page_creates_shows_password_once_and_revokes(client: TestClient) -> None:
    csrf = await login(client, "hpx.admin")
    page = await client.get("/admin/restream")
    assert page.status == 200
    text = await page.text()
    assert "RTSP 转发" in text and "新建转发账号" in text and "监听中" in text
    created = await client.post(
        "/admin/restream",
        data={"_csrf": csrf, "name": "nvr-page-01", "unit": "431226203000", "note": "机房 NVR"},
    )
    assert created.status == 200 and created.headers["Cache-Control"] == "no-store"
    shown = await created.text()
    password = re.search(r'data-testid="new-password"[^>]*>([^<]+)<', shown)
    assert password is not None and len(password.group(1)) >= 20
    again = await (await client.get("/admin/restream")).text()
    assert "nvr-page-01" in again and password.group(1) not in again
    taken = await client.post(
        "/admin/restream",
        data={"_csrf": csrf, "name": "nvr-page-01", "unit": "431226203000"},
        allow_redirects=False,
    )
    assert taken.headers["Location"].endswith("error=restream_name_taken")
    english = await (await client.get("/admin/restream?lang=en")).text()
    listed = await (await client.get("/api/restream/accounts")).json()
    (account,) = [a for a in listed["accounts"] if a["name"] == "nvr-page-01"]
    revoked = await client.post(
        f"/admin/restream/{account['id']}/revoke", data={"_csrf": csrf}, allow_redirects=False
    )
    assert revoked.status == 303
    listed = await (await client.get("/api/restream/accounts")).json()
    assert [a["revoked"] for a in listed["accounts"] if a["name"] == "nvr-page-01"] == [True]
    assert "RTSP restream" in english and "New restream account" in english


async def test_operators_and_other_units_cannot_manage_accounts(client: TestClient) -> None:
    csrf = await login(client, "hpx.watch")
    response = await client.post(
        "/api/restream/accounts",
        json={"name": "nvr-x-01", "unit": "431226203000"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 403
    await client.delete("/api/session", headers={"X-CSRF-Token": csrf})
    client.session.cookie_jar.clear()
    csrf = await login(client, "gc.admin")  # 高村镇: another township
    response = await client.post(
        "/api/restream/accounts",
        json={"name": "nvr-x-02", "unit": "431226203000"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 403
