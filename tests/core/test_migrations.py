"""The hand-written revisions build exactly the schema the models describe, and the gateway
refuses to start on a database that is not at the newest revision."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

import core
from core import Base, Database, SchemaNotCurrentError, Settings, StorageSettings, check_schema


def _all_models() -> None:
    """Import every package that declares tables, so Base.metadata is complete."""
    import importlib
    import pkgutil

    for package in (
        "core",
        "camera_registry",
        "cases",
        "recordings",
        "sessions",
        "uplink",
        "meetings",
    ):
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(module.__path__):
            if info.name.endswith("models"):
                importlib.import_module(f"{package}.{info.name}")


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_migrations(db: Database) -> None:
    _all_models()
    async with db.engine.connect() as connection:
        differences = await connection.run_sync(_diff)
    assert differences == []


async def test_unmigrated_database_is_refused_with_the_command_to_run(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(SchemaNotCurrentError, match="python -m gateway migrate"):
            await check_schema(db)
    finally:
        await db.close()


async def test_app_does_not_start_unmigrated(tmp_path: Path) -> None:
    from aiohttp import web

    from gateway import create_app

    runner = web.AppRunner(create_app(Settings(storage=StorageSettings(data_dir=tmp_path))))
    try:
        with pytest.raises(SchemaNotCurrentError, match="python -m gateway migrate"):
            await runner.setup()
    finally:
        await runner.cleanup()


def test_core_exports_resolve() -> None:
    for name in core.__all__:
        assert hasattr(core, name), name
