"""Scope and paging of the recordings list, on index rows written straight to the database
(no camera needed): the caller's scope is SQL, applied before the page is cut."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from recordings import RecordingRow
from tests.helpers import login
from web import DB

COUNTY = "431226000000"
VILLAGE = "431226203201"  # 和平溪村 (hpxc.mediator)
OTHER_VILLAGE = "431226203202"  # 楠木桥村, same township
NOON = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def recording(rid: str, unit: str, started: datetime) -> RecordingRow:
    return RecordingRow(
        id=rid,
        camera_id=None,
        unit_code=unit,
        room_id=None,
        mode="manual",
        state="stopped",
        reason="接待",
        started_by="user:test",
        started_at=started,
        stopped_at=started + timedelta(minutes=1),
        media_start=started,
        media_end=started + timedelta(minutes=1),
        bytes=0,
        segment_count=0,
        path=f"2026/11/23/{rid}",
        key_id="test",
    )


async def add(client: TestClient, rows: list[RecordingRow]) -> None:
    async with client.app[DB].transaction() as session:
        session.add_all(rows)


async def page(client: TestClient, query: str = "") -> dict[str, Any]:
    response = await client.get(f"/api/recordings{query}")
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def test_a_village_sees_its_own_behind_the_countys_newest(client: TestClient) -> None:
    # 250 county recordings, all newer than the village's three and its neighbour's one
    county = [
        recording(f"rec-county-{i:03d}", COUNTY, NOON + timedelta(minutes=i)) for i in range(250)
    ]
    village = [
        recording(f"rec-village-{i}", VILLAGE, NOON - timedelta(days=3, minutes=i))
        for i in range(3)
    ]
    await add(client, [*county, *village, recording("rec-other", OTHER_VILLAGE, NOON)])

    await login(client, "hpxc.mediator")
    first = await page(client)
    assert first["total"] == 3 and (first["limit"], first["offset"]) == (200, 0)
    assert [r["id"] for r in first["recordings"]] == [
        "rec-village-0",
        "rec-village-1",
        "rec-village-2",
    ]
    assert all("segments" not in r and "gaps" not in r for r in first["recordings"])
    assert first["recordings"][0]["cases"] == [] and first["recordings"][0]["legal_hold"] is None
    # pages of two: newest first, nothing repeated, nothing skipped
    two = await page(client, "?limit=2")
    rest = await page(client, "?limit=2&offset=2")
    assert [r["id"] for r in two["recordings"] + rest["recordings"]] == [
        r["id"] for r in first["recordings"]
    ]
    assert two["total"] == rest["total"] == 3

    # the township sees its two villages; the county every one of them, a page at a time
    client.session.cookie_jar.clear()
    await login(client, "hpx.watch")
    assert (await page(client))["total"] == 4
    client.session.cookie_jar.clear()
    await login(client, "county.watch")
    first = await page(client)
    assert first["total"] == 254 and len(first["recordings"]) == 200
    assert first["recordings"][0]["id"] == "rec-county-249"
    last = await page(client, "?offset=200")
    assert len(last["recordings"]) == 54
    seen = [r["id"] for r in first["recordings"] + last["recordings"]]
    assert len(set(seen)) == 254


async def test_paging_bounds_are_explained(client: TestClient) -> None:
    await login(client, "hpxc.mediator")
    for query, words in [
        ("?limit=0", "limit must be between 1 and 200"),
        ("?limit=201", "limit must be between 1 and 200"),
        ("?offset=-1", "offset must be a number"),
        ("?limit=ten", "limit must be a number"),
    ]:
        response = await client.get(f"/api/recordings{query}")
        assert response.status == 400, query
        assert words in (await response.json())["message"], query


async def test_openapi_documents_paging(client: TestClient) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    search = document["paths"]["/api/recordings"]["get"]
    params = {p["name"]: p for p in search["parameters"]}
    assert params["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 200,
        "default": 200,
    }
    assert params["offset"]["schema"]["minimum"] == 0
    assert "total" in search["description"]
    by_case = document["paths"]["/api/cases/{case_id}/recordings"]["get"]
    assert {"limit", "offset"} <= {p["name"] for p in by_case["parameters"]}
