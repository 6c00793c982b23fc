"""Requests through the whole stack never block the event loop."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.helpers import login


async def test_pages_and_api_do_not_block(client: TestClient, no_blocking: None) -> None:
    # `client` is built first: constructing the app may touch files; serving must not.
    csrf = await login(client, "hpx.admin")
    for path in (
        "/",
        "/org",
        "/admin/users",
        "/admin/tokens",
        "/audit?verify=1",
        "/api/units",
        "/api/rooms",
        "/api/audit/verify",
        "/metrics",
        "/healthz",
    ):
        response = await client.get(path)
        assert response.status == 200, path
    created = await client.post(
        "/api/rooms",
        json={"unit": "431226203201", "kind": "reception", "name": "第二接待室"},
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status == 201
