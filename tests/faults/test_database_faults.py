"""PostgreSQL drops the gateway's connections under load (what a restart or a failover
does to a running client; restarting the shared server itself is not ours to do here):
the gateway reconnects by itself, nothing is written twice or lost, the audit chain holds."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from core import AuditEntry, Room, verify_chain
from tests.conftest import PG_URL
from tests.helpers import login
from web import DB

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="the PostgreSQL leg (GATEWAY_TEST_DATABASE_URL)"),
]


async def _terminate_gateway_connections(database_url: str) -> int:
    import asyncpg

    url = make_url(database_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database="postgres"
    )
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            url.database,
        )
        return len(rows)
    finally:
        await conn.close()


async def test_connections_killed_under_load(client: TestClient, database_url: str) -> None:
    csrf = await login(client, "hpx.admin")
    outcomes: dict[str, int] = {}
    stop = asyncio.Event()

    async def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            name = f"故障测试室-{n}-{i}"
            i += 1
            response = await client.post(
                "/api/rooms",
                json={"unit": "431226203201", "kind": "reception", "name": name},
                headers={"X-CSRF-Token": csrf},
            )
            outcomes[name] = response.status
            await response.read()

    writers = [asyncio.create_task(writer(n)) for n in range(4)]
    killed = 0
    try:
        await asyncio.sleep(1.0)
        for _ in range(3):  # three waves, a second apart
            killed += await _terminate_gateway_connections(database_url)
            await asyncio.sleep(1.0)
        # After the last wave the gateway must serve again without anyone restarting it.
        before = sum(1 for s in outcomes.values() if s == 201)
        await asyncio.sleep(2.0)
        after = sum(1 for s in outcomes.values() if s == 201)
    finally:
        stop.set()
        await asyncio.gather(*writers)
    assert killed > 0, "no gateway connection was open to kill"
    assert after > before, "writes did not resume after the connections were killed"
    statuses = Counter(outcomes.values())
    print(f"killed {killed} connections; answers {dict(statuses)}")
    # A request caught by the kill is told to retry (its transaction rolled back).
    assert set(statuses) <= {201, 503}, statuses
    health = await client.get("/healthz")
    assert health.status == 200

    async with client.app[DB].read() as session:
        names = list(
            await session.scalars(select(Room.name).where(Room.name.startswith("故障测试室")))
        )
        audited = await session.scalar(
            select(func.count()).where(
                AuditEntry.action == "room.create",
                AuditEntry.detail.contains("故障测试室"),
            )
        )
        checked, broken = await verify_chain(session)
    # Nothing twice; nothing acknowledged and lost; every room audited with its creation.
    assert len(names) == len(set(names))
    acknowledged = {name for name, status in outcomes.items() if status == 201}
    assert acknowledged <= set(names)
    assert audited == len(names)
    assert broken is None and checked > 0
