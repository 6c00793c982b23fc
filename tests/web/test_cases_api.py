"""The case API through the full application: intake, sessions, 3221, scope, PII, bad input."""

from __future__ import annotations

import io
import logging
from datetime import datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from cases import Month, china_date
from tests.helpers import login as _login


async def login(client: TestClient, username: str) -> str:
    """Switch user: drop the previous session cookie, then sign in."""
    client.session.cookie_jar.clear()
    return await _login(client, username)


VILLAGE = "431226203201"  # hpxc.mediator's unit
OTHER_VILLAGE = "431226203202"
TOWNSHIP = "431226203000"
OTHER_TOWNSHIP = "431226100000"
OTHER_TOWNSHIP_VILLAGE = "431226100201"
ID_NUMBER = "431226199001011235"
PHONE = "13807451234"
NAME = "滕小花"

INTAKE: dict[str, Any] = {
    "dispute_type": "land_forest",
    "channel": "window",
    "summary": "山林界址争议",
    "parties": [
        {"name": NAME, "role": "applicant", "id_number": ID_NUMBER, "phone": PHONE},
        {"name": "舒大军", "role": "respondent"},
    ],
}


async def _as(client: TestClient, username: str) -> dict[str, str]:
    return {"X-CSRF-Token": await login(client, username)}


async def _room(client: TestClient, unit: str) -> int:
    """The mediation room of ``unit`` (looked up by the county admin, who sees them all)."""
    await login(client, "county.admin")
    rooms = (await (await client.get(f"/api/rooms?unit={unit}")).json())["rooms"]
    return int(next(r["id"] for r in rooms if r["unit"] == unit and r["kind"] == "mediation"))


async def _state(client: TestClient) -> tuple[int, int, int]:
    """(cases, their sessions, case audit entries) as the county admin sees them.

    Signing in is audited too, so only the entries about cases are compared.
    """
    await login(client, "county.admin")
    cases = (await (await client.get("/api/cases?limit=200")).json())["cases"]
    sessions = 0
    for case in cases:
        sessions += len((await (await client.get(f"/api/cases/{case['id']}")).json())["sessions"])
    audit = (await (await client.get("/api/audit?limit=500")).json())["entries"]
    return len(cases), sessions, sum(e["action"].startswith("case.") for e in audit)


async def _new_case(client: TestClient, username: str, unit: str | None = None) -> dict[str, Any]:
    headers = await _as(client, username)
    body = {**INTAKE, **({"unit": unit} if unit else {})}
    response = await client.post("/api/cases", json=body, headers=headers)
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def test_intake_and_get(client: TestClient) -> None:
    case = await _new_case(client, "hpxc.mediator")
    assert case["level"] == "village" and isinstance(case["id"], int)
    assert case["number"] == f"{VILLAGE}-{case['received_at'][:4]}-000001"
    assert case["parties"][0]["name"] == "滕*花" and case["due"] is None
    got = await (await client.get(f"/api/cases/{case['id']}")).json()
    assert got["status"] == "received" and got["sessions"] == [] and got["flags"] == []


async def test_sessions_escalation_due_and_refusals(client: TestClient) -> None:
    case = await _new_case(client, "hpxc.mediator")
    room, other_room = await _room(client, VILLAGE), await _room(client, OTHER_VILLAGE)
    headers = await _as(client, "hpxc.mediator")
    url = f"/api/cases/{case['id']}"
    session = {"room_id": room, "mediators": ["杨德福"], "outcome": "failed"}
    for _ in range(2):
        response = await client.post(f"{url}/sessions", json=session, headers=headers)
        assert response.status == 201, await response.text()
    before = await _state(client)
    headers = await _as(client, "hpxc.mediator")
    refused = await client.post(f"{url}/escalate", json={"to_level": "township"}, headers=headers)
    assert refused.status == 409
    body = await refused.json()
    assert body["error"] == "escalation_too_early" and "2 times without success" in body["message"]
    wrong = await client.post(
        f"{url}/sessions", json={**session, "room_id": other_room}, headers=headers
    )
    assert wrong.status == 400 and (await wrong.json())["error"] == "room_not_allowed"
    assert await _state(client) == before

    headers = await _as(client, "hpxc.mediator")
    third = await client.post(
        f"{url}/sessions",
        json={
            **session,
            "outcome": "partly",
            "linked_leader": "张明亮",
            "resident_official": "田小燕",
        },
        headers=headers,
    )
    # Recorded after the fact: the gateway has a recorder, but nothing was running to record.
    assert (await third.json())["recording_note"] == "held without recording"
    due = await (await client.get(url)).json()
    assert due["due"]["target"] == "township" and due["assessment"]["unresolved"] == 3
    up = await client.post(f"{url}/escalate", json={"to_level": "township"}, headers=headers)
    assert up.status == 200
    assert (await up.json())["current_unit"] == TOWNSHIP


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"dispute_type": "kitchen"}, "unknown_dispute_type"),
        ({"parties": [{"name": NAME, "id_number": "431226199001011234"}]}, "invalid_id_number"),
        ({"parties": [{"name": NAME, "phone": "021-123"}]}, "invalid_phone"),
        ({"colour": "red"}, "invalid_input"),
        ({"unit": OTHER_TOWNSHIP_VILLAGE}, "scope_forbidden"),
    ],
)
async def test_bad_intake_is_refused_and_changes_nothing(
    client: TestClient, change: dict[str, Any], code: str
) -> None:
    before = await _state(client)
    headers = await _as(client, "hpxc.mediator")
    response = await client.post("/api/cases", json={**INTAKE, **change}, headers=headers)
    assert response.status in (400, 403)
    assert (await response.json())["error"] == code
    assert await _state(client) == before


async def _visible(client: TestClient, username: str, case_id: int) -> tuple[int, bool]:
    await login(client, username)
    single = (await client.get(f"/api/cases/{case_id}")).status
    listed = (await (await client.get("/api/cases?limit=200")).json())["cases"]
    return single, any(c["id"] == case_id for c in listed)


async def test_scope_matrix(client: TestClient) -> None:
    """village / township / county × own / other / escalated."""
    own_village = await _new_case(client, "hpxc.mediator")
    other_township = await _new_case(client, "county.admin", OTHER_TOWNSHIP_VILLAGE)
    township_case = await _new_case(client, "hpx.mediator")
    # The township's case goes to the county after two failed mediations.
    room = await _room(client, TOWNSHIP)
    headers = await _as(client, "hpx.mediator")
    for _ in range(2):
        await client.post(
            f"/api/cases/{township_case['id']}/sessions",
            json={"room_id": room, "mediators": ["舒国强"], "outcome": "failed"},
            headers=headers,
        )
    up = await client.post(
        f"/api/cases/{township_case['id']}/escalate", json={"to_level": "county"}, headers=headers
    )
    assert up.status == 200 and (await up.json())["current_unit"] == "431226000000"

    expected = {
        # village mediator: own case yes; other township's no; the township's escalated no
        "hpxc.mediator": (True, False, False),
        "hpx.mediator": (True, False, True),
        "county.audit": (True, True, True),
    }
    for username, visible in expected.items():
        for case, ok in zip((own_village, other_township, township_case), visible, strict=True):
            status, listed = await _visible(client, username, case["id"])
            assert (status == 200, listed) == (ok, ok), (username, case["number"])
            if not ok:
                assert status == 404

    # After escalation the township still reads the case but the county handles it.
    headers = await _as(client, "hpx.mediator")
    late = await client.post(
        f"/api/cases/{township_case['id']}/close",
        json={"resolved": True, "note": "已化解"},
        headers=headers,
    )
    assert late.status == 403


async def test_pii_is_masked_in_lists_revealed_only_with_permission_and_never_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    case = await _new_case(client, "hpxc.mediator")
    for username in ("hpxc.mediator", "hpx.mediator", "county.audit"):
        await login(client, username)
        text = await (await client.get("/api/cases")).text()
        text += await (await client.get(f"/api/cases/{case['id']}")).text()
        text += await (await client.get("/cases")).text()
        text += await (await client.get(f"/cases/{case['id']}")).text()
        for secret in (NAME, ID_NUMBER, PHONE):
            assert secret not in text, (username, secret)
        assert "滕*花" in text
    party = case["parties"][0]["id"]
    headers = await _as(client, "county.audit")
    denied = await client.post(f"/api/cases/{case['id']}/parties/{party}/reveal", headers=headers)
    assert denied.status == 403
    headers = await _as(client, "hpx.mediator")
    shown = await client.post(f"/api/cases/{case['id']}/parties/{party}/reveal", headers=headers)
    assert shown.status == 200
    assert (await shown.json())["id_number"] == ID_NUMBER
    await login(client, "county.admin")
    audit = await (await client.get("/api/audit?limit=5")).json()
    reveals = [e for e in audit["entries"] if e["action"] == "case.pii.reveal"]
    assert [e["actor"] for e in reveals] == ["user:hpx.mediator"]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in (NAME, ID_NUMBER, PHONE):
        assert secret not in logged
    assert all(secret not in str(audit) for secret in (NAME, ID_NUMBER, PHONE))


async def test_ledger_kpi_board_and_downloads(client: TestClient) -> None:
    case = await _new_case(client, "hpxc.mediator")
    headers = await _as(client, "hpxc.mediator")
    await client.post(
        f"/api/cases/{case['id']}/close",
        json={"resolved": True, "note": "当场调解成功"},
        headers=headers,
    )
    month = case["received_at"][:7]
    await login(client, "hpx.mediator")
    ledger = await (await client.get(f"/api/ledger?unit={TOWNSHIP}&month={month}")).json()
    # The case may fall into this month's period or the next one (after the 25th).
    assert ledger["unit"] == TOWNSHIP and ledger["received"] in (0, 1)
    csv = await client.get(f"/api/ledger?unit={TOWNSHIP}&month={month}&format=csv")
    assert csv.status == 200 and "社会矛盾纠纷排查化解综合台账" in (await csv.read()).decode(
        "utf-8-sig"
    )
    xlsx = await client.get(f"/api/ledger?unit={TOWNSHIP}&month={month}&format=xlsx")
    body = await xlsx.read()
    assert xlsx.status == 200 and body[:2] == b"PK"
    # Units by name in the exported table, not bare division codes.
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert any(c.startswith("麻阳苗族自治县和平溪乡综治中心") and TOWNSHIP in c for c in cells)
    assert VILLAGE not in cells  # every unit row carries its name
    kpi = await (await client.get(f"/api/kpi?unit={TOWNSHIP}&year={month[:4]}")).json()
    assert kpi["cases"] == 1 and kpi["limit"] == 0.1 and kpi["within_limit"]
    board = await (await client.get(f"/api/ledger/board?month={month}")).json()
    assert {r["unit"] for r in board["reports"]} >= {TOWNSHIP, VILLAGE}
    assert (await client.get(f"/api/ledger?unit={OTHER_TOWNSHIP}&month={month}")).status == 403
    bad = await client.get(f"/api/ledger?unit={TOWNSHIP}&month=2024-13")
    assert bad.status == 400


async def test_pages_render(client: TestClient) -> None:
    case = await _new_case(client, "hpxc.mediator")
    await login(client, "hpx.mediator")
    for path in ("/cases", "/cases/new", f"/cases/{case['id']}", "/ledger", "/cases?type=labour"):
        response = await client.get(path)
        assert response.status == 200, (path, await response.text())
    page = await (await client.get("/ledger")).text()
    for chart in ("chart-trend", "chart-types", "chart-funnel", "chart-kpi"):
        assert chart in page
    assert "社会矛盾纠纷排查化解综合台账" in page and 'style="' not in page


async def test_dispute_types_are_configured_by_the_county_admin_only(client: TestClient) -> None:
    headers = await _as(client, "hpx.admin")
    tea = {"key": "tea_garden", "label_zh": "茶园承包纠纷", "ledger_column": "land_forest"}
    response = await client.post("/api/dispute-types", json=tea, headers=headers)
    assert response.status == 403
    response = await client.patch(
        "/api/dispute-types/other", json={"active": False}, headers=headers
    )
    assert response.status == 403

    headers = await _as(client, "county.admin")
    response = await client.post("/api/dispute-types", json=tea, headers=headers)
    assert response.status == 201, await response.text()
    assert (await response.json())["ledger_column"] == "land_forest"
    types = (await (await client.get("/api/dispute-types")).json())["types"]
    assert [t["key"] for t in types][-2:] == ["other", "tea_garden"] and len(types) == 11

    headers = await _as(client, "hpxc.mediator")
    response = await client.post(
        "/api/cases", json={**INTAKE, "dispute_type": "tea_garden"}, headers=headers
    )
    assert response.status == 201, await response.text()
    # The ledger month whose statistical period (26th to 25th) holds the intake day.
    day = china_date(datetime.fromisoformat((await response.json())["received_at"]))
    month = Month.of(day).next() if day.day > 25 else Month.of(day)
    ledger = await (await client.get(f"/api/ledger?unit={VILLAGE}&month={month}")).json()
    assert ledger["by_type"]["land_forest"] >= 1 and "tea_garden" not in ledger["by_type"]
    assert sum(ledger["by_type"].values()) == ledger["received"]

    headers = await _as(client, "county.admin")
    response = await client.patch(
        "/api/dispute-types/tea_garden", json={"active": False}, headers=headers
    )
    assert response.status == 200 and (await response.json())["active"] is False
    before = await _state(client)
    headers = await _as(client, "hpxc.mediator")
    for key in ("tea_garden", "kitchen"):
        response = await client.post(
            "/api/cases", json={**INTAKE, "dispute_type": key}, headers=headers
        )
        body = await response.json()
        assert response.status == 400 and body["error"] == "unknown_dispute_type"
        assert "use one of: neighbourhood, family, land_forest" in body["message"]
        assert "tea_garden" not in body["message"].split("use one of:")[1]
    assert await _state(client) == before
    active = (await (await client.get("/api/dispute-types?active=true")).json())["types"]
    assert "tea_garden" not in [t["key"] for t in active]


async def test_dispute_type_admin_section_and_intake_form(client: TestClient) -> None:
    token = await login(client, "hpx.admin")
    page = await (await client.get("/ledger")).text()
    assert 'data-testid="dispute-types"' in page and 'data-testid="add-type"' not in page
    form = {"_csrf": token, "action": "add", "key": "fishing", "label_zh": "渔业纠纷"}
    response = await client.post("/ledger/dispute-types", data=form, allow_redirects=False)
    assert response.status == 303 and "error=" in response.headers["Location"]

    token = await login(client, "county.admin")
    page = await (await client.get("/ledger")).text()
    assert 'data-testid="add-type"' in page and "邻里纠纷" in page
    response = await client.post(
        "/ledger/dispute-types", data={**form, "_csrf": token}, allow_redirects=False
    )
    assert response.status == 303 and "types_saved" in response.headers["Location"]
    rename = {"_csrf": token, "action": "rename", "key": "fishing", "label_zh": "渔业养殖纠纷"}
    response = await client.post("/ledger/dispute-types", data=rename, allow_redirects=False)
    assert "types_saved" in response.headers["Location"]

    await login(client, "hpxc.mediator")
    new = await (await client.get("/cases/new")).text()
    assert 'value="fishing"' in new and "渔业养殖纠纷" in new

    token = await login(client, "county.admin")
    off = {"_csrf": token, "action": "deactivate", "key": "fishing"}
    response = await client.post("/ledger/dispute-types", data=off, allow_redirects=False)
    assert "types_saved" in response.headers["Location"]
    await login(client, "hpxc.mediator")
    assert 'value="fishing"' not in await (await client.get("/cases/new")).text()
    listing = await (await client.get("/cases")).text()
    assert 'value="fishing"' in listing and "已停用" in listing  # still a filter
