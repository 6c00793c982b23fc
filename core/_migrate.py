"""Schema migrations (Alembic), run programmatically by ``python -m gateway migrate``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from ._db import Database
from .errors import UnavailableError

__all__ = ["SchemaNotCurrentError", "alembic_config", "check_schema", "migrate"]

_SCRIPTS = Path(__file__).with_name("migrations")


class SchemaNotCurrentError(UnavailableError):
    code = "schema_not_current"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(db: Database) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    config = alembic_config(db.url)
    async with db.engine.begin() as connection:
        await connection.run_sync(_upgrade, config)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _head(config: Config) -> str | None:
    return ScriptDirectory.from_config(config).get_current_head()


async def check_schema(db: Database) -> None:
    """Refuse to run on a database that is not at the newest revision, saying how to fix it."""
    # The revision scripts are files: read them off the loop (this runs at app start-up).
    head = await asyncio.to_thread(_head, alembic_config(db.url))
    async with db.engine.connect() as connection:
        current = await connection.run_sync(_current)
    if current != head:
        state = "empty" if current is None else f"at revision {current}"
        raise SchemaNotCurrentError(
            f"the database is {state} but this gateway needs revision {head}: "
            "run `python -m gateway migrate` (or `make migrate`) first"
        )
