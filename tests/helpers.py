"""Small helpers shared by tests."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from gateway._demo import DEMO_PASSWORD


async def login(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in through the JSON API; returns the session's CSRF token."""
    response = await client.post("/api/session", json={"username": username, "password": password})
    assert response.status == 200, await response.text()
    return str((await response.json())["csrf_token"])
