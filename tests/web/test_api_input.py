"""Bad input gets a clear 4xx and changes nothing."""

from __future__ import annotations

import asyncio
import io

import pytest
from aiohttp.test_utils import TestClient

from tests.helpers import login


async def _rooms(client: TestClient) -> int:
    return len((await (await client.get("/api/rooms")).json())["rooms"])


async def _audit_entries(client: TestClient) -> int:
    return int((await (await client.get("/api/audit/verify")).json())["entries"])


@pytest.mark.parametrize(
    ("body", "content_type", "status", "needle"),
    [
        (b"{not json", "application/json", 400, "malformed JSON"),
        (
            b'{"unit": "431226203201", "kind": "mediation", "name": "x", "colour": 1}',
            "application/json",
            400,
            "unknown field(s) colour",
        ),
        (
            b'{"unit": 431226203201, "kind": "mediation", "name": "x"}',
            "application/json",
            400,
            "unit: must be a string",
        ),
        (
            b'{"unit": "431226203201", "kind": "kitchen", "name": "x"}',
            "application/json",
            400,
            "kind: must be one of reception, mediation",
        ),
        (b'{"unit": "431226203201", "name": "x"}', "application/json", 400, "kind: is required"),
        (b'["a list"]', "application/json", 400, "must be a JSON object"),
        (b"unit=1", "application/x-www-form-urlencoded", 400, "application/json"),
        (
            b'{"unit": "431226100201", "kind": "mediation", "name": "x"}',
            "application/json",
            403,
            "outside your scope",
        ),
    ],
)
async def test_bad_room_bodies(
    client: TestClient, body: bytes, content_type: str, status: int, needle: str
) -> None:
    csrf = await login(client, "hpx.admin")
    before_rooms, before_audit = await _rooms(client), await _audit_entries(client)
    response = await client.post(
        "/api/rooms", data=body, headers={"Content-Type": content_type, "X-CSRF-Token": csrf}
    )
    assert response.status == status
    payload = await response.json()
    assert needle in payload["message"] and payload["error"]
    assert await _rooms(client) == before_rooms
    assert await _audit_entries(client) == before_audit


async def test_oversize_body_is_refused(client: TestClient) -> None:
    csrf = await login(client, "hpx.admin")
    response = await client.post(
        "/api/rooms",
        data=io.BytesIO(b"x" * (2 << 20)),
        headers={"Content-Type": "application/json", "X-CSRF-Token": csrf},
    )
    assert response.status == 413
    assert "byte limit" in (await response.json())["message"]


async def test_wrong_password_is_401_and_audited(client: TestClient) -> None:
    response = await client.post("/api/session", json={"username": "hpx.admin", "password": "nope"})
    assert response.status == 401
    assert (await response.json())["error"] == "login_failed"
    await login(client, "county.audit")
    entries = (await (await client.get("/api/audit?limit=5")).json())["entries"]
    assert any(e["action"] == "login.failed" for e in entries)


async def test_csrf_token_is_required_for_cookie_sessions(client: TestClient) -> None:
    await login(client, "hpx.admin")
    body = {"unit": "431226203201", "kind": "mediation", "name": "第二调解室"}
    before = await _rooms(client)
    assert (await client.post("/api/rooms", json=body)).status == 403
    assert (
        await client.post("/api/rooms", json=body, headers={"X-CSRF-Token": "forged"})
    ).status == 403
    assert await _rooms(client) == before


async def test_signed_out_session_is_refused(client: TestClient) -> None:
    csrf = await login(client, "hpx.watch")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["zz_session"].value
    assert (await client.delete("/api/session", headers={"X-CSRF-Token": csrf})).status == 200
    response = await client.get("/api/units", cookies={"zz_session": cookie})
    assert response.status == 401
    assert "sign in" in (await response.json())["message"]


async def test_expired_session_is_refused(client: TestClient) -> None:
    from sqlalchemy import update

    from core import WebSession, utcnow
    from web import DB

    await login(client, "hpx.watch")
    async with client.app[DB].transaction() as session:
        await session.execute(update(WebSession).values(expires_at=utcnow()))
    assert (await client.get("/api/units")).status == 401


async def test_revoked_and_malformed_tokens_are_refused(client: TestClient) -> None:
    csrf = await login(client, "hpx.admin")
    created = await client.post(
        "/api/tokens",
        json={"name": "xueliang-uplink", "unit": "431226203000", "role": "operator"},
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status == 201
    token = await created.json()
    client.session.cookie_jar.clear()
    bearer = {"Authorization": f"Bearer {token['token']}"}
    units = await (await client.get("/api/units", headers=bearer)).json()
    assert {u["code"] for u in units["units"]} >= {"431226203000", "431226203201"}
    # Bearer calls need no CSRF token: no cookie, no ambient authority to forge.
    assert (await client.get("/api/me", headers=bearer)).status == 200
    await login(client, "hpx.admin")
    csrf = (await (await client.get("/api/me")).json())["csrf_token"]
    assert (
        await client.delete(f"/api/tokens/{token['id']}", headers={"X-CSRF-Token": csrf})
    ).status == 200
    client.session.cookie_jar.clear()
    revoked = await client.get("/api/units", headers=bearer)
    assert revoked.status == 401 and (await revoked.json())["error"] == "token_revoked"
    for bad in ("Bearer", "Basic abc", "Bearer not-a-token"):
        assert (await client.get("/api/units", headers={"Authorization": bad})).status == 401


async def test_unknown_api_path_is_json_404(client: TestClient) -> None:
    await login(client, "hpx.admin")
    response = await client.get("/api/nothing-here")
    assert response.status == 404 and (await response.json())["error"] == "not_found"


async def test_openapi_lists_the_routes_and_bodies(client: TestClient) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    rooms = document["paths"]["/api/rooms"]
    schema = rooms["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["kind"]["enum"] == ["reception", "mediation"]
    assert schema["additionalProperties"] is False
    assert {"/api/units", "/api/tokens", "/api/audit/verify"} <= set(document["paths"])


async def test_health_and_metrics(client: TestClient) -> None:
    assert (await (await client.get("/healthz")).json())["status"] == "ok"
    await client.get("/healthz")
    text = await (await client.get("/metrics")).text()
    assert 'gateway_http_requests_total{route="/healthz",status="200"}' in text


async def test_signed_in_reads_take_no_write_lock(client: TestClient) -> None:
    """The auth middleware reads the session; a GET writes nothing (on SQLite no
    BEGIN IMMEDIATE: readers never queue behind the audit log or the recording index)."""
    from sqlalchemy import event

    from web import DB

    await login(client, "county.admin")
    await client.get("/api/me")  # the sign-in's own activity is fresh
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        # requests run in aiohttp's unnamed tasks; the gateway's own loops have names
        task = asyncio.current_task()
        if task is not None and task.get_name().startswith("Task-"):
            statements.append(" ".join(statement.split()[:4]).upper())

    engine = client.app[DB].engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(10):
            assert (await client.get("/api/me")).status == 200
            assert (await client.get("/api/cameras")).status == 200
        for path in (
            "/",
            "/org",
            "/live",
            "/admin/users",
            "/admin/tokens",
            "/audit?verify=1",
            "/api/units",
            "/api/units/431226203000",
            "/api/rooms",
            "/api/users",
            "/api/tokens",
            "/api/audit",
            "/api/audit/verify",
        ):
            assert (await client.get(path)).status == 200, path
    finally:
        event.remove(engine, "before_cursor_execute", count)
    writes = [
        s
        for s in statements
        if s == "BEGIN IMMEDIATE" or s.split()[0] in ("INSERT", "UPDATE", "DELETE")
    ]
    assert statements and not writes, writes
