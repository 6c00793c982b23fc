"""Schema migrations (Alembic), run programmatically by ``python -m gateway migrate``."""

from __future__ import annotations

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


def _revisions(connection: Connection, config: Config) -> tuple[str | None, str | None]:
    current = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory.from_config(config).get_current_head()
    return current, head


async def check_schema(db: Database) -> None:
    """Refuse to run on a database that is not at the newest revision, saying how to fix it."""
    async with db.engine.connect() as connection:
        current, head = await connection.run_sync(_revisions, alembic_config(db.url))
    if current != head:
        state = "empty" if current is None else f"at revision {current}"
        raise SchemaNotCurrentError(
            f"the database is {state} but this gateway needs revision {head}: "
            "run `python -m gateway migrate` (or `make migrate`) first"
        )
