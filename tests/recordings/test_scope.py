"""Scope and paging of the recordings list, on index rows written straight to the database
(no camera needed): the caller's scope is SQL, applied before the page is cut."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from recordings import EvidenceExportRow, RecordingRow
from recordings._models import RecordingCaseRow, RecordingSegmentRow
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
        ("?offset=-1", "offset must be between 0 and"),
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


async def _own_case(client: TestClient, csrf: str) -> int:
    response = await client.post(
        "/api/cases",
        json={
            "dispute_type": "family",
            "channel": "window",
            "summary": "宅基地边界纠纷",
            "parties": [{"name": "张三"}, {"name": "李四", "role": "respondent"}],
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 201, await response.text()
    return int((await response.json())["id"])


async def test_out_of_scope_ids_answer_like_missing_ones(client: TestClient) -> None:
    """Every recordings route with an id: another village's recording, link or export
    answers exactly as one that does not exist (404, same code, same words)."""
    csrf = await login(client, "hpxc.mediator")  # village 431226203201, may control/export
    case_id = await _own_case(client, csrf)
    other = recording("rec-other", OTHER_VILLAGE, NOON)
    async with client.app[DB].transaction() as session:
        session.add(other)
        await session.flush()
        session.add(
            RecordingSegmentRow(
                recording_id=other.id,
                idx=0,
                name="00000.mp4",
                start=NOON,
                end=NOON + timedelta(minutes=1),
                bytes=0,
                sha256="0" * 64,
                chain="0" * 64,
            )
        )
        link = RecordingCaseRow(
            recording_id=other.id, case_id=case_id, note="", attached_by="user:test"
        )
        session.add(link)
        session.add(
            EvidenceExportRow(
                id="exp-other",
                case_id=case_id,
                unit_code=OTHER_VILLAGE,
                requested_by="user:test",
                reason="法院调取",
                ranges="[]",
                state="done",
                path="exp-other.zip",
            )
        )
        await session.flush()
        link_id = link.id
    headers = {"X-CSRF-Token": csrf}
    span = {"start": "2026-11-23T04:00:00Z", "end": "2026-11-23T04:01:00Z"}

    def requests(rid: str, link: int, export: str) -> list[tuple[str, str, dict[str, Any] | None]]:
        return [
            ("GET", f"/api/recordings/{rid}", None),
            ("GET", f"/api/recordings/{rid}/verify", None),
            ("GET", f"/api/recordings/{rid}/segments/0.mp4", None),
            ("GET", f"/api/recordings/{rid}/segments/0.jpg", None),
            ("POST", f"/api/recordings/{rid}/stop", {"reason": "x"}),
            ("POST", f"/api/cases/{case_id}/recordings", {"recording_id": rid}),
            ("DELETE", f"/api/cases/{case_id}/recordings/{link}", None),
            (
                "POST",
                f"/api/cases/{case_id}/exports",
                {"reason": "x", "ranges": [{"recording_id": rid, **span}]},
            ),
            ("GET", f"/api/exports/{export}", None),
            ("GET", f"/api/exports/{export}/download", None),
        ]

    hidden = requests("rec-other", link_id, "exp-other")
    missing = requests("rec-missing", 999999, "exp-missing")
    for (method, url, body), (_, missing_url, missing_body) in zip(hidden, missing, strict=True):
        answer = await client.request(method, url, json=body, headers=headers)
        absent = await client.request(method, missing_url, json=missing_body, headers=headers)
        assert answer.status == absent.status == 404, (url, await answer.text())
        got, expected = await answer.json(), await absent.json()
        assert got["error"] == expected["error"], url
        for a, b in [("rec-missing", "rec-other"), ("link 999999", f"link {link_id}")]:
            expected["message"] = expected["message"].replace(a, b)
        expected["message"] = expected["message"].replace("exp-missing", "exp-other")
        assert got["message"] == expected["message"], url
    page = await client.get("/recordings/rec-other")
    assert page.status == (await client.get("/recordings/rec-missing")).status == 404
    # nothing was changed on the way
    async with client.app[DB].transaction() as session:
        assert await session.get(RecordingCaseRow, link_id) is not None
    # the township above both villages does see it
    client.session.cookie_jar.clear()
    await login(client, "hpx.watch")
    assert (await client.get("/api/recordings/rec-other")).status == 200
