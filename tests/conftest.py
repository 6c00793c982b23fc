"""Shared fixtures: a fresh, migrated, demo-seeded database per test — SQLite always, and
PostgreSQL when ``GATEWAY_TEST_DATABASE_URL`` names a server (the CI's second leg)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.engine import make_url

from core import (
    Accounts,
    Database,
    SecuritySettings,
    Settings,
    StorageSettings,
    UplinkSettings,
    migrate,
)
from gateway._demo import seed_demo
from simulator import ClipLibrary, SimulatedCamera, default_camera_config

PG_URL = os.environ.get("GATEWAY_TEST_DATABASE_URL", "")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that touch the database form the PostgreSQL leg (`make test-pg` runs `-m db`).
    for item in items:
        if {"db", "database_url", "empty_database_url", "client", "app_settings"} & set(
            getattr(item, "fixturenames", ())
        ):
            item.add_marker(pytest.mark.db)


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (set GATEWAY_TEST_DATABASE_URL for PostgreSQL)'}"


async def _prepare(url: str) -> None:
    db = Database(url)
    try:
        await migrate(db)
        await seed_demo(db, Accounts(SecuritySettings()))
    finally:
        await db.close()


async def _admin(sql: str) -> None:
    import asyncpg  # the PostgreSQL leg only

    url = make_url(PG_URL)
    conn = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrated and demo-seeded once per run; each test gets a copy."""
    if PG_URL:
        name = f"zz_tpl_{uuid.uuid4().hex[:10]}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE template0'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        asyncio.run(_prepare(url))
        yield name
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("template") / "gateway.db"
        asyncio.run(_prepare(f"sqlite+aiosqlite:///{path}"))
        yield str(path)


@pytest.fixture
async def database_url(template_database: str, tmp_path: Path) -> AsyncIterator[str]:
    if PG_URL:
        name = f"zz_t_{uuid.uuid4().hex[:12]}"
        await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = tmp_path / "gateway.db"
        await asyncio.to_thread(shutil.copyfile, template_database, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def empty_database_url(tmp_path: Path) -> AsyncIterator[str]:
    """A database with nothing in it, not even the schema: a fresh installation."""
    if PG_URL:
        name = f"zz_e_{uuid.uuid4().hex[:12]}"
        await _admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.close()


@pytest.fixture
def app_settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings on this test's database. Ask for it before ``aiohttp_client``: fixtures
    are torn down in reverse order, and an app whose clean-up still writes (a recording
    ending) fails when its PostgreSQL database was dropped first."""
    settings = Settings(
        storage=StorageSettings(data_dir=tmp_path / "data"),
        # GB/T 28181 SIP on a free loopback port: tests run side by side
        uplink=UplinkSettings(sip_host="127.0.0.1", sip_port=0),
    )
    # an ephemeral loopback port: tests never hold the RTSP restream's 8554
    restream = replace(settings.restream, host="127.0.0.1", port=0)
    return replace(
        settings, database=replace(settings.database, url=database_url), restream=restream
    )


@pytest.fixture
async def client(aiohttp_client, app_settings: Settings) -> TestClient:  # type: ignore[no-untyped-def]
    from gateway import create_app

    return await aiohttp_client(create_app(app_settings))


PRODUCT_PACKAGES = [
    "core",
    "media",
    "camera_registry",
    "cases",
    "recordings",
    "sessions",
    "meetings",
    "uplink",
    "web",
    "gateway",
]


@pytest.fixture(autouse=True)
def block_guard() -> Iterator[None]:
    """Every test fails when product code blocks a running event loop (file I/O, sleeps,
    sockets), as aiohttp's own suite does.  Only calls made from the product packages count:
    a test may do blocking set-up of its own."""
    from blockbuster import blockbuster_ctx

    with blockbuster_ctx(PRODUCT_PACKAGES) as bb:
        for function in bb.functions.values():
            # asyncpg looks for ~/.pgpass and ~/.postgresql/ certificates (a few stats)
            # when it opens a connection: the driver's own, bounded, and not ours to move.
            function.can_block_in("asyncpg/connect_utils.py", "_parse_connect_dsn_and_args")
            # The application is built before its loop runs in production (`serve`);
            # tests build it inside their loop. Building reads the key files once.
            function.can_block_in("gateway/app.py", "create_app")
            # SQLAlchemy resolves a SQLite file's absolute path when the engine is made.
            function.can_block_in("core/_db.py", "__init__")
            # Migrating is an operator's step before serving (`migrate`, `serve --migrate`,
            # `init`): Alembic reads its revision scripts.
            function.can_block_in("core/_migrate.py", "_upgrade")
            # aiortc joins its decoder thread when a receiver stops (its own, bounded).
            function.can_block_in("aiortc/rtcrtpreceiver.py", "__stop_decoder")
            # Known and bounded, left to the meetings package: a few stat() calls for a CJK
            # font when a meeting room opens.
            function.can_block_in("meetings/_compose.py", "find_cjk_font")
        yield


@pytest.fixture
def no_blocking(block_guard: None) -> None:
    """Kept for the tests that name it: blockbuster is on for every test now."""


@pytest.fixture(scope="session")
def clip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Replay clips are encoded once per run and shared by every simulated camera."""
    return tmp_path_factory.mktemp("clips")


@pytest.fixture
async def camera(clip_cache: Path) -> AsyncIterator[SimulatedCamera]:
    """One simulated camera (1080p main, 640x360 sub, replay pictures) on loopback."""
    cam = SimulatedCamera(
        default_camera_config(0, session_timeout=10), clips=ClipLibrary(clip_cache)
    )
    await cam.start()
    yield cam
    await cam.close()
