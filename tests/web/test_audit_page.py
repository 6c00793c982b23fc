"""The audit log page for a county auditor: words and names, paging, filters, search,
export (CSV/XLSX), a live view folded into one line with its duration, scope."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, update

from core import AuditEntry, Database, Principal, Role, record
from tests.helpers import login

TOWNSHIP = "431226203000"
OTHER_TOWNSHIP = "431226100000"


async def _seed(db: Database) -> None:
    admin = Principal("user", 4, "hpx.admin", TOWNSHIP, Role.ADMIN)
    other = Principal("user", 9, "gc.admin", OTHER_TOWNSHIP, Role.ADMIN)
    async with db.transaction() as session:
        for n in range(55):
            await record(
                session, admin, "room.create", object_type="room", object_id=1,
                unit_code=TOWNSHIP, detail={"n": n},
            )  # fmt: skip
        await record(
            session, other, "room.create", object_type="room", object_id=2,
            unit_code=OTHER_TOWNSHIP, detail={"marker": "gaocun-room"},
        )  # fmt: skip
        for action in ("live.view.start", "live.view.stop"):
            await record(
                session, admin, action, object_type="camera", object_id=7,
                unit_code=TOWNSHIP, detail={"session": "abcd1234"},
            )  # fmt: skip
    async with db.transaction() as session:
        start = await session.scalar(
            select(AuditEntry.at).where(AuditEntry.action == "live.view.start")
        )
        assert start is not None
        await session.execute(
            update(AuditEntry)
            .where(AuditEntry.action == "live.view.stop")
            .values(at=start + timedelta(seconds=95))
        )


async def _rows(client: TestClient, query: str) -> tuple[str, int]:
    response = await client.get("/audit" + query)
    assert response.status == 200, await response.text()
    page = await response.text()
    return page, page.count("<tr data-code=")


def _total(page: str) -> int:
    return int(page.split('data-testid="audit-count">')[1].split(" ")[0])


async def test_audit_page_pages_filters_folds_and_exports(client: TestClient, db: Database) -> None:
    await _seed(db)
    await login(client, "county.audit")
    page, count = await _rows(client, "")
    assert count == 49 and 'rel="next"' in page  # 50 entries: the view's two are one line
    assert (
        "新增房间" in page and "room.create" not in page.split("<tbody>")[1].split("data-code")[0]
    )
    assert "和平溪乡综治中心" in page  # units by name
    total = _total(page)
    second, count2 = await _rows(client, "?page=2")
    assert count2 > 0 and 'rel="prev"' in second

    # who / what / unit / search
    _, by_gc = await _rows(client, "?who=gc.admin")
    assert by_gc == 1
    _, in_unit = await _rows(client, f"?unit={OTHER_TOWNSHIP}&what=room.create")
    assert in_unit == 1
    _, searched = await _rows(client, "?q=gaocun-room")
    assert searched == 1
    folded, views = await _rows(client, "?what=live.view")
    assert views == 1  # start and stop on one line
    assert "查看实时视频" in folded and "1分35秒" in folded and "摄像机 7" in folded

    # time range in Beijing time: nothing from tomorrow on
    today = page.split("<tbody>")[1].split("<td>")[2][:10]
    day_after = (date.fromisoformat(today) + timedelta(days=1)).isoformat()
    _, none = await _rows(client, f"?from={day_after}")
    assert none == 0
    today_page, _ = await _rows(client, f"?from={today}&to={today}&who=hpx.admin")
    assert _total(today_page) == 57

    # exports: every matching entry, unfolded, in words
    response = await client.get("/audit?format=csv&who=hpx.admin")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    text = (await response.read()).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["序号", "时间", "操作人", "动作"]
    assert len(rows) - 1 >= 57 and all("hpx.admin" in r[2] for r in rows[1:])
    response = await client.get("/audit?format=xlsx")
    assert response.status == 200
    book = load_workbook(io.BytesIO(await response.read()))
    assert book.active is not None and book.active.max_row - 1 == total


async def test_a_township_sees_only_its_subtree(client: TestClient, db: Database) -> None:
    await _seed(db)
    await login(client, "hpx.admin")
    _, count = await _rows(client, "?q=gaocun-room")
    assert count == 0
    _, own = await _rows(client, "?who=hpx.admin&what=room.create")
    assert own == 50
