"""The meeting schedule API through the full application: series, occurrences in Beijing
time, one-off changes, start and end by the chair only, scope."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from meetings import BEIJING
from tests.helpers import login as _login

TOWNSHIP = "431226203000"  # 和平溪乡: hpx.chair is its 政法委员
VILLAGE = "431226203201"
OTHER_VILLAGE = "431226203202"  # nmq.watch's unit
OTHER_TOWNSHIP = "431226100000"  # gc.admin's unit


async def as_user(client: TestClient, username: str) -> dict[str, str]:
    client.session.cookie_jar.clear()
    return {"X-CSRF-Token": await _login(client, username)}


def next_weekday(iso: int) -> date:
    today = datetime.now(BEIJING).date() + timedelta(days=1)
    return today + timedelta(days=(iso - today.isoweekday()) % 7)


async def township_series(client: TestClient, **extra: Any) -> dict[str, Any]:
    headers = await as_user(client, "hpx.admin")
    body = {"unit": TOWNSHIP, "title": "和平溪乡综治中心周五联席例会", "kind": "township_weekly"}
    response = await client.post("/api/meetings", json={**body, **extra}, headers=headers)
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def occurrences(client: TestClient, query: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/meetings?{query}")
    assert response.status == 200, await response.text()
    return list((await response.json())["occurrences"])


async def test_township_meeting_defaults_friday_0900_its_chair_and_every_village(
    client: TestClient,
) -> None:
    series = await township_series(client)
    assert series["weekday"] == 5 and series["start"] == "09:00"
    assert series["chair"] == "hpx.chair"  # the township's chair role, not its creator
    sites = {(a["role"], a["unit"]) for a in series["attendees"]}
    for village in ("431226203201", "431226203202", "431226203203", "431226203204"):
        assert ("village", village) in sites
    roles = {a["role"] for a in series["attendees"]}
    assert {"police_station", "judicial_office", "court", "linked_leader"} <= roles
    friday = next_weekday(5)
    found = await occurrences(
        client, f"unit={TOWNSHIP}&from={friday}&to={friday + timedelta(days=20)}"
    )
    assert [o["day"] for o in found] == [str(friday + timedelta(days=7 * i)) for i in range(3)]
    first = found[0]
    assert first["id"] == f"{series['id']}-{friday:%Y%m%d}"
    assert first["local_start"] == f"{friday} 09:00"
    # 09:00 in Beijing is 01:00 UTC the same day
    assert datetime.fromisoformat(first["starts_at"]) == datetime(
        friday.year, friday.month, friday.day, 1, 0, tzinfo=UTC
    )
    assert first["state"] == "scheduled" and first["node_id"] is None


async def test_a_village_sees_the_township_meeting_it_attends_another_township_does_not(
    client: TestClient,
) -> None:
    series = await township_series(client)
    friday = next_weekday(5)
    occurrence = f"{series['id']}-{friday:%Y%m%d}"
    await as_user(client, "nmq.watch")  # a village of the township: a required attendee
    assert [o["id"] for o in await occurrences(client, f"from={friday}&to={friday}")] == [
        occurrence
    ]
    assert (await client.get(f"/api/meetings/occurrences/{occurrence}")).status == 200
    await as_user(client, "gc.admin")  # another township
    assert await occurrences(client, f"from={friday}&to={friday}") == []
    response = await client.get(f"/api/meetings?unit={TOWNSHIP}&from={friday}&to={friday}")
    assert response.status == 404
    response = await client.get(f"/api/meetings/occurrences/{occurrence}")
    assert response.status == 404
    assert "scope" in (await response.json())["message"]
    headers = await as_user(client, "gc.admin")
    response = await client.post(f"/api/meetings/occurrences/{occurrence}/start", headers=headers)
    assert response.status == 404


async def test_only_the_chair_starts_and_ends_and_the_running_room_names_its_process(
    client: TestClient,
) -> None:
    series = await township_series(client)
    occurrence = f"{series['id']}-{next_weekday(5):%Y%m%d}"
    headers = await as_user(client, "hpx.admin")  # may manage, is not the chair
    response = await client.post(f"/api/meetings/occurrences/{occurrence}/start", headers=headers)
    assert response.status == 403
    assert (await response.json())["error"] == "not_chair"
    headers = await as_user(client, "hpx.chair")
    response = await client.post(f"/api/meetings/occurrences/{occurrence}/start", headers=headers)
    assert response.status == 200, await response.text()
    running = await response.json()
    assert running["state"] == "running" and running["node_id"]
    assert running["started_at"] is not None
    again = await client.post(f"/api/meetings/occurrences/{occurrence}/start", headers=headers)
    assert (await again.json())["started_at"] == running["started_at"]  # idempotent
    listed = await (await client.get(f"/api/meetings/occurrences/{occurrence}")).json()
    assert listed["node_id"] == running["node_id"]
    headers = await as_user(client, "nmq.watch")
    response = await client.post(f"/api/meetings/occurrences/{occurrence}/end", headers=headers)
    assert response.status == 403
    headers = await as_user(client, "hpx.chair")
    response = await client.post(f"/api/meetings/occurrences/{occurrence}/end", headers=headers)
    ended = await response.json()
    assert ended["state"] == "ended" and ended["node_id"] is None and ended["ended_at"]
    response = await client.post(f"/api/meetings/occurrences/{occurrence}/end", headers=headers)
    assert response.status == 409
    await as_user(client, "county.audit")
    audit = await (await client.get("/api/audit?limit=50")).json()
    actions = [e["action"] for e in audit["entries"] if e["object_id"] == occurrence]
    assert "meeting.start" in actions and "meeting.end" in actions


async def test_one_off_move_cancel_agenda_and_minutes(client: TestClient) -> None:
    series = await township_series(client)
    friday = next_weekday(5)
    moved_id = f"{series['id']}-{friday:%Y%m%d}"
    cancelled_id = f"{series['id']}-{friday + timedelta(days=7):%Y%m%d}"
    headers = await as_user(client, "hpx.chair")
    saturday = friday + timedelta(days=1)
    response = await client.patch(
        f"/api/meetings/occurrences/{moved_id}",
        json={
            "start": f"{saturday} 10:30",
            "note": "防汛调度，改至周六",
            "agenda": "一、矛盾纠纷排查",
        },
        headers=headers,
    )
    assert response.status == 200, await response.text()
    moved = await response.json()
    assert moved["moved"] and moved["local_start"] == f"{saturday} 10:30"
    assert moved["agenda"] == "一、矛盾纠纷排查"
    response = await client.patch(
        f"/api/meetings/occurrences/{cancelled_id}",
        json={"cancelled": True, "note": "节假日"},
        headers=headers,
    )
    assert (await response.json())["cancelled"] is True
    found = {
        o["id"]: o
        for o in await occurrences(
            client, f"unit={TOWNSHIP}&from={friday}&to={friday + timedelta(days=14)}"
        )
    }
    assert found[moved_id]["local_start"] == f"{saturday} 10:30"  # same id, new time
    assert found[cancelled_id]["cancelled"] is True
    # asking for the original Friday alone no longer lists the moved meeting
    assert moved_id not in {
        o["id"] for o in await occurrences(client, f"from={friday}&to={friday}")
    }
    response = await client.post(f"/api/meetings/occurrences/{cancelled_id}/start", headers=headers)
    assert response.status == 409
    response = await client.patch(
        f"/api/meetings/occurrences/{moved_id}", json={"minutes": "会议纪要：……"}, headers=headers
    )
    detail = await (await client.get(f"/api/meetings/occurrences/{moved_id}")).json()
    assert detail["minutes"] == "会议纪要：……" and detail["agenda"] == "一、矛盾纠纷排查"
    assert detail["attendees"][0]["role"] == "host"
    headers = await as_user(client, "nmq.watch")
    response = await client.patch(
        f"/api/meetings/occurrences/{moved_id}", json={"cancelled": True}, headers=headers
    )
    assert response.status == 403


async def test_village_weekly_and_adhoc(client: TestClient) -> None:
    headers = await as_user(client, "hpx.chair")
    response = await client.post(
        "/api/meetings",
        json={
            "unit": VILLAGE,
            "title": "和平溪村周四联席例会",
            "kind": "village_weekly",
            "start": "15:00",
        },
        headers=headers,
    )
    assert response.status == 201, await response.text()
    village = await response.json()
    assert village["weekday"] == 4 and village["chair"] == "hpx.chair"
    assert [a["role"] for a in village["attendees"]] == [
        "host",
        "linked_leader",
        "resident_official",
    ]
    day = next_weekday(2)
    response = await client.post(
        "/api/meetings",
        json={"unit": TOWNSHIP, "title": "山林纠纷专题会", "kind": "adhoc", "date": str(day)},
        headers=headers,
    )
    adhoc = await response.json()
    found = await occurrences(client, f"unit={TOWNSHIP}&from={day}&to={day + timedelta(days=30)}")
    assert [o["id"] for o in found if o["series_id"] == adhoc["id"]] == [
        f"{adhoc['id']}-{day:%Y%m%d}"
    ]


async def test_bad_series_are_refused_and_nothing_is_written(client: TestClient) -> None:
    headers = await as_user(client, "hpx.admin")
    base = {"unit": TOWNSHIP, "title": "例会", "kind": "township_weekly"}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"kind": "monthly"}, 400, "kind must be"),
        ({"start": "25:00"}, 400, "HH:MM"),
        ({"weekday": 0}, 400, "weekday"),
        ({"kind": "village_weekly"}, 400, "village"),
        ({"kind": "adhoc"}, 400, "date"),
        ({"chair": "nobody"}, 400, "no active account"),
        ({"chair": "nmq.watch"}, 400, "cannot chair"),
        ({"duration_minutes": 2}, 400, "duration"),
        ({"date": "2026-13-01"}, 400, "YYYY-MM-DD"),
        ({"title": "  "}, 400, "title"),
        ({"extra": 1}, 400, "unknown field"),
        ({"attendees": [{"role": "mayor", "site": "x"}]}, 400, "role"),
        ({"unit": OTHER_TOWNSHIP}, 404, "scope"),
    ]
    for change, status, message in cases:
        response = await client.post("/api/meetings", json={**base, **change}, headers=headers)
        assert response.status == status, (change, await response.text())
        assert message in (await response.json())["message"], change
    assert await occurrences(client, "from=2020-01-01&to=2021-01-01") == []
    assert (await client.get("/api/meetings?from=2026-01-01&to=2028-01-01")).status == 400
    assert (await client.get("/api/meetings?from=yesterday")).status == 400
    assert (await client.get("/api/meetings/occurrences/1-2026")).status == 404
    headers = await as_user(client, "nmq.watch")  # an operator cannot create meetings
    response = await client.post(
        "/api/meetings",
        json={**base, "unit": OTHER_VILLAGE, "kind": "village_weekly"},
        headers=headers,
    )
    assert response.status == 403


async def test_each_person_has_a_calendar_feed_link(client: TestClient) -> None:
    series = await township_series(client)
    friday = next_weekday(5)
    cancelled = f"{series['id']}-{friday + timedelta(days=7):%Y%m%d}"
    headers = await as_user(client, "hpx.chair")
    await client.patch(
        f"/api/meetings/occurrences/{cancelled}", json={"cancelled": True}, headers=headers
    )
    await as_user(client, "nmq.watch")  # a village that attends the township meeting
    link = await (await client.get("/api/meetings/calendar")).json()
    assert link["path"].startswith("/api/meetings/calendar/") and link["path"].endswith(".ics")
    client.session.cookie_jar.clear()  # a calendar app has no session
    response = await client.get(link["path"])
    assert response.status == 200 and response.content_type == "text/calendar"
    text = await response.text()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    unfolded = text.replace("\r\n ", "")
    assert f"UID:{series['id']}-{friday:%Y%m%d}@zongzhi-gateway" in unfolded
    assert f"DTSTART:{friday:%Y%m%d}T010000Z" in unfolded  # 09:00 Beijing
    assert "SUMMARY:和平溪乡综治中心周五联席例会" in unfolded
    event = unfolded.split(f"UID:{cancelled}@zongzhi-gateway")[1].split("END:VEVENT")[0]
    assert "STATUS:CANCELLED" in event
    forged = link["path"].replace(".ics", "0.ics")
    assert (await client.get(forged)).status == 404
    assert (await client.get("/api/meetings/calendar/x-y.ics")).status == 404
    await as_user(client, "gc.admin")  # another township's feed holds none of them
    other = await (await client.get("/api/meetings/calendar")).json()
    client.session.cookie_jar.clear()
    assert "和平溪乡综治中心周五联席例会" not in await (await client.get(other["path"])).text()


async def test_the_dashboard_shows_the_next_meetings(client: TestClient) -> None:
    await township_series(client)  # next Friday: within the week ahead
    await as_user(client, "nmq.watch")
    page = await (await client.get("/")).text()
    assert "今日及近期会议" in page and "和平溪乡综治中心周五联席例会" in page
    await as_user(client, "gc.admin")  # another township: not its meeting
    assert "和平溪乡综治中心周五联席例会" not in await (await client.get("/")).text()


async def test_monthly_attendance_page(client: TestClient) -> None:
    series = await township_series(client)
    friday = next_weekday(5)
    occurrence = f"{series['id']}-{friday:%Y%m%d}"
    headers = await as_user(client, "hpx.chair")
    await client.post(f"/api/meetings/occurrences/{occurrence}/start", headers=headers)
    await client.post(f"/api/meetings/occurrences/{occurrence}/end", headers=headers)
    page = await (
        await client.get(f"/meetings/monthly?unit={TOWNSHIP}&month={friday:%Y-%m}")
    ).text()
    assert "月度考勤汇总" in page and "和平溪乡综治中心周五联席例会" in page
    assert f"/meetings/{occurrence}/attendance" in page
    summary = await (
        await client.get(f"/api/meetings/attendance/monthly?unit={TOWNSHIP}&month={friday:%Y-%m}")
    ).json()
    (held,) = [m for m in summary["meetings"] if m["id"] == occurrence]
    assert held["state"] == "ended" and held["present"] == 0 and held["absent"] > 5
    assert summary["sites"]["和平溪村"]["absent"] == 1
    attendance_page = await (await client.get(f"/meetings/{occurrence}/attendance")).text()
    assert "会议录像" in attendance_page and "本次会议没有录像。" in attendance_page

    # the downloads, read back: the unit by its name (not its code), the same counts
    query = f"unit={TOWNSHIP}&month={friday:%Y-%m}"
    assert f"/api/meetings/attendance/monthly.xlsx?unit={TOWNSHIP}&amp;month=" in page
    response = await client.get(f"/api/meetings/attendance/monthly.csv?{query}")
    assert response.status == 200 and response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert rows[0] == ["月度考勤汇总"] and rows[1] == ["单位", "麻阳苗族自治县和平溪乡综治中心"]
    assert TOWNSHIP not in {cell for row in rows for cell in row}
    (meeting_row,) = [r for r in rows if r[:2] == [held["local_start"], held["title"]]]
    assert meeting_row[2] == "已结束" and meeting_row[3:6] == ["0", "0", str(held["absent"])]
    (village_row,) = [r for r in rows if r[:1] == ["和平溪村"]]
    assert village_row[1:4] == ["0", "0", "1"]
    response = await client.get(f"/api/meetings/attendance/monthly.xlsx?{query}&lang=en")
    assert response.status == 200
    book = load_workbook(io.BytesIO(await response.read()))
    sheet = book.active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert cells[0][0] == "Monthly attendance" and cells[1][:2] == [
        "Unit",
        "麻阳苗族自治县和平溪乡综治中心",
    ]
    (meeting_cells,) = [r for r in cells if r[:2] == [held["local_start"], held["title"]]]
    assert meeting_cells[2] == "ended" and meeting_cells[5] == held["absent"]  # a number
    (village_cells,) = [r for r in cells if r[0] == "和平溪村"]
    assert village_cells[1:4] == [0, 0, 1]
    bad = await client.get(f"/api/meetings/attendance/monthly.csv?unit={TOWNSHIP}&month=2026-13")
    assert bad.status == 400

    await as_user(client, "gc.admin")
    assert (await client.get(f"/meetings/monthly?unit={TOWNSHIP}")).status == 404
    other = await client.get(f"/api/meetings/attendance/monthly.xlsx?unit={TOWNSHIP}")
    assert other.status == 404
